#!/bin/sh
# tmf.sh - ABORT TASK, LOGICAL UNIT RESET and its unit attention (embedded default).
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
trap tpcd_finish EXIT
tpcd_start 
export ITEST_TARGET="$TPCD_DEFAULT_IQN" ITEST_LUN=0
itest_run tmf
tpcd_stop
