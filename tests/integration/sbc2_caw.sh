#!/bin/sh
# sbc2_caw.sh - COMPARE AND WRITE atomicity: 8 sessions doing CAW and WRITE
# on overlapping ranges of the default thin file LU (sbc2_caw.c).
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
trap tpcd_finish EXIT
tpcd_start
export ITEST_TARGET="$TPCD_DEFAULT_IQN" ITEST_LUN=0
itest_run sbc2_caw
tpcd_stop
