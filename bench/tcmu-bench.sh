#!/bin/bash
# tcmu-bench.sh - guest script: tpcd behind LIO (user: backstore served by
# tpcd's TCMU front end) against LIO's own fileio backstore, on the same
# backing file, same guest, same LIO iSCSI target code, same clients.
#
# On the host, as root, in a build tree (tpcd and bench/iscsi-load built):
#   tests/vm/run-guest.sh -s SRC -b BUILD -t 3600 SRC/bench/tcmu-bench.sh
# (docs/bench.md, "tpcd behind LIO (TCMU)").
#
# One 1 GiB file on /scratch, fully written once, is served twice: as a
# user: device (tpcd/file=...) and as a fileio device, each exported by its
# own LIO iSCSI target on 127.0.0.1:3260.  Cache mode like with like: the
# fileio device uses buffered I/O (fd_buffered_io=1, WCE=1) and the user:
# device has emulate_write_cache=1, so tpcd's file backstore writes through
# the page cache too; BENCH_FILEIO=dsync: both O_DSYNC, WCE=0 (LIO's and
# targetcli's default for both).
#  1. bench/iscsi-load (libiscsi, user space): 4 KiB random read and write
#     at QD32, 1 MiB sequential read and write at QD8; every workload on
#     tpcd, then on fileio, BENCH_ROUNDS times, BENCH_SECONDS each.
#  2. EXTENDED COPY of 256 MiB inside the LUN through the kernel initiator
#     (open-iscsi, sg_xcopy, one segment of BPT blocks per command) for each
#     BPT in BENCH_XCOPY_BPT, BENCH_ROUNDS times; destination verified by
#     SHA-256 once per target; and for scale the same 256 MiB copied by dd
#     with O_DIRECT (read + write through the initiator).
#  3. The same 256 MiB as many EXTENDED COPY commands of BENCH_XCOPY_QD_BYTES
#     (64 KiB) with BENCH_XCOPY_QD (8) in flight, through libiscsi
#     (bench/xcopy-load -b -q), BENCH_ROUNDS times; the first round of each
#     target compares the destination with the source (-c).  Empty
#     BENCH_XCOPY_QD skips it.
# Prints every figure, then medians and the ratio tpcd/fileio.
# Environment: BENCH_SECONDS (10), BENCH_ROUNDS (3), BENCH_WORKLOADS (empty:
#   no iscsi-load rows),
#   BENCH_XCOPY_BPT ("32768 128"), BENCH_FILEIO (buffered | dsync),
#   BENCH_XCOPY_QD (8), BENCH_XCOPY_QD_BYTES (65536).
# tpcd's copy-scope counters (per device, at exit) are shown at the end.
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"
. "$VM_SRC/tests/vm/tcmu-lib.sh"

: "${BENCH_SECONDS:=10}"
: "${BENCH_ROUNDS:=3}"
: "${BENCH_WORKLOADS=randread-4k randwrite-4k seqread-1m seqwrite-1m}"
: "${BENCH_XCOPY_BPT:=32768 128}"
: "${BENCH_FILEIO:=buffered}"
: "${BENCH_XCOPY_QD=8}"
: "${BENCH_XCOPY_QD_BYTES:=65536}"
LOAD=${VM_BUILD:-/mnt/build}/bench/iscsi-load
XLOAD=${VM_BUILD:-/mnt/build}/bench/xcopy-load
FILE=/scratch/bench.img
GIB=1073741824
XBLK=524288	# 256 MiB in 512-byte blocks
XDST=1048576	# copy destination: LBA at 512 MiB
IQNT=iqn.2026-11.org.tpcd.vm:bench-tcmu
IQNF=iqn.2026-11.org.tpcd.vm:bench-fileio
RES=/tmp/bench.res
: >"$RES"

need load-binary test -x "$LOAD"
[ -z "$BENCH_XCOPY_QD" ] || need xcopy-load-binary test -x "$XLOAD"
section "backing file, devices, targets"
need file dd if=/dev/urandom of="$FILE" bs=1M count=256 status=none
need file-rest dd if=/dev/zero of="$FILE" bs=1M seek=256 count=768 \
    conv=fsync status=none
need modules tcmu_modules
fmode="" tmode=""
[ "$BENCH_FILEIO" = buffered ] && fmode=buffered tmode=wce
# iscsi-load sends 1 MiB commands whatever the Block Limits VPD says:
# raise user:'s hw_max_sectors (default 128) to 1 MiB (fileio: 8 MiB).
TCMU_HW_MAX_SECTORS=${TCMU_HW_MAX_SECTORS:-2048}
need dev-tcmu tcmu_dev_create 1 b0 "file=$FILE" $GIB "" $tmode
need dev-fileio lio_fileio_create 1 f0 "$FILE" $GIB "" $fmode
tcmu_tpcd_conf /tmp/tpcd-tcmu.json
need tpcd-start tpcd_start -c /tmp/tpcd-tcmu.json
need attach tcmu_attached 1 b0
need target-tcmu lio_target "$IQNT" demo
need lun-tcmu lio_lun "$IQNT" 0 user_1/b0
need target-fileio lio_target "$IQNF" demo
need lun-fileio lio_lun "$IQNF" 0 fileio_1/f0
show grep -H . "$LIO"/core/user_1/b0/attrib/hw_max_sectors \
    "$LIO"/core/user_1/b0/attrib/max_data_area_mb \
    "$LIO"/core/fileio_1/f0/attrib/hw_max_sectors \
    "$LIO"/core/fileio_1/f0/attrib/emulate_write_cache \
    "$LIO"/core/user_1/b0/attrib/emulate_write_cache
show nproc

section "iscsi-load: $BENCH_WORKLOADS, $BENCH_ROUNDS x $BENCH_SECONDS s"
load() {	# load LABEL IQN WORKLOAD: one run, one result line
	local args
	case $3 in
	randread-4k) args="-r -b 4096 -q 32" ;;
	randwrite-4k) args="-r -w -b 4096 -q 32" ;;
	seqread-1m) args="-S -b 1048576 -q 8" ;;
	seqwrite-1m) args="-S -w -b 1048576 -q 8" ;;
	*) echo "unknown workload $3"; return 1 ;;
	esac
	# shellcheck disable=SC2086
	out=$("$LOAD" -p 127.0.0.1:3260 -t "$2" -l 0 -d "$BENCH_SECONDS" \
	    $args 2>&1)
	printf '%s %s: %s\n' "$1" "$3" "$(grep RESULT <<<"$out")"
	grep -q 'errors=0' <<<"$out" || { printf '%s\n' "$out"; return 1; }
	awk -v l="$1" -v w="$3" '/^RESULT/ {
	    split($2, a, "="); split($3, b, "=")
	    print w, l, a[2], b[2] }' <<<"$out" >>"$RES"
}
for ((r = 1; r <= BENCH_ROUNDS; r++)); do
	for w in $BENCH_WORKLOADS; do
		check "load-tcmu-$w-$r" load tcmu "$IQNT" "$w"
		check "load-fileio-$w-$r" load fileio "$IQNF" "$w"
	done
done

if [ -n "$BENCH_XCOPY_QD" ]; then
	QDW=xcopy-$((BENCH_XCOPY_QD_BYTES / 1024))k-qd$BENCH_XCOPY_QD
	section "256 MiB as $BENCH_XCOPY_QD_BYTES-byte EXTENDED COPYs at QD" \
	    "$BENCH_XCOPY_QD (libiscsi)"
fi
xqd() {	# xqd LABEL IQN ROUND: one run of xcopy-load -b -q, one result line
	local out c=""
	[ "$3" = 1 ] && c=-c
	# the destination back to zeroes through the shared file (not timed)
	dd if=/dev/zero of="$FILE" bs=1M seek=512 count=256 conv=notrunc,fsync \
	    status=none || return 1
	# shellcheck disable=SC2086
	out=$("$XLOAD" -p 127.0.0.1:3260 -t "$2" -s 0 -d 0 -S 0 -D $XDST \
	    -n $((XBLK * 512)) -b "$BENCH_XCOPY_QD_BYTES" -q "$BENCH_XCOPY_QD" \
	    $c 2>&1)
	printf '%s %s: %s\n' "$1" "$QDW" "$(grep -E 'RESULT|COMPARE' \
	    <<<"$out" | tr '\n' ' ')"
	grep -q '^RESULT mode=xcopy' <<<"$out" || { printf '%s\n' "$out"; \
	    return 1; }
	[ -z "$c" ] || grep -q '^COMPARE ok' <<<"$out" || return 1
	awk -v l="$1" -v w="$QDW" '/^RESULT/ {
	    split($4, a, "="); printf "%s %s %d 0\n", w, l, a[2] * 1000 }' \
	    <<<"$out" >>"$RES"
}
for ((r = 1; r <= BENCH_ROUNDS && ${#BENCH_XCOPY_QD} > 0; r++)); do
	check "xcopy-qd-tcmu-$r" xqd tcmu "$IQNT" $r
	check "xcopy-qd-fileio-$r" xqd fileio "$IQNF" $r
done

section "256 MiB copies through the kernel initiator"
need discovery vm_iscsi_discover "$IQNT"
need login-tcmu vm_iscsi_login "$IQNT" 1
need login-fileio vm_iscsi_login "$IQNF" 1
read -r SDT SGT < <(vm_lun_dev "$IQNT" 0)
read -r SDF SGF < <(vm_lun_dev "$IQNF" 0)
# The random writes above went everywhere: the source's SHA-256 now (both
# devices write through the same page cache, so the file shows it).
XSHA=$(head -c $((XBLK * 512)) "$FILE" | sha256sum | cut -c1-64)
show sg_copy_results --params "$SGT"
show sg_copy_results --params "$SGF"
timed() {	# timed LABEL WHAT CMD...: run, record seconds
	local l=$1 w=$2 t0=$EPOCHREALTIME t
	shift 2
	"$@" || return 1
	t=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	echo "$l $w: $((t / 1000)).$(printf %03d $((t % 1000))) s"
	echo "$w $l $t 0" >>"$RES"
}
zero_dst() {	# zero_dst SD: the destination range back to zeroes (not timed)
	dd if=/dev/zero of="$1" bs=1M seek=512 count=256 oflag=direct \
	    status=none
}
for ((r = 1; r <= BENCH_ROUNDS; r++)); do
	for bpt in $BENCH_XCOPY_BPT; do
		[ "$bpt" != 128 ] || [ "$r" = 1 ] || continue	# slow: once
		for t in tcmu fileio; do
			if [ $t = tcmu ]; then sd=$SDT sg=$SGT; else sd=$SDF sg=$SGF; fi
			zero_dst "$sd"
			check "xcopy-$t-bpt$bpt-$r" timed $t "xcopy-bpt$bpt" \
			    sg_xcopy if="$sg" of="$sg" bs=512 bpt="$bpt" \
			    count=$XBLK seek=$XDST
			if [ "$r" = 1 ]; then
				check "xcopy-$t-bpt$bpt-sha256" vm_sha_is "$sd" \
				    $XDST $XBLK "$XSHA"
			fi
		done
	done
	for t in tcmu fileio; do
		if [ $t = tcmu ]; then sd=$SDT; else sd=$SDF; fi
		check "dd-$t-$r" timed $t dd-direct-1m dd if="$sd" of="$sd" \
		    bs=1M count=256 seek=512 iflag=direct oflag=direct \
		    status=none
	done
done
need logout vm_iscsi_logout "$IQNT"
need logout vm_iscsi_logout "$IQNF"

section "medians (tpcd-backed / LIO fileio)"
sort -k1,1 -k2,2 -k3,3n "$RES" | awk '
	{ k = $1 " " $2; n[k]++; v[k, n[k]] = $3; m[k, n[k]] = $4
	  if (!($1 in seen)) { seen[$1] = 1; order[++nw] = $1 } }
	function med(k) { return v[k, int((n[k] + 1) / 2)] }
	function medm(k) { return m[k, int((n[k] + 1) / 2)] }
	END {
		printf "%-16s %12s %10s %12s %10s %8s\n", "workload",
		    "tpcd", "MiB/s", "fileio", "MiB/s", "ratio"
		for (i = 1; i <= nw; i++) {
			w = order[i]; t = med(w " tcmu"); f = med(w " fileio")
			if (w ~ /^(xcopy|dd)/)	# milliseconds: lower is better
				printf "%-16s %10.2f s %10s %10.2f s %10s %8.2f\n",
				    w, t / 1000, "", f / 1000, "", f ? t / f : 0
			else
				printf "%-16s %8d IOPS %10.1f %8d IOPS %10.1f %8.2f\n",
				    w, t, medm(w " tcmu"), f, medm(w " fileio"),
				    f ? t / f : 0
		}
	}'
echo "(ratio: tpcd-backed / fileio; for IOPS higher is better, for copy"
echo " times lower is better)"
show cat "$RES"
check tpcd-stop tpcd_stop
show grep -a 'copy scope' "$TPCD_LOG"
vm_finish
