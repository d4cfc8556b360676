#!/bin/sh
# reload.sh - SIGHUP reload: added LUN, UA 3Fh/0Eh, bad file keeps the old config.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
trap tpcd_finish EXIT
tpcd_start "$ITEST_SRC/conf/reload.json"
export ITEST_TARGET=iqn.2026-11.org.tpcd:reload ITEST_LUN=0
export ITEST_NEW_LUN=1 ITEST_RECONF="sh $ITEST_SRC/reload-hook.sh"
itest_run reload
tpcd_stop
