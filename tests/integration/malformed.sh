#!/bin/sh
# malformed.sh - malformed PDUs over a raw socket and the digest path (embedded default).
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
trap tpcd_finish EXIT
tpcd_start 
export ITEST_TARGET="$TPCD_DEFAULT_IQN" ITEST_LUN=0
itest_run malformed
tpcd_stop
