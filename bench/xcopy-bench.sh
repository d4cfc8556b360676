#!/bin/sh
# xcopy-bench.sh - EXTENDED COPY of 1 GiB through tpcd's copy engine
# against the alternatives, in one run:
#
#   xcopy      EXTENDED COPY (LID1, 1 MiB-multiple 02h segments) via tpcd
#   host-tpcd  the initiator copies the same bytes: READ16 + WRITE16 of
#              1 MiB, 8 copies in flight, through tpcd
#   host-tgt   the same through tgtd (rdwr backing store) on the same files
#   direct     copy_file_range() of the backing files (xcopy-load -m cfr)
#   clone      FICLONERANGE of the backing files (reflink filesystems)
#
# Cases: within one LU (offset 0 -> 1 GiB) and across two LUs, on the
# filesystem of $BENCH_DIR (ext4 here: copy_file_range path) and, as root
# with mkfs.xfs, on an XFS image with reflink=1 on a loop device (reflink
# path).  Every measurement starts with the page cache dropped (root) and
# the data already on disk; none includes a final flush (write-back LUs,
# like the direct baseline).  Prints times and the ratios the goals use:
# xcopy/direct (>= 0.9), xcopy vs host-tgt (>= 5x), and reflink ms/GiB
# (<= 5).
#
# Environment: TPCD, XCOPY_LOAD, BENCH_DIR (/var/tmp/xcopy-bench),
# BENCH_TGT_PORT (3273), BENCH_TGT_CTL (93, tgtd control port; a tgtd
# already answering there is left alone and tgt is skipped), BENCH_SKIP_TGT=1, BENCH_SKIP_XFS=1, BENCH_RUNS (3:
# best of N per figure).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${TOP_SRCDIR:=$(cd "$here/.." && pwd)}"
: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
: "${TPCD:=$TOP_BUILDDIR/tpcd}"
: "${XCOPY_LOAD:=$TOP_BUILDDIR/bench/xcopy-load}"
: "${BENCH_DIR:=/var/tmp/xcopy-bench}"
: "${BENCH_TGT_PORT:=3273}"
: "${BENCH_TGT_CTL:=93}"	# tgtd control port: must be ours alone
: "${BENCH_SKIP_TGT:=}"
: "${BENCH_SKIP_XFS:=}"
: "${BENCH_RUNS:=3}"
GiB=1073741824
TPCD_IQN=iqn.2026-11.org.tpcd:xbench
TGT_IQN=iqn.2026-11.org.tpcd:xbench-tgt
TGT_CTL=$BENCH_TGT_CTL
tgt_pid=
xfs_mnt=
root=false
[ "$(id -u)" -eq 0 ] && root=true

[ -x "$XCOPY_LOAD" ] || { echo "missing $XCOPY_LOAD (make bench/xcopy-load)"; exit 1; }
[ -x "$TPCD" ] || { echo "missing $TPCD (make)"; exit 1; }
. "$TOP_SRCDIR/tests/integration/lib.sh"

results=$(mktemp "${TMPDIR:-/tmp}/xbench.XXXXXX")
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

# best DIR CASE WHAT cmd...: run BENCH_RUNS times, keep the best seconds
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
	printf "  %-6s %-7s %-10s %9.4f s  %8.1f MiB/s\n" "$_fs" "$_case" \
	    "$_what" "$_best" "$(awk "BEGIN{print 1024 / $_best}")"
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
}

conf()	# dir > template
{
	cat <<JSON
{
  "storage_objects": [
    { "plugin": "fileio", "name": "ba", "dev": "$1/a.img",
      "size": $((2 * GiB)), "write_back": true },
    { "plugin": "fileio", "name": "bb", "dev": "$1/b.img",
      "size": $((2 * GiB)), "write_back": true }
  ],
  "targets": [ { "wwn": "$TPCD_IQN", "fabric": "iscsi", "tpgs": [ {
    "tag": 1, "enable": true,
    "attributes": { "authentication": 0, "generate_node_acls": 1,
                    "demo_mode_write_protect": 0 },
    "portals": [ { "ip_address": "127.0.0.1", "port": @PORT@ } ],
    "luns": [
      { "index": 0, "storage_object": "/backstores/fileio/ba" },
      { "index": 1, "storage_object": "/backstores/fileio/bb" } ],
    "node_acls": [] } ] } ]
}
JSON
}

tgt_start()	# dir
{
	tgt_pid=
	[ -z "$BENCH_SKIP_TGT" ] && $root && command -v tgtd >/dev/null ||
	    return 1
	if tgtadm -C $TGT_CTL --op show --mode target >/dev/null 2>&1; then
		echo "  a tgtd already uses control port $TGT_CTL: not touched"
		return 1
	fi
	tgtd -C $TGT_CTL --iscsi portal=127.0.0.1:$BENCH_TGT_PORT -f \
	    >/dev/null 2>&1 &
	tgt_pid=$!
	sleep 1
	kill -0 "$tgt_pid" 2>/dev/null || { tgt_pid=; return 1; }
	T="tgtadm -C $TGT_CTL --lld iscsi"
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
	# only our own daemon, by its pid
	if kill -0 "$tgt_pid" 2>/dev/null; then
		tgtadm -C $TGT_CTL --op delete --mode system >/dev/null 2>&1
	fi
	kill "$tgt_pid" 2>/dev/null
	_n=0
	while kill -0 "$tgt_pid" 2>/dev/null && [ $_n -lt 30 ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	kill -KILL "$tgt_pid" 2>/dev/null	# tgtd may ignore SIGTERM
	wait "$tgt_pid" 2>/dev/null
	tgt_pid=
}

L="$XCOPY_LOAD"
run_fs()	# label dir
{
	_fs=$1 _d=$2
	mkfiles "$_d"
	drop_caches
	echo "== $_fs ($_d: $(stat -f -c %T "$_d"))"
	conf "$_d" > "$_d/tpcd.json"
	TPCD_STATE=
	tpcd_start "$_d/tpcd.json" >/dev/null
	P=$TPCD_PORTAL
	# within one LU: 0 -> 1 GiB of a.img; across: a.img -> b.img
	best "$_fs" within xcopy $L -p $P -t $TPCD_IQN -s 0 -d 0 -S 0 \
	    -D 2097152 -n $GiB
	best "$_fs" across xcopy $L -p $P -t $TPCD_IQN -s 0 -d 1 -S 0 \
	    -D 0 -n $GiB
	best "$_fs" within host-tpcd $L -m host -p $P -t $TPCD_IQN -s 0 \
	    -d 0 -S 0 -D 2097152 -n $GiB
	best "$_fs" across host-tpcd $L -m host -p $P -t $TPCD_IQN -s 0 \
	    -d 1 -S 0 -D 0 -n $GiB
	tpcd_stop >/dev/null
	tpcd_finish
	rm -f "$_d/tpcd.json"
	if tgt_start "$_d"; then
		P=127.0.0.1:$BENCH_TGT_PORT
		best "$_fs" within host-tgt $L -m host -p $P -t $TGT_IQN \
		    -s 1 -d 1 -S 0 -D 2097152 -n $GiB
		best "$_fs" across host-tgt $L -m host -p $P -t $TGT_IQN \
		    -s 1 -d 2 -S 0 -D 0 -n $GiB
		tgt_stop
	else
		echo "  tgt skipped (needs root and tgtd; BENCH_SKIP_TGT)"
	fi
	best "$_fs" within direct $L -m cfr -f "$_d/a.img" -F "$_d/a.img" \
	    -S 0 -D $GiB -n $GiB
	best "$_fs" across direct $L -m cfr -f "$_d/a.img" -F "$_d/b.img" \
	    -S 0 -D 0 -n $GiB
	if [ "$_fs" = xfs ]; then
		best "$_fs" within clone $L -m clone -f "$_d/a.img" \
		    -F "$_d/a.img" -S 0 -D $GiB -n $GiB
		best "$_fs" across clone $L -m clone -f "$_d/a.img" \
		    -F "$_d/b.img" -S 0 -D 0 -n $GiB
	fi
}

mkdir -p "$BENCH_DIR" || exit 1
run_fs base "$BENCH_DIR"

if [ -z "$BENCH_SKIP_XFS" ] && $root && command -v mkfs.xfs >/dev/null &&
    grep -qw xfs /proc/filesystems; then
	img="$BENCH_DIR/xfs.img"
	xfs_mnt="$BENCH_DIR/xfs"
	mkdir -p "$xfs_mnt"
	if [ ! -f "$img" ]; then
		truncate -s 6G "$img" && mkfs.xfs -q -f -m reflink=1 "$img" ||
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
echo "1 GiB per copy, best of $BENCH_RUNS, page cache dropped before each"
awk '
	{ t[$1 " " $2 " " $3] = $4; if (!seen[$1 " " $2]++) o[++n] = $1 " " $2 }
	function r(a, b) { return (a in t && b in t && t[a] > 0) ? \
	    sprintf("%.2f", t[b] / t[a]) : "-" }
	END {
		printf "%-6s %-7s %9s %10s %10s %9s %9s | %8s %8s %8s\n",
		    "fs", "case", "xcopy s", "host-tpcd", "host-tgt",
		    "direct", "clone", "vs direct", "vs tgt", "ms/GiB"
		for (i = 1; i <= n; i++) {
			k = o[i]; x = k " xcopy"; split(k, kk, " ")
			printf "%-6s %-7s %9s %10s %10s %9s %9s | %8s %8s %8.2f\n",
			    kk[1], kk[2], t[x], \
			    (k " host-tpcd") in t ? t[k " host-tpcd"] : "-", \
			    (k " host-tgt") in t ? t[k " host-tgt"] : "-", \
			    (k " direct") in t ? t[k " direct"] : "-", \
			    (k " clone") in t ? t[k " clone"] : "-", \
			    r(x, k " direct"), r(x, k " host-tgt"), t[x] * 1000
		}
	}' "$results"
echo "(vs direct = direct s / xcopy s, goal >= 0.9 on ext4; vs tgt ="
echo " host-tgt s / xcopy s, goal >= 5; reflink goal <= 5 ms/GiB)"
