#!/bin/sh
# tmf.sh - ABORT TASK, LOGICAL UNIT RESET, CLEAR TASK SET across nexuses, TARGET COLD RESET (embedded default).
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
trap tpcd_finish EXIT
tpcd_start 
export ITEST_TARGET="$TPCD_DEFAULT_IQN" ITEST_LUN=0
itest_run tmf
tpcd_stop
