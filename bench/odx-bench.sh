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
# BENCH_RUNS (3: best of N).  Shared machinery: bench/copy-bench-lib.sh.
set -u
BENCH_NAME=obench
: "${BENCH_DIR:=/var/tmp/odx-bench}"
: "${BENCH_TGT_PORT:=3274}"
: "${BENCH_TGT_CTL:=94}"
BENCH_XFS_SIZE=20G
: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
: "${ODX_LOAD:=$TOP_BUILDDIR/bench/odx-load}"
BENCH_PROGS="$ODX_LOAD"

# a sparse 11 GiB LU for the zero-token fill
bench_mkfiles_extra()
{
	rm -f "$1/z.img"
	truncate -s $((11 * GiB)) "$1/z.img"
}
bench_conf_so()
{
	echo ', { "plugin": "fileio", "name": "bz", "dev": "'"$1"'/z.img",'
	echo '      "size": '$((11 * GiB))', "write_back": true }'
}
bench_conf_luns()
{
	echo ', { "index": 2, "storage_object": "/backstores/fileio/bz" }'
}
. "$(dirname "$0")/copy-bench-lib.sh"

O="$ODX_LOAD"
X="$XCOPY_LOAD"
run_fs()	# label dir
{
	_fs=$1 _d=$2
	mkfiles "$_d"
	echo "== $_fs ($_d: $(stat -f -c %T "$_d"))"
	bench_tpcd_start "$_d"
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
	bench_tpcd_stop "$_d"
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

bench_run_all

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
