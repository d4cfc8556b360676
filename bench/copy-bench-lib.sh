# copy-bench-lib.sh - shared part of xcopy-bench.sh and odx-bench.sh
# (sourced, POSIX sh): two 2 GiB random files a.img and b.img per
# filesystem, a tpcd config exporting them as LUN 0 and 1 (plus the
# script's extra storage), an optional tgtd on the same files, best-of-N
# timing of load programs that print "RESULT ... secs=S", and the run on
# $BENCH_DIR and then on a reflink XFS image on a loop device (root).
#
# The script sets before sourcing: BENCH_NAME (iqn suffix, temp names),
# BENCH_DIR, BENCH_TGT_PORT, BENCH_TGT_CTL, BENCH_XFS_SIZE, BENCH_PROGS
# (programs that must exist); and may define bench_mkfiles_extra DIR,
# bench_conf_so DIR / bench_conf_luns (extra JSON entries, each starting
# with ","), bench_best_mibs=1 (MiB/s column).  It then defines
# run_fs LABEL DIR and calls bench_run_all.
: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
: "${TPCD:=$TOP_BUILDDIR/tpcd}"
: "${XCOPY_LOAD:=$TOP_BUILDDIR/bench/xcopy-load}"
: "${BENCH_SKIP_TGT:=}"
: "${BENCH_SKIP_XFS:=}"
: "${BENCH_RUNS:=3}"
: "${bench_best_mibs:=}"
GiB=1073741824
TPCD_IQN=iqn.2026-11.org.tpcd:$BENCH_NAME
TGT_IQN=iqn.2026-11.org.tpcd:$BENCH_NAME-tgt
tgt_pid=
xfs_mnt=
root=false
[ "$(id -u)" -eq 0 ] && root=true

for p in $BENCH_PROGS "$TPCD"; do
	[ -x "$p" ] || { echo "missing $p (make)"; exit 1; }
done
. "$TOP_SRCDIR/tests/integration/lib.sh"

results=$(mktemp "${TMPDIR:-/tmp}/$BENCH_NAME.XXXXXX")
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

# best FS CASE WHAT cmd...: run BENCH_RUNS times, keep the best seconds
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
	if [ -n "$bench_best_mibs" ]; then
		printf "  %-6s %-7s %-10s %9.4f s  %8.1f MiB/s\n" "$_fs" \
		    "$_case" "$_what" "$_best" \
		    "$(awk "BEGIN{print 1024 / $_best}")"
	else
		printf "  %-6s %-7s %-10s %9.4f s\n" "$_fs" "$_case" "$_what" \
		    "$_best"
	fi
}

# defaults for the hooks the script did not define
command -v bench_mkfiles_extra >/dev/null || bench_mkfiles_extra() { :; }
command -v bench_conf_so >/dev/null || bench_conf_so() { :; }
command -v bench_conf_luns >/dev/null || bench_conf_luns() { :; }

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
	bench_mkfiles_extra "$1"
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
    $(bench_conf_so "$1")
  ],
  "targets": [ { "wwn": "$TPCD_IQN", "fabric": "iscsi", "tpgs": [ {
    "tag": 1, "enable": true,
    "attributes": { "authentication": 0, "generate_node_acls": 1,
                    "demo_mode_write_protect": 0 },
    "portals": [ { "ip_address": "127.0.0.1", "port": @PORT@ } ],
    "luns": [
      { "index": 0, "storage_object": "/backstores/fileio/ba" },
      { "index": 1, "storage_object": "/backstores/fileio/bb" }
      $(bench_conf_luns) ],
    "node_acls": [] } ] } ]
}
JSON
}

# tgtd on our own control port exporting a.img and b.img as LUN 1 and 2.
tgt_start()	# dir
{
	tgt_pid=
	[ -z "$BENCH_SKIP_TGT" ] && $root && command -v tgtd >/dev/null ||
	    return 1
	if tgtadm -C "$BENCH_TGT_CTL" --op show --mode target \
	    >/dev/null 2>&1; then
		echo "  a tgtd already uses control port $BENCH_TGT_CTL:" \
		    "not touched"
		return 1
	fi
	tgtd -C "$BENCH_TGT_CTL" --iscsi portal=127.0.0.1:$BENCH_TGT_PORT -f \
	    >/dev/null 2>&1 &
	tgt_pid=$!
	sleep 1
	kill -0 "$tgt_pid" 2>/dev/null || { tgt_pid=; return 1; }
	T="tgtadm -C $BENCH_TGT_CTL --lld iscsi"
	$T --op new --mode target --tid 1 -T "$TGT_IQN" &&
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
		tgtadm -C "$BENCH_TGT_CTL" --op delete --mode system \
		    >/dev/null 2>&1
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

# Start tpcd on the files of dir: sets P (its portal).
bench_tpcd_start()	# dir
{
	conf "$1" > "$1/tpcd.json"
	TPCD_STATE=
	tpcd_start "$1/tpcd.json" >/dev/null
	P=$TPCD_PORTAL
}

bench_tpcd_stop()	# dir
{
	tpcd_stop >/dev/null
	tpcd_finish
	rm -f "$1/tpcd.json"
}

# run_fs on $BENCH_DIR, then on a reflink XFS image (root).
bench_run_all()
{
	mkdir -p "$BENCH_DIR" || exit 1
	run_fs base "$BENCH_DIR"
	if [ -z "$BENCH_SKIP_XFS" ] && $root &&
	    command -v mkfs.xfs >/dev/null && grep -qw xfs /proc/filesystems
	then
		img="$BENCH_DIR/xfs.img"
		xfs_mnt="$BENCH_DIR/xfs"
		mkdir -p "$xfs_mnt"
		if [ ! -f "$img" ]; then
			truncate -s "$BENCH_XFS_SIZE" "$img" &&
			    mkfs.xfs -q -f -m reflink=1 "$img" || exit 1
		fi
		if mount -o loop "$img" "$xfs_mnt"; then
			run_fs xfs "$xfs_mnt"
		else
			echo "== xfs skipped: cannot mount $img"
			xfs_mnt=
		fi
	else
		echo "== xfs skipped (needs root, mkfs.xfs and xfs;" \
		    "BENCH_SKIP_XFS)"
	fi
}
