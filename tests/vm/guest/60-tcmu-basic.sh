#!/bin/bash
# First TCMU smoke test: two LIO user: backstores for tpcd created through
# configfs before tpcd starts (one file= image, one tpcd storage object),
# tpcd attaches them, LIO's iSCSI target exports them on 127.0.0.1:3260,
# open-iscsi logs in.  INQUIRY / VPD 80h / 83h show LIO's unit serial and
# NAA (the same 16 bytes LIO's own fileio LUNs use); dd I/O is verified by
# SHA-256; sg_xcopy (EXTENDED COPY LID1) copies between the two tpcd
# devices and the destination is verified.  The acceptance tests are
# 61-63 (TCMU-TEST).
# vm-options: -t 600
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"
. "$VM_SRC/tests/vm/tcmu-lib.sh"

IQN=iqn.2026-11.org.tpcd.vm:tcmu-basic
SIZE=$((256 << 20))
NBLK=2048	# 1 MiB
CONF=/tmp/tpcd-tcmu.json
S0=$(tcmu_uuid) S1=$(tcmu_uuid)

section "user: devices for tpcd (configfs, before anything talks netlink)"
need modules tcmu_modules
need dev-b0 tcmu_dev_create 1 b0 file=/scratch/b0.img $SIZE "$S0"
need dev-b1 tcmu_dev_create 1 b1 so1 $SIZE "$S1"
show grep -H . /sys/class/uio/uio*/name

section "tpcd"
tcmu_tpcd_conf "$CONF" so1 /scratch/so1.img $SIZE
need tpcd-start tpcd_start -c "$CONF"
need attach-b0 tcmu_attached 1 b0
need attach-b1 tcmu_attached 1 b1
check sparse-file test -f /scratch/b0.img

section "LIO iSCSI export, open-iscsi login"
need lio-target lio_target "$IQN" demo
need lio-lun0 lio_lun "$IQN" 0 user_1/b0
need lio-lun1 lio_lun "$IQN" 1 user_1/b1
need discovery vm_iscsi_discover "$IQN"
need login vm_iscsi_login "$IQN" 2
read -r SD0 SG0 < <(vm_lun_dev "$IQN" 0)
read -r SD1 SG1 < <(vm_lun_dev "$IQN" 1)
show lsscsi -g

section "identity"
show sg_inq "$SG0"
show sg_vpd -p 0x83 "$SG0"
check inq-vendor bash -c "sg_inq '$SG0' | grep -q 'Vendor identification: LIO-ORG'"
check vpd80-serial bash -c "sg_vpd -p 0x80 '$SG0' | grep -qF '$S0'"
check vpd80-serial-b1 bash -c "sg_vpd -p 0x80 '$SG1' | grep -qF '$S1'"
# LIO's NAA: 6 001405 then the first hex digits of the serial
naa0="0x6001405$(printf '%s' "$S0" | tr -d '-' | cut -c1-9)"
check vpd83-naa bash -c "sg_vpd -p 0x83 '$SG0' | grep -qi '$naa0'"
check readcap bash -c "sg_readcap -l '$SG0' | grep -q 'Device size: $SIZE bytes'"
check block-limits sg_vpd -p 0xb0 "$SG0"

section "dd I/O"
head -c $((NBLK * 512)) /dev/urandom >/tmp/pattern0
P0=$(sha256sum </tmp/pattern0 | cut -c1-64)
need write-b0 dd if=/tmp/pattern0 of="$SD0" bs=1M oflag=direct conv=fsync \
    status=none
check read-b0 vm_sha_is "$SD0" 0 $NBLK "$P0"
check unaligned-io bash -c "dd if=/tmp/pattern0 of='$SD0' bs=4k count=3 \
    seek=1001 oflag=direct status=none &&
    cmp <(dd if='$SD0' bs=4k skip=1001 count=3 iflag=direct status=none) \
    <(head -c 12288 /tmp/pattern0)"

section "EXTENDED COPY between the two tpcd devices"
check sg_xcopy sg_xcopy if="$SG0" of="$SG1" bs=512 seek=4096 count=$NBLK
check sg_xcopy-sha256 vm_sha_is "$SD1" 4096 $NBLK "$P0"
check sg_xcopy-within sg_xcopy if="$SG0" of="$SG0" bs=512 seek=8192 \
    count=$NBLK
check sg_xcopy-within-sha256 vm_sha_is "$SD0" 8192 $NBLK "$P0"

section "stop"
need logout vm_iscsi_logout "$IQN"
check tpcd-stop tpcd_stop
show tail -n 30 "$TPCD_LOG"
vm_finish
