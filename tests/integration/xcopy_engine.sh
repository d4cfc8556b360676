#!/bin/sh
# xcopy_engine.sh - EXTENDED COPY through libiscsi (bench/xcopy-load)
# against a real tpcd, checking the copy engine's paths and errors:
#
#   1. ext4 (or whatever $TMPDIR is): within one file LU and across two
#      file LUs (copy_file_range), mem -> file (read/write), overlapping
#      ranges in one LU, each compared with READ16 afterwards.
#   2. reflink: the same on an XFS image (reflink=1) on a loop device,
#      when we are root and mkfs.xfs exists; the destination extents must
#      then be shared (filefrag).  Skipped with a message otherwise.
#   3. a real backstore EIO: the destination LU's XFS is shut down
#      (xfs_io -x -c shutdown), so every write to it fails with EIO; the
#      EXTENDED COPY must end in COPY ABORTED 0Dh/01h with the forwarded
#      MEDIUM ERROR sense, and the daemon must keep serving and stop
#      cleanly.  Root + xfsprogs only.
#
# The path each step took comes from the daemon's debug log ("copy: step
# N: ... by PATH").
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

LOAD="${TOP_BUILDDIR}/bench/xcopy-load"
[ -x "$LOAD" ] || { echo "SKIP: no $LOAD"; exit 77; }
IQN=iqn.2026-11.org.tpcd:xeng
MNT=
LOOPIMG=

cleanup()
{
	tpcd_finish
	if [ -n "$MNT" ]; then
		umount "$MNT" 2>/dev/null
		rmdir "$MNT" 2>/dev/null
	fi
	[ -n "$LOOPIMG" ] && rm -f "$LOOPIMG"
	[ -n "${WORK:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT

# conf DIR1 DIR2 -> template on stdout: LUN 0 a.img and LUN 1 b.img in
# DIR1, LUN 2 mem, LUN 3 c.img in DIR2.
conf()
{
	cat <<JSON
{
  "storage_objects": [
    { "plugin": "fileio", "name": "xa", "dev": "$1/a.img",
      "size": 268435456, "write_back": true },
    { "plugin": "fileio", "name": "xb", "dev": "$1/b.img",
      "size": 268435456, "write_back": true },
    { "plugin": "mem", "name": "xm", "size": 67108864 },
    { "plugin": "fileio", "name": "xc", "dev": "$2/c.img",
      "size": 67108864, "write_back": true }
  ],
  "targets": [ { "wwn": "$IQN", "fabric": "iscsi", "tpgs": [ {
    "tag": 1, "enable": true,
    "attributes": { "authentication": 0, "generate_node_acls": 1,
                    "demo_mode_write_protect": 0 },
    "portals": [ { "ip_address": "127.0.0.1", "port": @PORT@ } ],
    "luns": [
      { "index": 0, "storage_object": "/backstores/fileio/xa" },
      { "index": 1, "storage_object": "/backstores/fileio/xb" },
      { "index": 2, "storage_object": "/backstores/mem/xm" },
      { "index": 3, "storage_object": "/backstores/fileio/xc" } ],
    "node_acls": [] } ] } ]
}
JSON
}

fill()	# file bytes
{
	head -c "$2" /dev/urandom > "$1" || itest_fail "fill $1"
}

load()	# args...
{
	"$LOAD" -p "$TPCD_PORTAL" -t "$IQN" "$@"
}

# copy NAME SRC DST SLBA DLBA BYTES PATH: EXTENDED COPY, compare, and the
# log must show PATH for it.
copy()
{
	_before=$(grep -c "copy: step .* by $7" "$TPCD_LOG")
	out=$(load -s "$2" -d "$3" -S "$4" -D "$5" -n "$6" -c 2>&1) ||
	    itest_fail "$1: $out"
	echo "$out" | grep -q '^COMPARE ok' || itest_fail "$1: no compare: $out"
	_after=$(grep -c "copy: step .* by $7" "$TPCD_LOG")
	[ "$_after" -gt "$_before" ] ||
	    itest_fail "$1: no step went by $7"
	itest_ok "$1 ($(echo "$out" | sed -n 's/^RESULT .*mibs=/MiB\/s=/p'), $7)"
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/xeng.XXXXXX") || itest_fail mktemp
mkdir -p "$WORK/d2"
fill "$WORK/a.img" 268435456
fill "$WORK/b.img" 268435456
fill "$WORK/d2/c.img" 67108864
conf "$WORK" "$WORK/d2" > "$WORK/conf.json"
echo "filesystem of $WORK: $(stat -f -c %T "$WORK")"
tpcd_start "$WORK/conf.json" -v

# 1. copy_file_range where it works (ext4), else rw
cfr=copy_file_range
copy "within one LU" 0 0 0 262144 67108864 $cfr
copy "across LUs" 0 1 131072 8 100663296 $cfr
copy "mem to file" 2 1 0 0 33554432 rw
copy "overlap forwards" 1 1 4096 0 16777216 rw
copy "overlap backwards" 1 1 0 4096 16777216 rw
tpcd_stop
tpcd_finish

# 2. reflink on XFS, 3. EIO after an XFS shutdown
if [ "$(id -u)" -ne 0 ] || ! command -v mkfs.xfs >/dev/null 2>&1 ||
    ! grep -qw xfs /proc/filesystems; then
	echo "reflink/EIO parts skipped: need root, mkfs.xfs and xfs"
	exit 0
fi
LOOPIMG="$WORK.xfs.img"
MNT="$WORK.mnt"
mkdir -p "$MNT"
truncate -s 1200M "$LOOPIMG"
if ! mkfs.xfs -q -f -m reflink=1 "$LOOPIMG" ||
    ! mount -o loop "$LOOPIMG" "$MNT"; then
	echo "reflink/EIO parts skipped: cannot mount an XFS image"
	exit 0
fi
fill "$MNT/a.img" 268435456
fill "$MNT/b.img" 268435456
fill "$MNT/c.img" 67108864
conf "$MNT" "$MNT" > "$WORK/conf-xfs.json"
tpcd_start "$WORK/conf-xfs.json" -v
copy "reflink within one LU" 0 0 0 262144 67108864 reflink
copy "reflink across LUs" 0 1 8 8 100663296 reflink
filefrag -v "$MNT/b.img" 2>/dev/null | grep -q shared ||
    itest_fail "reflink: no shared extents in b.img"
itest_ok "reflink: destination extents are shared"
copy "unaligned (512 B) falls back" 0 1 1 3 4194304 copy_file_range

# 3. shut the filesystem down: every write to it fails with EIO
xfs_io -x -c shutdown "$MNT" || itest_fail "xfs shutdown"
out=$(load -s 2 -d 3 -S 0 -D 0 -n 8388608 -x 0a/0d/01 2>&1) ||
    itest_fail "EIO: $out"
echo "$out" | grep '^SENSEDATA' | grep -q -E ' (70|f0|71|f1) 00 03 ' ||
    itest_fail "EIO: no forwarded MEDIUM ERROR sense: $out"
itest_ok "EIO on the destination: COPY ABORTED 0D/01 with MEDIUM ERROR"
# still serving: a copy between healthy LUs (mem -> mem within LU 2)
out=$(load -s 2 -d 2 -S 0 -D 65536 -n 8388608 -c 2>&1) ||
    itest_fail "after EIO: $out"
itest_ok "daemon still serves after the EIO"
tpcd_stop
exit 0
