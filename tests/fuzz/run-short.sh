#!/bin/sh
# run-short.sh - run each libFuzzer target for a while (CI, nightly, local).
#
#   tests/fuzz/run-short.sh [-t seconds] [-b builddir] [target ...]
#
# Targets default to all of them: text_keys chap conf cdb pdu login ffp
# xcopy_parse odx_parse rod_verify tcmu_ring.  Each runs for -t seconds (default 60;
# $FUZZ_SECONDS also works) from the committed seeds (tests/fuzz/corpus/<t>/) plus the regressions
# (tests/fuzz/regress/<t>/).  New corpus entries go to a scratch directory,
# or to $FUZZ_CORPUS_OUT/<t>/ to keep them (CI cache, nightly runs).
#
# A crash, leak, timeout or out-of-memory input is copied to
# tests/fuzz/regress/<t>/ (so "make check" replays it from now on) and the
# script exits 1 after running the remaining targets.  The fuzzers come
# from a build configured with ./configure --enable-fuzzing CC=clang; the
# build directory is -b, else $TOP_BUILDDIR, else the current directory.

set -u

secs=${FUZZ_SECONDS:-60}
build=${TOP_BUILDDIR:-.}
src=$(cd "$(dirname "$0")/../.." && pwd)
all="text_keys chap conf cdb pdu login ffp xcopy_parse odx_parse rod_verify tcmu_ring"

while getopts t:b:h opt; do
	case $opt in
	t) secs=$OPTARG ;;
	b) build=$OPTARG ;;
	*) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
targets=${*:-$all}

# Longest input worth trying per target.
max_len() {
	case $1 in
	text_keys) echo 20000 ;;
	chap) echo 4096 ;;
	conf) echo 16384 ;;
	cdb) echo 8192 ;;
	pdu) echo 70000 ;;
	login | ffp) echo 65536 ;;
	xcopy_parse | odx_parse) echo 16384 ;;
	rod_verify) echo 2048 ;;
	tcmu_ring) echo 8192 ;;
	*) echo 4096 ;;
	esac
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tpcd-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$scratch"' EXIT INT TERM

: "${ASAN_OPTIONS:=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}"
export ASAN_OPTIONS
: "${UBSAN_OPTIONS:=print_stacktrace=1:halt_on_error=1}"
export UBSAN_OPTIONS

failed=0
summary=""
for t in $targets; do
	bin=$build/tests/fuzz/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "run-short: $bin missing (configure --enable-fuzzing CC=clang; make)" >&2
		failed=1
		continue
	fi
	if [ -n "${FUZZ_CORPUS_OUT:-}" ]; then
		work=$FUZZ_CORPUS_OUT/$t
	else
		work=$scratch/corpus/$t
	fi
	art=$scratch/artifacts/$t
	mkdir -p "$work" "$art"
	dirs="$src/tests/fuzz/corpus/$t"
	[ -d "$src/tests/fuzz/regress/$t" ] && dirs="$dirs $src/tests/fuzz/regress/$t"
	log=$scratch/$t.log
	echo "run-short: $t for ${secs}s"
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -max_len="$(max_len "$t")" \
	    -timeout=30 -rss_limit_mb=2560 -print_final_stats=1 \
	    -artifact_prefix="$art/" "$work" $dirs >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	found=$(ls "$art" 2>/dev/null)
	if [ $rc -ne 0 ] || [ -n "$found" ]; then
		failed=1
		mkdir -p "$src/tests/fuzz/regress/$t"
		for f in $found; do
			cp "$art/$f" "$src/tests/fuzz/regress/$t/$f"
			echo "run-short: $t: new reproducer tests/fuzz/regress/$t/$f"
		done
		echo "run-short: $t FAILED (exit $rc); last lines of the log:"
		grep -v '^#[0-9]' "$log" | tail -40
		summary="$summary
  $t: FAILED, ${execs:-?} execs, ${rate:-?} exec/s, $cov"
	else
		summary="$summary
  $t: ok, ${execs:-?} execs, ${rate:-?} exec/s, $cov"
	fi
done
echo "run-short: summary ($secs s each):$summary"
exit $failed
