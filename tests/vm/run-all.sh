#!/bin/bash
# Run the kernel-guest tests: every tests/vm/guest/*.sh, each in a fresh
# guest booted by run-guest.sh, with the source and build trees shared.
# Builds (or reuses) the guest image first.  Prints PASS/FAIL/XFAIL/XPASS
# per test and a final "N passed, N failed" line; exits non-zero if any test
# failed or unexpectedly passed.  Prints "SKIP: ..." and exits 0 when this
# machine cannot run guests (not root, no qemu, no debootstrap for a build).
#
# Usage: run-all.sh [BUILDDIR [TEST...]]
#   BUILDDIR  the build tree holding ./tpcd (default: the current directory)
#   TEST      guest test names or globs (e.g. 10-tpcd-basic, '2*'); default
#             all but those marked "# vm-slow" (TPCD_VM_SLOW=1 adds them);
#             also from TPCD_VM_TESTS (space separated)
# Environment: TPCD_VM_DIR (image cache, default /var/tmp/tpcd-vm),
#   TPCD_VM_TIMEOUT (per test, seconds, default 600; a test may set its own
#   with a "# vm-options: -t N" line), TPCD_VM_ACCEL (kvm, tcg, auto).
# Logs: BUILDDIR/tests/vm/logs/NAME.log (script output), NAME.console.log
#   (guest kernel console), NAME/ (files the test saved, e.g. tpcd.log).
# "sh run-all.sh" starts a POSIX shell (dash): go on in bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
SRC=$(cd "$HERE/../.." && pwd -P)
BUILD=$(cd "${1:-.}" && pwd -P) || exit 2
[ $# -gt 0 ] && shift
SELECT=("$@")
[ ${#SELECT[@]} -eq 0 ] && [ -n "${TPCD_VM_TESTS:-}" ] &&
    read -r -a SELECT <<<"$TPCD_VM_TESTS"
TIMEOUT=${TPCD_VM_TIMEOUT:-600}
QEMU=${TPCD_VM_QEMU:-qemu-system-x86_64}
LOGS=$BUILD/tests/vm/logs
XFAIL_LIST=$HERE/expected-failures.txt

skip() {
	echo "SKIP: VM tests: $*"
	exit 0
}

[ "$(id -u)" = 0 ] ||
    skip "need root (image build with debootstrap/chroot); run: sudo make check-vm"
command -v "$QEMU" >/dev/null ||
    skip "no $QEMU (apt-get install qemu-system-x86)"
if ! "$HERE/build-image.sh" --check; then
	for t in debootstrap mke2fs cpio xz; do
		command -v "$t" >/dev/null ||
		    skip "no $t to build the guest image (apt-get install debootstrap e2fsprogs cpio xz-utils)"
	done
fi

# Expected failures: "NAME reason..." lines; a reason is required.
declare -A XFAIL=()
if [ -f "$XFAIL_LIST" ]; then
	while read -r name reason; do
		case $name in '' | '#'*) continue ;; esac
		if [ -z "$reason" ]; then
			echo "run-all: $XFAIL_LIST: $name has no reason" >&2
			exit 2
		fi
		XFAIL[$name]=$reason
	done <"$XFAIL_LIST"
fi

TESTS=()
for f in "$HERE"/guest/*.sh; do
	name=$(basename "$f" .sh)
	# "# vm-slow" tests (long conformance runs) run only when named or
	# with TPCD_VM_SLOW=1, so the default suite keeps its time budget.
	if [ ${#SELECT[@]} -eq 0 ] && [ "${TPCD_VM_SLOW:-0}" != 1 ] &&
	    grep -q '^# vm-slow' "$f"; then
		echo "run-all: $name is slow: run it with TPCD_VM_SLOW=1 or by name"
		continue
	fi
	if [ ${#SELECT[@]} -gt 0 ]; then
		hit=0
		for pat in "${SELECT[@]}"; do
			# shellcheck disable=SC2053	# glob match wanted
			[[ $name == $pat || $name == $pat.sh ]] && hit=1
		done
		[ "$hit" = 1 ] || continue
	fi
	TESTS+=("$f")
done
[ ${#TESTS[@]} -gt 0 ] || { echo "run-all: no guest test selected" >&2; exit 2; }

T_ALL=$SECONDS
echo "=== VM tests: guest image"
T0=$SECONDS
if ! "$HERE/build-image.sh"; then
	echo "FAIL: guest image build"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "=== guest image ready ($((SECONDS - T0)) s)"
[ -x "$BUILD/tpcd" ] ||
    echo "run-all: warning: no $BUILD/tpcd; tests that need tpcd will fail" >&2

mkdir -p "$LOGS"
CURRENT=""
trap 'echo "run-all: interrupted during ${CURRENT:-setup}"; exit 130' INT TERM

pass=0 fail=0 xfail=0 xpass=0
RESULTS=()
for f in "${TESTS[@]}"; do
	name=$(basename "$f" .sh)
	CURRENT=$name
	opts=$(sed -n 's/^# vm-options:[[:space:]]*//p' "$f" | head -n1)
	read -r -a OPTS <<<"$opts"
	rm -rf "${LOGS:?}/$name" "$LOGS/$name.log" "$LOGS/$name.console.log"
	echo
	echo "=== $name: start"
	T0=$SECONDS
	# Options from the test's "# vm-options:" line come after the defaults
	# so that they win.
	"$HERE/run-guest.sh" -t "$TIMEOUT" -s "$SRC" -b "$BUILD" \
	    -l "$LOGS/$name.console.log" \
	    -e "VM_ARTIFACTS=/mnt/build/tests/vm/logs/$name" \
	    ${OPTS[@]+"${OPTS[@]}"} "$f" 2>&1 | tee "$LOGS/$name.log"
	rc=${PIPESTATUS[0]}
	dt=$((SECONDS - T0))
	case $rc in
	0) what=ok ;;
	124) what="timed out" ;;
	125) what="guest died" ;;
	*) what="exit $rc" ;;
	esac
	if [ -n "${XFAIL[$name]+set}" ]; then
		if [ "$rc" = 0 ]; then
			res="XPASS: $name ($dt s): remove it from tests/vm/expected-failures.txt"
			xpass=$((xpass + 1))
		else
			res="XFAIL: $name ($dt s, $what): ${XFAIL[$name]}"
			xfail=$((xfail + 1))
		fi
	elif [ "$rc" = 0 ]; then
		res="PASS: $name ($dt s)"
		pass=$((pass + 1))
	else
		res="FAIL: $name ($dt s, $what; log $LOGS/$name.log)"
		fail=$((fail + 1))
	fi
	echo "$res"
	RESULTS+=("$res")
done

echo
echo "=== VM test summary ($((SECONDS - T_ALL)) s in all)"
printf '%s\n' "${RESULTS[@]}"
echo "$pass passed, $((fail + xpass)) failed ($xfail expected failures, $xpass unexpected passes)"
[ $((fail + xpass)) = 0 ]
