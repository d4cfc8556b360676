#!/bin/bash
# The "nvme" backstore on qemu's emulated NVMe controllers, through the
# kernel initiator: LUN 0 is a 1 GiB namespace with Copy (MSSRL 1024,
# MCL 4096, MSRC 7), LUN 1 a fileio file, LUN 2 a namespace whose every
# Copy fails (mssrl=0,mcl=0,msrc=0: tpcd must never send Copy there).
#  - basic I/O; sg_xcopy / ddpt --xcopy / ddpt --odx within LUN 0 land as
#    NVMe Copy (copy counters, SHA-256 of the destination read from the
#    namespace itself); nvme <-> fileio copies fall back and are right;
#  - blkdiscard on the sd device deallocates on the namespace (reads zero);
#  - LUN 2: copies succeed by reads and writes, fallback counted;
#  - figures: 256 MiB inside LUN 0 by NVMe Copy vs the r/w path
#    (TPCD_COPY_DISABLE=nvme), ddpt --xcopy / --odx vs plain ddpt;
#  - a Copy the device fails (TPCD_NVME_COPY_LIMITS raises MSSRL over the
#    device's) ends sg_xcopy with COPY ABORTED and forwarded sense.
# vm-options: -t 900 -n 1024 -n 64,mssrl=0,mcl=0,msrc=0
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"

IQN=iqn.2026-11.org.tpcd:nvme
NBLK=2048		# 1 MiB copies
BIG=524288		# 256 MiB, the figures
CONF=/tmp/nvme.json
COUNTERS=$TPCD_STATE/copy-counters

# ns_of SERIAL: the namespace block node of the controller with SERIAL
# (the driver probes controllers in parallel: nvme0 is not always -n #1).
ns_of() {
	local d
	for d in /dev/nvme[0-9]n1; do
		nvme id-ctrl "$d" 2>/dev/null | grep -qE "^sn +: +($1) *$" ||
		    continue
		echo "$d"
		return 0
	done
	return 1
}

section "namespaces"
NS0=$(ns_of "tpcdnvme0|labnvme0")
NS1=$(ns_of "tpcdnvme1|labnvme1")
show nvme list
need namespaces test -b "$NS0" -a -b "$NS1"
echo "copy namespace $NS0, no-copy namespace $NS1"
show nvme id-ns -H "$NS0"
show nvme id-ctrl "$NS0" -o normal

section "256 MiB source pattern (written on the namespace directly)"
T0=$EPOCHREALTIME
head -c $((BIG * 512)) /dev/urandom >/tmp/big
PBIG=$(sha256sum </tmp/big | cut -c1-64)
need big-write dd if=/tmp/big of="$NS0" bs=1M oflag=direct conv=fsync \
    status=none
rm -f /tmp/big
echo "pattern written in $(vm_since "$T0")"
head -c $((NBLK * 512)) /dev/urandom >/tmp/p1
P1=$(sha256sum </tmp/p1 | cut -c1-64)
ZERO=$(head -c $((NBLK * 512)) /dev/zero | sha256sum | cut -c1-64)
dd if=/dev/zero of=/scratch/f0.img bs=1M count=0 seek=512 status=none

cat >"$CONF" <<EOF
{
  "storage_objects": [
    { "plugin": "nvme", "name": "nv0", "dev": "$NS0", "write_back": true,
      "wwn": "6b0c1f0a-2d4e-4c61-9a3b-0f5e7d21b001" },
    { "plugin": "fileio", "name": "f0", "dev": "/scratch/f0.img",
      "size": 536870912, "write_back": true,
      "wwn": "6b0c1f0a-2d4e-4c61-9a3b-0f5e7d21b002" },
    { "plugin": "nvme", "name": "nv1", "dev": "$NS1", "write_back": true,
      "wwn": "6b0c1f0a-2d4e-4c61-9a3b-0f5e7d21b003" }
  ],
  "targets": [ { "wwn": "$IQN", "fabric": "iscsi", "tpgs": [ {
    "tag": 1, "enable": true,
    "attributes": { "authentication": 0, "generate_node_acls": 1,
                    "demo_mode_write_protect": 0 },
    "portals": [ { "ip_address": "127.0.0.1", "port": 3260 } ],
    "luns": [
      { "index": 0, "storage_object": "/backstores/nvme/nv0" },
      { "index": 1, "storage_object": "/backstores/fileio/f0" },
      { "index": 2, "storage_object": "/backstores/nvme/nv1" } ],
    "node_acls": [] } ] } ]
}
EOF

# up [VAR=VAL...]: start tpcd with these in its environment, log in,
# set SD0..SD2 / SG0..SG2.
up() {
	local kv
	for kv in "$@"; do export "${kv?}"; done
	need tpcd-start tpcd_start -c "$CONF"
	for kv in "$@"; do unset "${kv%%=*}"; done
	grep -E 'NVMe|TPCD_' "$TPCD_LOG"
	need discovery vm_iscsi_discover "$IQN"
	need login vm_iscsi_login "$IQN" 3
	read -r SD0 SG0 < <(vm_lun_dev "$IQN" 0)
	read -r SD1 SG1 < <(vm_lun_dev "$IQN" 1)
	read -r SD2 SG2 < <(vm_lun_dev "$IQN" 2)
	echo "LUN0 $SD0 $SG0, LUN1 $SD1 $SG1, LUN2 $SD2 $SG2"
}

secs() {	# secs T0: seconds since T0 as a number
	local t
	t=$(vm_since "$1")
	echo "${t% s}"
}

down() {
	need logout vm_iscsi_logout "$IQN"
	check tpcd-stop tpcd_stop
	mkdir -p /tmp/logs && cp "$TPCD_LOG" "/tmp/logs/tpcd.$1.log"
}

# ctr LU FIELD: that counter of LU after a fresh SIGUSR1 dump.
ctr() {
	rm -f "$COUNTERS"
	kill -USR1 "$TPCD_PID"
	for _ in $(seq 50); do [ -s "$COUNTERS" ] && break; sleep 0.1; done
	awk -v lu="$1" -v f="$2" '$1 == lu { for (i = 2; i <= NF; i++) {
	    split($i, kv, "="); if (kv[1] == f) print kv[2] } }' "$COUNTERS" |
	    head -n 1 | grep . || echo 0
}

# grew LU FIELD BEFORE MIN: the counter went up by at least MIN.
grew() {
	local now
	now=$(ctr "$1" "$2")
	echo "$1 $2: $3 -> $now"
	[ "$now" -ge $(($3 + $4)) ]
}

# ns_sha_is NS LBA NBLK SHA: read the namespace itself (O_DIRECT).
ns_sha_is() { vm_sha_is "$@"; }

section "tpcd, login"
up
show cat "$COUNTERS"

section "basic I/O"
need write-p1 dd if=/tmp/p1 of="$SD0" bs=1M seek=$((1800000 * 512)) \
    oflag=direct,seek_bytes conv=fsync status=none
check read-p1-sd vm_sha_is "$SD0" 1800000 $NBLK "$P1"
check read-p1-ns ns_sha_is "$NS0" 1800000 $NBLK "$P1"
vm_sg_basics "$SG0" $((1024 * 1048576))

section "XCOPY / ODX within the NVMe LUN: NVMe Copy"
PS=$(vm_sha256 "$NS0" 0 $NBLK)
B=$(ctr nv0 nvme)
check sg_xcopy-within sg_xcopy if="$SG0" of="$SG0" bs=512 skip=0 \
    seek=1000000 count=$NBLK
check sg_xcopy-sha ns_sha_is "$NS0" 1000000 $NBLK "$PS"
check sg_xcopy-by-nvme-copy grew nv0 nvme "$B" $((NBLK * 512))
B=$(ctr nv0 nvme)
check ddpt-xcopy-within ddpt --xcopy if="$SG0" of="$SG0" bs=512 skip=0 \
    seek=1010000 count=$NBLK
check ddpt-xcopy-sha ns_sha_is "$NS0" 1010000 $NBLK "$PS"
check ddpt-xcopy-by-nvme-copy grew nv0 nvme "$B" $((NBLK * 512))
# ddpt 0.97 shifts ODX ranges by one byte (see 42-odx.sh): pass LBA/256
B=$(ctr nv0 nvme)
ODX_DST=1020160		# a multiple of 256
check ddpt-odx-within ddpt --odx if="$SG0" of="$SG0" bs=512 \
    skip=0,$((NBLK / 256)) seek=$((ODX_DST / 256)),$((NBLK / 256))
check ddpt-odx-sha ns_sha_is "$NS0" $ODX_DST $NBLK "$PS"
check ddpt-odx-by-nvme-copy grew nv0 nvme "$B" $((NBLK * 512))

section "NVMe <-> fileio: generic paths"
BX=$(ctr nv0 fallback_xdev)
B=$(ctr nv0 nvme)
check xcopy-nvme-to-file sg_xcopy if="$SG0" of="$SG1" bs=512 skip=0 \
    seek=1000 count=$NBLK
check xcopy-nvme-to-file-sha vm_sha_is "$SD1" 1000 $NBLK "$PS"
check xcopy-file-to-nvme sg_xcopy if="$SG1" of="$SG0" bs=512 skip=1000 \
    seek=1030000 count=$NBLK
check xcopy-file-to-nvme-sha ns_sha_is "$NS0" 1030000 $NBLK "$PS"
check file-to-nvme-fallback-xdev grew nv0 fallback_xdev "$BX" 1
check no-nvme-copy-across-exact test "$(ctr nv0 nvme)" = "$B"

section "UNMAP -> Dataset Management"
need fill-unmap dd if=/tmp/p1 of="$SD0" bs=1M seek=$((1040000 * 512)) \
    oflag=direct,seek_bytes conv=fsync status=none
show sg_vpd -p lbpv "$SG0"
check blkdiscard blkdiscard -o $((1040000 * 512)) -l $((NBLK * 512)) "$SD0"
check unmapped-zero-ns ns_sha_is "$NS0" 1040000 $NBLK "$ZERO"
check unmapped-zero-sd vm_sha_is "$SD0" 1040000 $NBLK "$ZERO"
need fill-ws dd if=/tmp/p1 of="$SD0" bs=1M seek=$((1050000 * 512)) \
    oflag=direct,seek_bytes conv=fsync status=none
check write-same-zero sg_write_same --16 --lba=1050000 --num=$NBLK \
    --in=/dev/zero --xferlen=512 "$SG0"
check write-zeroes-ns ns_sha_is "$NS0" 1050000 $NBLK "$ZERO"

section "controller whose Copy always fails: never sent, r/w"
need write-p1-lun2 dd if=/tmp/p1 of="$SD2" bs=1M oflag=direct conv=fsync \
    status=none
BF=$(ctr nv1 fallback_unsupported)
check xcopy-nocopy sg_xcopy if="$SG2" of="$SG2" bs=512 skip=0 seek=60000 \
    count=$NBLK
check xcopy-nocopy-sha ns_sha_is "$NS1" 60000 $NBLK "$P1"
check nocopy-fallback-counted grew nv1 fallback_unsupported "$BF" 1
check nocopy-no-nvme-bytes test "$(ctr nv1 nvme)" = 0
check nocopy-rw-bytes grew nv1 rw 0 $((NBLK * 512))

section "figures: 256 MiB inside the namespace"
B=$(ctr nv0 nvme)
T0=$EPOCHREALTIME
check big-xcopy-nvme sg_xcopy if="$SG0" of="$SG0" bs=512 skip=0 \
    seek=1048576 count=$BIG
T_NVME=$(secs "$T0")
check big-xcopy-nvme-counted grew nv0 nvme "$B" $((BIG * 512))
check big-xcopy-nvme-sha ns_sha_is "$NS0" 1048576 $BIG "$PBIG"
wipe() {	# the 256 MiB destination back to zeroes
	dd if=/dev/zero of="$NS0" bs=1M seek=512 count=256 oflag=direct \
	    status=none
}
# ddpt 0.97 sends every EXTENDED COPY of one call with the first command's
# LBAs (its a_xcopy_lid1_cmd takes the lowest skip/seek LBA, never the
# advancing one), so a call may cover one command (<= 65535 blocks) only:
# 16 calls of 32768 blocks (tests/integration/xcopy_ddpt.c has the details).
ddpt_xcopy_big() {
	local i
	for ((i = 0; i < BIG; i += 32768)); do
		ddpt --xcopy if="$SG0" of="$SG0" bs=512 skip=$i \
		    seek=$((1048576 + i)) count=32768 >/dev/null 2>&1 ||
		    { echo "ddpt --xcopy failed at block $i"; return 1; }
	done
}
need wipe-1 wipe
T0=$EPOCHREALTIME
check big-ddpt-xcopy ddpt_xcopy_big
T_DDPT_XCOPY=$(secs "$T0")
check big-ddpt-xcopy-sha ns_sha_is "$NS0" 1048576 $BIG "$PBIG"
need wipe-2 wipe
T0=$EPOCHREALTIME
check big-ddpt-odx ddpt --odx if="$SG0" of="$SG0" bs=512 \
    skip=0,$((BIG / 256)) seek=$((1048576 / 256)),$((BIG / 256))
T_DDPT_ODX=$(secs "$T0")
check big-ddpt-odx-sha ns_sha_is "$NS0" 1048576 $BIG "$PBIG"
need wipe-3 wipe
T0=$EPOCHREALTIME
check big-ddpt-plain ddpt if="$SD0" of="$SD0" bs=512 bpt=2048 skip=0 \
    seek=1048576 count=$BIG iflag=direct oflag=direct
T_DDPT_PLAIN=$(secs "$T0")
check big-ddpt-plain-sha ns_sha_is "$NS0" 1048576 $BIG "$PBIG"
show cat "$COUNTERS"
down nvme

section "figures: the same XCOPY on the read/write path"
need wipe-4 wipe
up TPCD_COPY_DISABLE=nvme
B=$(ctr nv0 rw)
T0=$EPOCHREALTIME
check big-xcopy-rw sg_xcopy if="$SG0" of="$SG0" bs=512 skip=0 \
    seek=1048576 count=$BIG
T_RW=$(secs "$T0")
check big-xcopy-rw-counted grew nv0 rw "$B" $((BIG * 512))
check big-xcopy-rw-no-nvme test "$(ctr nv0 nvme)" = 0
check big-xcopy-rw-sha ns_sha_is "$NS0" 1048576 $BIG "$PBIG"
down rw

section "a Copy the device fails: COPY ABORTED with forwarded sense"
up TPCD_NVME_COPY_LIMITS=4096,8192,7
out=$(sg_xcopy -vv if="$SG0" of="$SG0" bs=512 skip=0 seek=1100000 \
    count=8192 2>&1)
rc=$?
printf '%s\n' "$out" | tail -n 30
check failed-copy-fails test "$rc" != 0
check failed-copy-aborted grep -qi 'copy aborted' <<<"$out"
# fixed format: byte 8 (SOURCE SENSE DATA OFFSET) or 9 (DESTINATION)
# points at the forwarded sense: HARDWARE ERROR, 44h/00h from Internal Error
# (sg_xcopy -vv does not print the sense bytes; the forwarded sense's
# content is checked by tests/unit/check_copy_nvme)
show grep -iE 'sense|44 00' <<<"$out"
check failed-copy-device-said grep -q 'NVMe Copy .* Internal Error' "$TPCD_LOG"
check failed-copy-counted grew nv0 failures 0 1
down fail

section "figures"
ratio=$(awk -v a="$T_RW" -v b="$T_NVME" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "FIGURE 256 MiB XCOPY (sg_xcopy) inside the namespace: NVMe Copy ${T_NVME} s, read/write path ${T_RW} s, ratio ${ratio}x"
echo "FIGURE 256 MiB ddpt --xcopy (16 ddpt runs) ${T_DDPT_XCOPY} s, ddpt --odx ${T_DDPT_ODX} s, plain ddpt (read+write through the initiator) ${T_DDPT_PLAIN} s"
[ -n "${VM_ARTIFACTS:-}" ] && mkdir -p "$VM_ARTIFACTS" &&
    cp /tmp/logs/* "$VM_ARTIFACTS/" 2>/dev/null
vm_finish
