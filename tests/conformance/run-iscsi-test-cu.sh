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
# For each LU (make check: a thin and a thick file LU) the whole suite
# runs once (`iscsi-test-cu -d -S --test=ALL`), then the MultipathIO
# family again with a second URL (a second session to the same LUN) and
# the ReadOnly family through a target that maps the LU write protected;
# their results replace the "unavailable" skips of the first run.
# Each test is counted PASS, SKIP (libiscsi prints "[SKIPPED]" for tests
# CUnit counts as passed) or FAIL; failures are compared with the known
# failures list (one "Suite.Test  # reason" per line, or
# "LABEL:Suite.Test" for one LU only).  Exit status is 1
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
	base="iscsi://$TPCD_PORTAL/iqn.2026-11.org.tpcd:conformance"
	rob="iscsi://$TPCD_PORTAL/iqn.2026-11.org.tpcd:conformance-ro"
	# LUN 0 is thin, LUN 1 thick; the -ro target maps both write
	# protected for the ReadOnly suite.
	url=$base/0
	runs="thin|$base/0|$rob/0 thick|$base/1|$rob/1"
	work="$TPCD_STATE"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/iscsi-test-cu.XXXXXX")
	trap 'rm -rf "$work"' EXIT
fi
[ -n "$url2" ] || url2=$url
[ -n "${runs:-}" ] || runs="lun|$url|"
INI1=iqn.2026-11.org.tpcd:init-a
INI2=iqn.2026-11.org.tpcd:init-b

# One "RESULT Suite.Test" line per test (testcu-parse.awk says how).
parse()
{
	awk -f "$here/testcu-parse.awk" "$1"
}

# run_lu LABEL URL URL_RO: run, parse, compare; appends to $work/summary.
run_lu()
{
	label=$1 lurl=$2 rourl=$3 d="$work/$1"
	mkdir -p "$d"
	echo "== $label: iscsi-test-cu $test against $lurl"
	timeout -k 10 1200 iscsi-test-cu -d -S -i "$INI1" -I "$INI2" \
	    --test="$test" "$lurl" > "$d/all.out" 2>&1 < /dev/null
	echo "iscsi-test-cu exit status $?"
	: > "$d/extra.out"
	case $test in
	ALL|ALL.MultipathIO*)
		l2=$url2
		[ "$url2" = "$url" ] && l2=$lurl
		echo "== $label: ALL.MultipathIO against $lurl + $l2"
		timeout -k 10 600 iscsi-test-cu -d -i "$INI1" -I "$INI2" \
		    --test=ALL.MultipathIO "$lurl" "$l2" >> "$d/extra.out" \
		    2>&1 < /dev/null
		;;
	esac
	case $test in
	ALL|ALL.ReadOnly*)
		if [ -n "$rourl" ]; then
			echo "== $label: ALL.ReadOnly against $rourl"
			timeout -k 10 600 iscsi-test-cu -d -i "$INI1" \
			    -I "$INI2" --test=ALL.ReadOnly "$rourl" \
			    >> "$d/extra.out" 2>&1 < /dev/null
		fi
		;;
	esac
	parse "$d/all.out" > "$d/all.res"
	parse "$d/extra.out" > "$d/extra.res"
	# Results of the dedicated runs replace those of the ALL run.
	awk 'FILENAME == ARGV[1] { x[$2] = $1; next }
	     { print (($2 in x) ? x[$2] : $1), $2 }' \
	    "$d/extra.res" "$d/all.res" > "$d/final.res"
	if [ ! -s "$d/final.res" ]; then
		echo "FAIL: $label: no test results parsed; iscsi-test-cu output:"
		cat "$d/all.out"
		echo "$label 0 0 1 0 1" >> "$work/summary"
		return
	fi
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$known" \
	    2>/dev/null | awk -v l="$label" -F: '
	    NF == 1 { print $1 } NF == 2 && $1 == l { print $2 }' |
	    sort -u > "$d/known"
	awk '$1 == "FAIL" { print $2 }' "$d/final.res" | sort -u > "$d/failed"
	sed "s/^/$label /" "$d/final.res"
	npass=$(grep -c '^PASS ' "$d/final.res")
	nskip=$(grep -c '^SKIP ' "$d/final.res")
	nfail=$(grep -c '^FAIL ' "$d/final.res")
	nknown=$(comm -12 "$d/failed" "$d/known" | wc -l)
	unexpected=$(comm -23 "$d/failed" "$d/known")
	fixed=$(comm -13 "$d/failed" "$d/known")
	if [ "$nfail" -gt 0 ]; then
		echo "--- $label: failure details ---"
		for t in $(cat "$d/failed"); do
			s=${t%%.*} n=${t#*.}
			cat "$d/all.out" "$d/extra.out" | awk -v s="$s" -v n="$n" '
			    /^Suite: |^Run Summary/ { insuite = ($2 == s); intest = 0 }
			    /^  Test: / { intest = insuite && $2 == n }
			    intest' | head -n 12
		done
	fi
	for t in $fixed; do
		grep -q " $t\$" "$d/final.res" &&
		    echo "note: $label: $t is in $(basename "$known") but did not fail"
	done
	for t in $unexpected; do
		echo "FAIL: $label: $t (not in $(basename "$known"))"
	done
	echo "iscsi-test-cu $label: $npass passed, $nskip skipped, $nfail failed ($nknown known)"
	nbad=$(printf '%s\n' "$unexpected" | grep -c .)
	echo "$label $npass $nskip $nfail $nknown $nbad" >> "$work/summary"
}

: > "$work/summary"
for r in $runs; do
	label=${r%%|*} rest=${r#*|}
	lurl=${rest%%|*} rourl=${rest#*|}
	run_lu "$label" "$lurl" "$rourl"
done

rc=0
tp=0 tb=0 tk=0
while read -r label np ns nf nk nb; do
	echo "iscsi-test-cu $label: $np passed, $ns skipped, $nf failed ($nk known)"
	tp=$((tp + np)) tb=$((tb + nb)) tk=$((tk + nk))
	[ "$nb" = 0 ] || rc=1
done < "$work/summary"
if [ -n "${TPCD_PID:-}" ]; then
	# tpcd_stop exits through itest_fail on an unclean stop.
	tpcd_stop > "$work/stop.out" 2>&1 || { cat "$work/stop.out"; rc=1; }
	cat "$work/stop.out"
fi
# Known failures (listed with their reason) are expected, not counted.
echo "iscsi-test-cu: $tk known failures (see $(basename "$known"))"
echo "$tp passed, $tb failed"
exit $rc
