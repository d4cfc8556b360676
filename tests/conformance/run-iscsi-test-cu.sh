#!/bin/sh
# run-iscsi-test-cu.sh - libiscsi's conformance suite against tpcd.
#
#   run-iscsi-test-cu.sh			(make check) start tpcd with
#	tests/integration/conf/conformance.json (a 256 MiB file LUN) and
#	run every test family.
#   run-iscsi-test-cu.sh --url URL [--url2 URL2] [--known FILE]
#	[--test FAMILY[.SUITE[.TEST]]]	against a target that is already
#	running (e.g. tgtd; see docs/testing.md).
#
# The whole suite runs once (`iscsi-test-cu -d --test=ALL`), then the
# MultipathIO family again with a second URL (a second session to the
# same LUN), whose results replace the "Multipath unavailable" skips.
# Each test is counted PASS, SKIP (libiscsi prints "[SKIPPED]" for tests
# CUnit counts as passed) or FAIL; failures are compared with the known
# failures list (one "Suite.Test  # reason" per line).  Exit status is 1
# when a test fails that is not listed, 0 otherwise.  The last line is
# "N passed, N failed" for CI.

url= url2= test=ALL
here=$(cd "$(dirname "$0")" && pwd)
known="$here/known-failures.txt"
: "${TOP_SRCDIR:=$(cd "$here/../.." && pwd)}"
while [ $# -gt 0 ]; do
	case $1 in
	--url) url=$2; shift 2 ;;
	--url2) url2=$2; shift 2 ;;
	--known) known=$2; shift 2 ;;
	--test) test=$2; shift 2 ;;
	*) echo "usage: $0 [--url URL [--url2 URL2]] [--known FILE] [--test T]" >&2
	   exit 2 ;;
	esac
done
command -v iscsi-test-cu >/dev/null 2>&1 ||
    { echo "SKIP: iscsi-test-cu not installed (apt-get install libiscsi-bin)"; exit 77; }

if [ -z "$url" ]; then
	. "$TOP_SRCDIR/tests/integration/lib.sh"
	trap tpcd_finish EXIT
	tpcd_start "$ITEST_SRC/conf/conformance.json"
	url="iscsi://$TPCD_PORTAL/iqn.2026-11.org.tpcd:conformance/0"
	work="$TPCD_STATE"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/iscsi-test-cu.XXXXXX")
	trap 'rm -rf "$work"' EXIT
fi
[ -n "$url2" ] || url2=$url
INI1=iqn.2026-11.org.tpcd:init-a
INI2=iqn.2026-11.org.tpcd:init-b

echo "iscsi-test-cu $test against $url"
timeout -k 10 1200 iscsi-test-cu -d -i "$INI1" -I "$INI2" --test="$test" \
    "$url" > "$work/all.out" 2>&1 < /dev/null
echo "iscsi-test-cu exit status $?"
case $test in
ALL|ALL.MultipathIO*)
	echo "iscsi-test-cu ALL.MultipathIO against $url + $url2"
	timeout -k 10 600 iscsi-test-cu -d -i "$INI1" -I "$INI2" \
	    --test=ALL.MultipathIO "$url" "$url2" > "$work/mpio.out" 2>&1 \
	    < /dev/null
	echo "iscsi-test-cu (multipath) exit status $?"
	;;
*)
	: > "$work/mpio.out"
	;;
esac

# One "RESULT Suite.Test" line per test.  CUnit prints "  Test: X ..." and,
# after whatever the test printed, "passed" or "FAILED" (at the start of a
# line or right after "..."); "[FAILED]"/"[SKIPPED]" are libiscsi's notes.
parse()
{
	awk '
	function flush() {
		if (name == "")
			return
		if (res == "")
			res = "FAIL"	# crashed or never finished
		else if (res == "PASS" && skipped)
			res = "SKIP"
		print res, suite "." name
		name = ""
	}
	/^Suite: / { flush(); suite = $2; next }
	/^  Test: / {
		flush()
		name = $2; res = ""; skipped = 0
		sub(/^  Test: [^ ]+ \.\.\./, "")
	}
	/^Run Summary/ { flush(); exit }
	# Only what comes before the result word counts: suite clean-up
	# notes (e.g. "[SKIPPED] PERSISTENT RESERVE IN ...") can follow it.
	name != "" && res == "" {
		if ($0 ~ /^[ \t]*passed/)
			res = "PASS"
		else if ($0 ~ /^[ \t]*FAILED/)
			res = "FAIL"
		else if (index($0, "[SKIPPED]"))
			skipped = 1
	}
	END { flush() }
	' "$1"
}

parse "$work/all.out" > "$work/all.res"
parse "$work/mpio.out" > "$work/mpio.res"
# Multipath results replace the single-URL ones.
awk 'NR == FNR { mp[$2] = $1; next }
     { print (($2 in mp) ? mp[$2] : $1), $2 }' \
    "$work/mpio.res" "$work/all.res" > "$work/final.res"

if [ ! -s "$work/final.res" ]; then
	echo "FAIL: no test results parsed; iscsi-test-cu output:"
	cat "$work/all.out"
	echo "0 passed, 1 failed"
	exit 1
fi

sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$known" 2>/dev/null |
    sort -u > "$work/known"
awk '$1 == "FAIL" { print $2 }' "$work/final.res" | sort -u > "$work/failed"

cat "$work/final.res"
npass=$(grep -c '^PASS ' "$work/final.res")
nskip=$(grep -c '^SKIP ' "$work/final.res")
nfail=$(grep -c '^FAIL ' "$work/final.res")
nknown=$(comm -12 "$work/failed" "$work/known" | wc -l)
unexpected=$(comm -23 "$work/failed" "$work/known")
fixed=$(comm -13 "$work/failed" "$work/known")

if [ "$nfail" -gt 0 ]; then
	echo "--- failure details ---"
	for t in $(cat "$work/failed"); do
		s=${t%%.*} n=${t#*.} f="$work/all.out"
		[ "$s" = MultipathIO ] && [ -s "$work/mpio.out" ] &&
		    f="$work/mpio.out"
		awk -v s="$s" -v n="$n" '
		    /^Suite: |^Run Summary/ { insuite = ($2 == s); intest = 0 }
		    /^  Test: / { intest = insuite && $2 == n }
		    intest' "$f" | head -n 12
	done
fi
for t in $fixed; do
	grep -q " $t\$" "$work/final.res" &&
	    echo "note: $t is in $(basename "$known") but did not fail"
done
for t in $unexpected; do
	echo "FAIL: $t (not in $(basename "$known"))"
done
echo "iscsi-test-cu: $npass passed, $nskip skipped, $nfail failed ($nknown known)"
rc=0
[ -z "$unexpected" ] || rc=1
if [ -n "${TPCD_PID:-}" ]; then
	# tpcd_stop exits through itest_fail on an unclean stop.
	tpcd_stop > "$work/stop.out" 2>&1 || { cat "$work/stop.out"; rc=1; }
	cat "$work/stop.out"
fi
echo "$npass passed, $nfail failed"
exit $rc
