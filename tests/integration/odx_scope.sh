#!/bin/sh
# odx_scope.sh - ROD token administration against a tpcd
# (conf/odx_scope.json, odx_itest.c): the TPG attribute tpcd_token_scope
# ("target" on one target, the default "nexus" on the other), what REPORT
# ALL ROD TOKENS lists, tokens across a LUN RESET, the periodic expiry
# sweep (TPCD_ROD_SWEEP_MS=200, debug log), and revocation when a reload
# removes or resizes a token's source LU (conf/odx_scope2.json, which
# also makes the second target target-wide).
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
trap tpcd_finish EXIT

TPCD_ROD_SWEEP_MS=200
export TPCD_ROD_SWEEP_MS
tpcd_start "$ITEST_SRC/conf/odx_scope.json" -vv
itest_run odx_itest scope
itest_run odx_itest sweep
grep -q 'odx: sweep expired [1-9]' "$TPCD_LOG" ||
    itest_fail "the sweep did not expire the idle token"
itest_ok "the periodic sweep expired the idle token"

itest_run odx_itest reload-save "$TPCD_STATE"
tpcd_reload "$ITEST_SRC/conf/odx_scope2.json"
_n=0
while [ "$(grep -c 'configuration .* applied' "$TPCD_LOG")" -lt 2 ]; do
	[ $_n -lt 100 ] || itest_fail "reload not applied"
	sleep 0.1
	_n=$((_n + 1))
done
itest_ok "reload applied"
itest_run odx_itest reload-check "$TPCD_STATE"
tpcd_stop
