#!/bin/sh
# odx.sh - POPULATE TOKEN / WRITE USING TOKEN against a tpcd
# (conf/odx.json, odx_itest.c): copies, IMMED/abort, the zero token,
# every token error, point in time on a plain and (when this machine lets
# us loop-mount XFS) a reflink filesystem, a token from a previous daemon
# run, and the token table limit.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

XFS_MNT=
XFS_IMG=
odx_cleanup()
{
	tpcd_finish
	if [ -n "$XFS_MNT" ]; then
		umount "$XFS_MNT" 2>/dev/null
		rmdir "$XFS_MNT" 2>/dev/null
	fi
	[ -n "$XFS_IMG" ] && rm -f "$XFS_IMG"
}
trap odx_cleanup EXIT

# A reflink filesystem for the point-in-time snapshot path (root only).
TPCD_STATE=$(mktemp -d "${TMPDIR:-/tmp}/tpcd-odx.XXXXXX") || exit 1
XDIR="$TPCD_STATE"
if [ "$(id -u)" = 0 ] && command -v mkfs.xfs >/dev/null 2>&1; then
	XFS_IMG=$(mktemp "${TMPDIR:-/tmp}/tpcd-odx-xfs.XXXXXX")
	XFS_MNT=$(mktemp -d "${TMPDIR:-/tmp}/tpcd-odx-mnt.XXXXXX")
	if truncate -s 1G "$XFS_IMG" && mkfs.xfs -q -f "$XFS_IMG" \
	    >/dev/null 2>&1 && mount -o loop "$XFS_IMG" "$XFS_MNT" \
	    2>/dev/null; then
		XDIR="$XFS_MNT"
		echo "reflink filesystem at $XFS_MNT"
	else
		rmdir "$XFS_MNT" 2>/dev/null
		XFS_MNT=
		echo "no XFS loop mount: snapshot path not exercised"
	fi
fi
TMPL="$TPCD_STATE/odx.tmpl.json"
sed -e "s|@XFS@|$XDIR|g" "$ITEST_SRC/conf/odx.json" > "$TMPL"

# Force reads and writes in the engine so the 1 GiB abort test is slow
# enough to be aborted (snapshots clone by themselves).
TPCD_COPY_DISABLE=reflink,cfr
export TPCD_COPY_DISABLE
tpcd_start "$TMPL"
itest_run odx_itest all
itest_run odx_itest save "$TPCD_STATE/saved.token"
tpcd_stop
# Same state dir (same HMAC key), empty registry.
tpcd_start "$TMPL"
itest_run odx_itest restart "$TPCD_STATE/saved.token"
itest_run odx_itest flood
tpcd_stop
