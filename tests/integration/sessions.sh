#!/bin/sh
# sessions.sh - 64 concurrent sessions on the embedded default configuration.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
trap tpcd_finish EXIT
tpcd_start 
export ITEST_TARGET="$TPCD_DEFAULT_IQN" ITEST_LUN=0
itest_run sessions
tpcd_stop
