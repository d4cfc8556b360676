#!/bin/bash
# The block backstore on real guest block devices: the virtio disk behind
# /scratch (unmounted for the test) as LUN 0, a loop device as LUN 1 and a
# read-only loop device as LUN 2.  Checks: size and logical block size come
# from the device; data written through the kernel initiator lands on the
# virtio disk (read back from the disk itself); XFS round trip; blkdiscard
# and sg_write_same --unmap reach the virtio disk (the range reads zero
# from the disk itself) and deallocate on the loop device (its backing
# file shrinks);
# WRITE SAME with a zero block reaches it as write-zeroes or zero writes;
# SYNCHRONIZE CACHE; EXTENDED COPY between the two block LUs verified by
# SHA-256; the read-only device is write protected (WP bit, writes fail).
# vm-options: -t 600 -d 1024
set -u
TPCD_STATE=/tmp/tpcd
. "$VM_SRC/tests/vm/guest-lib.sh"

IQN=iqn.2026-11.org.tpcd:blk
ZERO_1M=$(head -c 1M /dev/zero | sha256sum | cut -c1-64)

section "devices"
VDEV=$(findmnt -n -o SOURCE "${VM_SCRATCH:-/scratch}")
need scratch-device test -b "$VDEV"
need umount-scratch umount "${VM_SCRATCH:-/scratch}"
VNAME=${VDEV#/dev/}
VBYTES=$(blockdev --getsize64 "$VDEV")
echo "$VDEV: $VBYTES bytes, logical block $(blockdev --getss "$VDEV")"
modprobe loop 2>/dev/null
truncate -s 256M /tmp/loop1.img
truncate -s 64M /tmp/loop2.img
LOOP1=$(losetup -f --show /tmp/loop1.img)
need loop1 test -b "$LOOP1"
LOOP2=$(losetup -r -f --show /tmp/loop2.img)
need loop2-ro test -b "$LOOP2"

cat >/tmp/blk.json <<JSON
{
  "storage_objects": [
    { "plugin": "block", "name": "vdisk", "dev": "$VDEV" },
    { "plugin": "block", "name": "loop1", "dev": "$LOOP1" },
    { "plugin": "block", "name": "loop2", "dev": "$LOOP2" }
  ],
  "targets": [ { "wwn": "$IQN", "fabric": "iscsi", "tpgs": [ {
    "tag": 1, "enable": true,
    "attributes": { "authentication": 0, "generate_node_acls": 1,
                    "demo_mode_write_protect": 0 },
    "portals": [ { "ip_address": "127.0.0.1", "port": 3260 } ],
    "luns": [
      { "index": 0, "storage_object": "/backstores/block/vdisk" },
      { "index": 1, "storage_object": "/backstores/block/loop1" },
      { "index": 2, "storage_object": "/backstores/block/loop2" } ],
    "node_acls": [] } ] } ]
}
JSON

section "tpcd, login"
need tpcd-start tpcd_start -c /tmp/blk.json
need discovery vm_iscsi_discover "$IQN"
need login vm_iscsi_login "$IQN" 3
read -r SD0 SG0 < <(vm_lun_dev "$IQN" 0)
read -r SD1 SG1 < <(vm_lun_dev "$IQN" 1)
read -r SD2 SG2 < <(vm_lun_dev "$IQN" 2)
vm_sg_basics "$SG0" "$VBYTES"
check size-lun1 bash -c "sg_readcap -l '$SG1' | grep -q 'Device size: 268435456 bytes'"
check block-size-from-device bash -c "sg_readcap -l '$SG0' |
    grep -q 'Logical block length=$(blockdev --getss "$VDEV") bytes'"

section "data reaches the virtio disk"
head -c 4M /dev/urandom >/tmp/pat
need write-lun0 dd if=/tmp/pat of="$SD0" bs=1M seek=16 oflag=direct \
    conv=fsync status=none
check on-disk bash -c "dd if='$VDEV' bs=1M skip=16 count=4 iflag=direct \
    status=none | cmp - /tmp/pat"
check sync-cache sg_sync "$SG0"

# The virtio disk has write-zeroes, so UNMAP is a deallocating write-zeroes
# request (fallocate PUNCH_HOLE on the device) and LBPRZ holds: the range
# reads back zero from the disk itself.
section "UNMAP on the virtio disk"
show cat "/sys/block/$VNAME/queue/discard_max_bytes" \
    "/sys/block/$VNAME/queue/write_zeroes_max_bytes"
check lbprz bash -c "sg_readcap -l '$SG0' | grep -q 'lbprz=1'"
check blkdiscard blkdiscard -o $((16 << 20)) -l $((4 << 20)) "$SD0"
check blkdiscard-zeroes bash -c "dd if='$VDEV' bs=1M skip=16 count=1 \
    iflag=direct status=none | sha256sum | grep -q '^$ZERO_1M'"
need write-again dd if=/tmp/pat of="$SD0" bs=1M seek=32 count=1 \
    oflag=direct conv=fsync status=none
check write_same-unmap sg_write_same --unmap --lba=$((32 * 2048)) \
    --num=2048 "$SG0"
check write_same-unmap-zeroes bash -c "dd if='$VDEV' bs=1M skip=32 \
    count=1 iflag=direct status=none | sha256sum | grep -q '^$ZERO_1M'"

# On the loop device the deallocation is visible: the loop driver punches
# a hole in its backing file, whose allocation shrinks.
section "UNMAP on the loop device deallocates"
need write-lun1 dd if=/dev/urandom of="$SD1" bs=1M seek=64 count=8 \
    oflag=direct conv=fsync status=none
A=$(vm_alloc_kib /tmp/loop1.img)
check blkdiscard-lun1 blkdiscard -o $((64 << 20)) -l $((8 << 20)) "$SD1"
sync
N=$(vm_alloc_kib /tmp/loop1.img)
echo "/tmp/loop1.img: $A KiB allocated before, $N KiB after"
check blkdiscard-lun1-dealloc test $((A - N)) -ge 8192

section "WRITE SAME of zeroes"
need write-1m dd if=/tmp/pat of="$SD0" bs=1M seek=40 count=1 \
    oflag=direct conv=fsync status=none
head -c 512 /dev/zero >/tmp/zblk
check write_same-zero sg_write_same --16 --in=/tmp/zblk --lba=$((40 * 2048)) \
    --num=2048 "$SG0"
check write_same-zero-data bash -c "dd if='$VDEV' bs=1M skip=40 count=1 \
    iflag=direct status=none | sha256sum | grep -q '^$ZERO_1M'"

section "XFS on the virtio LU"
modprobe xfs
mkdir -p "$VM_MNT"
need mkfs.xfs mkfs.xfs -f -q "$SD0"
need mount-xfs mount -t xfs "$SD0" "$VM_MNT"
check fs-write vm_fs_write
need umount umount "$VM_MNT"
check xfs_repair-n xfs_repair -n "$SD0"
check xfs_repair-n-on-device xfs_repair -n "$VDEV"
need mount-again mount -t xfs "$SD0" "$VM_MNT"
check fs-verify vm_fs_verify
need umount-again umount "$VM_MNT"

section "EXTENDED COPY between block LUs"
need pattern-lun1 dd if=/tmp/pat of="$SD1" bs=1M oflag=direct \
    conv=fsync status=none
P=$(sha256sum </tmp/pat | cut -c1-64)
check xcopy-lun1-to-lun0 sg_xcopy if="$SG1" of="$SG0" bs=512 \
    count=8192 seek=$((128 * 2048))
check xcopy-data vm_sha_is "$SD0" $((128 * 2048)) 8192 "$P"
check xcopy-on-disk bash -c "dd if='$VDEV' bs=1M skip=128 count=4 \
    iflag=direct status=none | cmp - /tmp/pat"
check ddpt-xcopy-lun0-to-lun1 ddpt if="$SG0" of="$SG1" bs=512 \
    skip=$((128 * 2048)) seek=65536 count=8192 --xcopy
check ddpt-xcopy-data vm_sha_is "$SD1" 65536 8192 "$P"

section "read-only device"
check wp-bit bash -c "sg_modes -p 0x3f '$SG2' | grep -qi 'WP=1'"
fails write-ro dd if=/tmp/pat of="$SD2" bs=1M count=1 oflag=direct \
    status=none
ro_sense() {	# WRITE(10) of one block: DATA PROTECT, WRITE PROTECTED
	local out
	out=$(sg_raw -s 512 -i /tmp/zblk "$SG2" 2a 00 00 00 00 00 00 00 01 00 2>&1)
	echo "$out"
	grep -qi 'data protect' <<<"$out" && grep -qi 'write protected' <<<"$out"
}
check write-ro-data-protect ro_sense

section "stop"
need logout vm_iscsi_logout "$IQN"
check tpcd-stop tpcd_stop
losetup -d "$LOOP1" "$LOOP2"
vm_finish
