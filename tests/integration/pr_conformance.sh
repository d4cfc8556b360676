#!/bin/sh
# pr_conformance.sh - libiscsi's reservation suites against tpcd (embedded
# default): ALL.Prout*, ALL.Prin* and ALL.Reserve6* with two initiators.
# Every suite must run all its tests with 0 failures and no "[SKIPPED]".
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
trap tpcd_finish EXIT
command -v iscsi-test-cu >/dev/null 2>&1 ||
    { echo "SKIP: iscsi-test-cu not installed"; exit 77; }
tpcd_start
URL="iscsi://$TPCD_PORTAL/$TPCD_DEFAULT_IQN/0"

for suite in 'ALL.Prout*' 'ALL.Prin*' 'ALL.Reserve6*'; do
	out="$TPCD_STATE/suite.out"
	timeout -k 10 600 iscsi-test-cu -d -i iqn.2026-11.org.tpcd:init-a \
	    -I iqn.2026-11.org.tpcd:second --test="$suite" "$URL" \
	    > "$out" 2>&1 < /dev/null
	rc=$?
	line=$(grep -E '^ +tests ' "$out")
	echo "$suite: $line (exit $rc)"
	set -- $line
	# tests Total Ran Passed Failed Inactive
	if [ $rc -ne 0 ] || [ "$#" -lt 6 ] || [ "$2" -eq 0 ] ||
	    [ "$2" != "$3" ] || [ "$5" != 0 ]; then
		cat "$out"
		itest_fail "$suite: failures"
	fi
	if grep -q '\[SKIPPED\]' "$out"; then
		grep '\[SKIPPED\]' "$out"
		itest_fail "$suite: skipped tests"
	fi
	itest_ok "$suite: $4 of $2 tests passed, none skipped"
done
tpcd_alive || itest_fail "tpcd died"
tpcd_stop
