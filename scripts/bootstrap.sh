#!/bin/sh
# bootstrap.sh - install, build, run and test tpcd on Debian 12.
#
#   scripts/bootstrap.sh deps	apt-get install the build and test dependencies
#   scripts/bootstrap.sh build	deps + autoreconf, configure --enable-werror,
#				make in ./build
#   scripts/bootstrap.sh run	build + run ./build/tpcd in the foreground on the
#				embedded default (iqn.2026-11.org.tpcd:default,
#				LUN 0 and 1, 127.0.0.1:3260)
#   scripts/bootstrap.sh test	deps + the whole suite: -Werror build and
#				make check, then an ASan+UBSan build
#				(./build-san) and make check again, a short
#				libFuzzer run of every parser (./build-fuzz),
#				then make check-vm when that target exists
#
# Needs root for deps (apt-get).  Exits non-zero on the first failure.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

# libsystemd-dev: sd-bus for the D-Bus service targetcli uses (optional
# at build time); dbus-daemon: its test (tests/integration/tcmu_dbus.sh).
DEPS="build-essential autoconf automake pkg-config libssl-dev libjson-c-dev
liburing-dev libnl-genl-3-dev libiscsi-dev libiscsi-bin check clang iproute2
xfsprogs qemu-system-x86 debootstrap e2fsprogs cpio xz-utils libsystemd-dev
dbus-daemon"

say()
{
	echo "== bootstrap: $*"
}

deps()
{
	missing=
	for p in $DEPS; do
		dpkg-query -W -f '${Status}' "$p" 2>/dev/null |
		    grep -q "ok installed" || missing="$missing $p"
	done
	if [ -z "$missing" ]; then
		say "dependencies already installed"
		return 0
	fi
	say "installing$missing"
	[ "$(id -u)" -eq 0 ] || { echo "deps: run as root (apt-get)" >&2; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q < /dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing < /dev/null
}

configure_in()	# dir, configure args...
{
	dir=$1
	shift
	if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ] ||
	    [ "$top/Makefile.am" -nt "$top/Makefile.in" ]; then
		say "autoreconf"
		(cd "$top" && autoreconf -fi)
	fi
	mkdir -p "$dir"
	say "configure $* in $dir"
	(cd "$dir" && "$top/configure" -q "$@")
}

build()
{
	configure_in "$top/build" --enable-werror
	say "make -j$jobs"
	make -C "$top/build" -j"$jobs"
}

check_in()	# dir
{
	say "make check in $1"
	if ! make -C "$1" -j"$jobs" check; then
		for f in $(find "$1" -name '*.log' -newer "$1/config.status"); do
			grep -q -E '^(FAIL|ERROR):' "$f" 2>/dev/null || continue
			echo "---- $f"
			tail -n 60 "$f"
		done
		exit 1
	fi
}

run_tests()
{
	build
	check_in "$top/build"
	configure_in "$top/build-san" --enable-werror --enable-sanitizers
	say "make -j$jobs (ASan+UBSan)"
	make -C "$top/build-san" -j"$jobs"
	check_in "$top/build-san"
	# A short libFuzzer run of every parser target (docs/fuzzing.md);
	# longer runs: tests/fuzz/run-short.sh -t 600.
	configure_in "$top/build-fuzz" --enable-fuzzing CC=clang
	say "make -j$jobs (libFuzzer)"
	make -C "$top/build-fuzz" -j"$jobs"
	say "fuzzing each target for ${FUZZ_SECONDS:-20} s"
	"$top/tests/fuzz/run-short.sh" -t "${FUZZ_SECONDS:-20}" \
	    -b "$top/build-fuzz"
	if make -C "$top/build" -n check-vm >/dev/null 2>&1; then
		say "make check-vm"
		make -C "$top/build" check-vm
	else
		say "no check-vm target: skipped"
	fi
	say "all tests passed"
}

case ${1:-} in
deps)	deps ;;
build)	deps; build ;;
run)	deps; build; say "starting tpcd (Ctrl-C stops it)"
	shift
	exec "$top/build/tpcd" "$@" ;;
test)	deps; run_tests ;;
*)	sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
