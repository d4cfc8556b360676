#!/bin/sh
# sbc2_full.sh - a thin file LU on a 4 MiB tmpfs runs out of space: writes
# get 27/07, the other (mem) LU keeps working, UNMAP gives space back
# (sbc2_full.c).  Needs root to mount the tmpfs; skipped otherwise.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root to mount a small tmpfs"
	exit 77
fi
TPCD_STATE=$(mktemp -d "${TMPDIR:-/tmp}/tpcd-itest.XXXXXX") || exit 1
mkdir "$TPCD_STATE/fs"
if ! mount -t tmpfs -o size=4m tmpfs "$TPCD_STATE/fs" 2>/dev/null; then
	rm -rf "$TPCD_STATE"
	echo "SKIP: cannot mount a tmpfs here"
	exit 77
fi
sbc2_cleanup()
{
	if tpcd_alive; then
		kill -KILL "$TPCD_PID" 2>/dev/null
		wait "$TPCD_PID" 2>/dev/null
	fi
	umount "$TPCD_STATE/fs" 2>/dev/null
	tpcd_finish
}
trap sbc2_cleanup EXIT
tpcd_start "$ITEST_SRC/conf/sbc2_full.json"
export ITEST_TARGET=iqn.2026-11.org.tpcd:sbc2full ITEST_LUN=0 ITEST_LUN2=1
itest_run sbc2_full
tpcd_stop
