#!/bin/sh
# odx-bench.sh - ODX (POPULATE TOKEN + WRITE USING TOKEN) copy of 1 GiB
# through tpcd against the initiator doing the copy itself, and the zero
# ROD token filling 10 GiB:
#
#   odx        PT/RRTI/WUT via tpcd (bench/odx-load, one token per 1 GiB)
#   host-tpcd  READ16 + WRITE16 of 1 MiB, 8 in flight, through tpcd
#              (bench/xcopy-load -m host)
#   host-tgt   the same through tgtd (rdwr backing store) on the same files
#   zero       WRITE USING TOKEN with the block device zero ROD token over
#              10 GiB of a sparse (thin) file LU: punches holes
#
# Cases: within one LU (0 -> 1 GiB) and across two LUs, on $BENCH_DIR
# (ext4 here: copy_file_range path, change-vulnerable tokens) and, as root
# with mkfs.xfs, on an XFS image with reflink=1 on a loop device (reflink
# path and point-in-time snapshots at PT).  The page cache is dropped
# before each run (root).  Prints times and the ratios host/odx.
#
# Environment: TPCD (must initialise the ROD key: see docs/odx.md),
# ODX_LOAD, XCOPY_LOAD, BENCH_DIR (/var/tmp/odx-bench), BENCH_TGT_PORT
# (3274), BENCH_TGT_CTL (94), BENCH_SKIP_TGT=1, BENCH_SKIP_XFS=1,
# BENCH_RUNS (3: best of N).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${TOP_SRCDIR:=$(cd "$here/.." && pwd)}"
: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
: "${TPCD:=$TOP_BUILDDIR/tpcd}"
: "${ODX_LOAD:=$TOP_BUILDDIR/bench/odx-load}"
: "${XCOPY_LOAD:=$TOP_BUILDDIR/bench/xcopy-load}"
: "${BENCH_DIR:=/var/tmp/odx-bench}"
: "${BENCH_TGT_PORT:=3274}"
: "${BENCH_TGT_CTL:=94}"
: "${BENCH_SKIP_TGT:=}"
: "${BENCH_SKIP_XFS:=}"
: "${BENCH_RUNS:=3}"
GiB=1073741824
TPCD_IQN=iqn.2026-11.org.tpcd:obench
TGT_IQN=iqn.2026-11.org.tpcd:obench-tgt
tgt_pid=
xfs_mnt=
root=false
[ "$(id -u)" -eq 0 ] && root=true

for p in "$ODX_LOAD" "$XCOPY_LOAD" "$TPCD"; do
	[ -x "$p" ] || { echo "missing $p (make)"; exit 1; }
done
. "$TOP_SRCDIR/tests/integration/lib.sh"

results=$(mktemp "${TMPDIR:-/tmp}/obench.XXXXXX")
cleanup()
{
	tgt_stop
	tpcd_finish
	if [ -n "$xfs_mnt" ]; then
		umount "$xfs_mnt" 2>/dev/null
		rmdir "$xfs_mnt" 2>/dev/null
	fi
	rm -f "$results"
}
trap cleanup EXIT

drop_caches()
{
	sync
	$root && echo 3 > /proc/sys/vm/drop_caches
}

# best FS CASE WHAT cmd...: best seconds of BENCH_RUNS runs
best()
{
	_fs=$1 _case=$2 _what=$3
	shift 3
	_best=
	_i=0
	while [ $_i -lt "$BENCH_RUNS" ]; do
		drop_caches
		_out=$("$@" 2>&1)
		_s=$(echo "$_out" | sed -n 's/^RESULT .*secs=\([0-9.]*\).*/\1/p')
		if [ -z "$_s" ]; then
			echo "  $_fs $_case $_what: FAILED: $_out" | head -n 5
			return 1
		fi
		if [ -z "$_best" ] || awk "BEGIN{exit !($_s < $_best)}"; then
			_best=$_s
		fi
		_i=$((_i + 1))
	done
	echo "$_fs $_case $_what $_best" >> "$results"
	printf "  %-6s %-7s %-10s %9.4f s\n" "$_fs" "$_case" "$_what" "$_best"
}

mkfiles()	# dir
{
	for f in a b; do
		if [ ! -f "$1/$f.img" ] ||
		    [ "$(stat -c %s "$1/$f.img")" -ne $((2 * GiB)) ]; then
			echo "writing $1/$f.img (2 GiB)"
			dd if=/dev/urandom of="$1/$f.img" bs=1M count=2048 \
			    conv=fsync status=none || exit 1
		fi
	done
	rm -f "$1/z.img"
	truncate -s $((11 * GiB)) "$1/z.img"
}

conf()	# dir > template
{
	cat <<JSON
{
  "storage_objects": [
    { "plugin": "fileio", "name": "ba", "dev": "$1/a.img",
      "size": $((2 * GiB)), "write_back": true },
    { "plugin": "fileio", "name": "bb", "dev": "$1/b.img",
      "size": $((2 * GiB)), "write_back": true },
    { "plugin": "fileio", "name": "bz", "dev": "$1/z.img",
      "size": $((11 * GiB)), "write_back": true }
  ],
  "targets": [ { "wwn": "$TPCD_IQN", "fabric": "iscsi", "tpgs": [ {
    "tag": 1, "enable": true,
    "attributes": { "authentication": 0, "generate_node_acls": 1,
                    "demo_mode_write_protect": 0 },
    "portals": [ { "ip_address": "127.0.0.1", "port": @PORT@ } ],
    "luns": [
      { "index": 0, "storage_object": "/backstores/fileio/ba" },
      { "index": 1, "storage_object": "/backstores/fileio/bb" },
      { "index": 2, "storage_object": "/backstores/fileio/bz" } ],
    "node_acls": [] } ] } ]
}
JSON
}

tgt_start()	# dir
{
	tgt_pid=
	[ -z "$BENCH_SKIP_TGT" ] && $root && command -v tgtd >/dev/null ||
	    return 1
	if tgtadm -C "$BENCH_TGT_CTL" --op show --mode target \
	    >/dev/null 2>&1; then
		echo "  a tgtd already uses control port $BENCH_TGT_CTL"
		return 1
	fi
	tgtd -C "$BENCH_TGT_CTL" --iscsi portal=127.0.0.1:$BENCH_TGT_PORT -f \
	    >/dev/null 2>&1 &
	tgt_pid=$!
	sleep 1
	kill -0 "$tgt_pid" 2>/dev/null || { tgt_pid=; return 1; }
	T="tgtadm -C $BENCH_TGT_CTL --lld iscsi"
	$T --op new --mode target --tid 1 -T $TGT_IQN &&
	$T --op new --mode logicalunit --tid 1 --lun 1 -b "$1/a.img" \
	    --bstype rdwr &&
	$T --op new --mode logicalunit --tid 1 --lun 2 -b "$1/b.img" \
	    --bstype rdwr &&
	$T --op bind --mode target --tid 1 -I ALL || { tgt_stop; return 1; }
}

tgt_stop()
{
	[ -n "$tgt_pid" ] || return 0
	if kill -0 "$tgt_pid" 2>/dev/null; then
		tgtadm -C "$BENCH_TGT_CTL" --op delete --mode system \
		    >/dev/null 2>&1
	fi
	kill "$tgt_pid" 2>/dev/null
	_n=0
	while kill -0 "$tgt_pid" 2>/dev/null && [ $_n -lt 30 ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	kill -KILL "$tgt_pid" 2>/dev/null
	wait "$tgt_pid" 2>/dev/null
	tgt_pid=
}

O="$ODX_LOAD"
X="$XCOPY_LOAD"
run_fs()	# label dir
{
	_fs=$1 _d=$2
	mkfiles "$_d"
	echo "== $_fs ($_d: $(stat -f -c %T "$_d"))"
	conf "$_d" > "$_d/tpcd.json"
	TPCD_STATE=
	tpcd_start "$_d/tpcd.json" >/dev/null
	P=$TPCD_PORTAL
	# correctness first (not timed): one checked copy
	$O -p $P -t $TPCD_IQN -s 0 -d 1 -S 0 -D 0 -n 67108864 -c \
	    >/dev/null || echo "  WARNING: checked ODX copy failed"
	best "$_fs" within odx $O -p $P -t $TPCD_IQN -s 0 -d 0 -S 0 \
	    -D 2097152 -n $GiB
	best "$_fs" across odx $O -p $P -t $TPCD_IQN -s 0 -d 1 -S 0 -D 0 \
	    -n $GiB
	best "$_fs" within host-tpcd $X -m host -p $P -t $TPCD_IQN -s 0 \
	    -d 0 -S 0 -D 2097152 -n $GiB
	best "$_fs" across host-tpcd $X -m host -p $P -t $TPCD_IQN -s 0 \
	    -d 1 -S 0 -D 0 -n $GiB
	best "$_fs" fill10G zero $O -m zero -p $P -t $TPCD_IQN -s 2 -d 2 \
	    -S 0 -D 0 -n $((10 * GiB))
	tpcd_stop >/dev/null
	tpcd_finish
	rm -f "$_d/tpcd.json"
	if tgt_start "$_d"; then
		P=127.0.0.1:$BENCH_TGT_PORT
		best "$_fs" within host-tgt $X -m host -p $P -t $TGT_IQN \
		    -s 1 -d 1 -S 0 -D 2097152 -n $GiB
		best "$_fs" across host-tgt $X -m host -p $P -t $TGT_IQN \
		    -s 1 -d 2 -S 0 -D 0 -n $GiB
		tgt_stop
	else
		echo "  tgt skipped (needs root and tgtd; BENCH_SKIP_TGT)"
	fi
	rm -f "$_d/z.img"
}

mkdir -p "$BENCH_DIR" || exit 1
run_fs base "$BENCH_DIR"

if [ -z "$BENCH_SKIP_XFS" ] && $root && command -v mkfs.xfs >/dev/null &&
    grep -qw xfs /proc/filesystems; then
	img="$BENCH_DIR/xfs.img"
	xfs_mnt="$BENCH_DIR/xfs"
	mkdir -p "$xfs_mnt"
	if [ ! -f "$img" ]; then
		truncate -s 20G "$img" && mkfs.xfs -q -f -m reflink=1 "$img" ||
		    exit 1
	fi
	if mount -o loop "$img" "$xfs_mnt"; then
		run_fs xfs "$xfs_mnt"
	else
		echo "== xfs skipped: cannot mount $img"
		xfs_mnt=
	fi
else
	echo "== xfs skipped (needs root, mkfs.xfs and xfs; BENCH_SKIP_XFS)"
fi

echo
echo "1 GiB per copy, 10 GiB zero fill; best of $BENCH_RUNS, page cache dropped"
awk '
	{ t[$1 " " $2 " " $3] = $4; if ($2 != "fill10G" && !seen[$1 " " $2]++)
	    o[++n] = $1 " " $2; if ($2 == "fill10G") z[$1] = $4 }
	function r(a, b) { return (a in t && b in t && t[a] > 0) ? \
	    sprintf("%.2f", t[b] / t[a]) : "-" }
	END {
		printf "%-6s %-7s %9s %10s %10s | %9s %9s\n", "fs", "case",
		    "odx s", "host-tpcd", "host-tgt", "tpcd/odx", "tgt/odx"
		for (i = 1; i <= n; i++) {
			k = o[i]; x = k " odx"; split(k, kk, " ")
			printf "%-6s %-7s %9s %10s %10s | %9s %9s\n",
			    kk[1], kk[2], t[x], \
			    (k " host-tpcd") in t ? t[k " host-tpcd"] : "-", \
			    (k " host-tgt") in t ? t[k " host-tgt"] : "-", \
			    r(x, k " host-tpcd"), r(x, k " host-tgt")
		}
		for (f in z)
			printf "%-6s zero-token fill of 10 GiB: %s s " \
			    "(goal < 1 s)\n", f, z[f]
	}' "$results"
echo "(tpcd/odx = host copy through tpcd s / odx s; tgt/odx = host copy"
echo " through tgt s / odx s)"
