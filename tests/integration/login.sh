#!/bin/sh
# login.sh - login variants, CHAP, mutual CHAP, ACLs, discovery, NOP, logout, reinstatement (conf/login.json).
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
trap tpcd_finish EXIT
tpcd_start "$ITEST_SRC/conf/login.json"
export ITEST_TARGET=iqn.2026-11.org.tpcd:test-open ITEST_LUN=0
itest_run login
tpcd_stop
