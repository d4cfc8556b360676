#!/bin/sh
# io.sh - write/read back 512 B..8 MiB, ImmediateData x InitialR2T, file and mem LUNs (conf/io.json).
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
trap tpcd_finish EXIT
tpcd_start "$ITEST_SRC/conf/io.json"
export ITEST_TARGET=iqn.2026-11.org.tpcd:io ITEST_LUN=0
export ITEST_LUNS="0 1"
itest_run io
tpcd_stop
