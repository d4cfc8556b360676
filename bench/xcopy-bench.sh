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
# already answering there is left alone and tgt is skipped),
# BENCH_SKIP_TGT=1, BENCH_SKIP_XFS=1, BENCH_RUNS (3: best of N per figure).
# Shared machinery: bench/copy-bench-lib.sh.
set -u
BENCH_NAME=xbench
: "${BENCH_DIR:=/var/tmp/xcopy-bench}"
: "${BENCH_TGT_PORT:=3273}"
: "${BENCH_TGT_CTL:=93}"	# tgtd control port: must be ours alone
BENCH_XFS_SIZE=6G
: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
: "${XCOPY_LOAD:=$TOP_BUILDDIR/bench/xcopy-load}"
BENCH_PROGS="$XCOPY_LOAD"
bench_best_mibs=1
. "$(dirname "$0")/copy-bench-lib.sh"

L="$XCOPY_LOAD"
run_fs()	# label dir
{
	_fs=$1 _d=$2
	mkfiles "$_d"
	echo "== $_fs ($_d: $(stat -f -c %T "$_d"))"
	bench_tpcd_start "$_d"
	# within one LU: 0 -> 1 GiB of a.img; across: a.img -> b.img
	best "$_fs" within xcopy $L -p $P -t $TPCD_IQN -s 0 -d 0 -S 0 \
	    -D 2097152 -n $GiB
	best "$_fs" across xcopy $L -p $P -t $TPCD_IQN -s 0 -d 1 -S 0 \
	    -D 0 -n $GiB
	best "$_fs" within host-tpcd $L -m host -p $P -t $TPCD_IQN -s 0 \
	    -d 0 -S 0 -D 2097152 -n $GiB
	best "$_fs" across host-tpcd $L -m host -p $P -t $TPCD_IQN -s 0 \
	    -d 1 -S 0 -D 0 -n $GiB
	bench_tpcd_stop "$_d"
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

bench_run_all

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
