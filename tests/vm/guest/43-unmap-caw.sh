#!/bin/bash
# Thin provisioning and COMPARE AND WRITE against tpcd's default target
# (file backstores on the guest's ext4 scratch disk): blkdiscard, fstrim on
# a mounted XFS and sg_write_same --unmap must reach the backing file (its
# allocated size shrinks) and the unmapped blocks read back as zeroes
# (LBPRZ); WRITE SAME without UNMAP; sg_compare_and_write that matches
# (data written) and that does not (MISCOMPARE, data kept).
# vm-options: -t 600
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"

LUN0_IMG=$TPCD_STATE/lun0.img
LUN1_IMG=$TPCD_STATE/lun1.img
ZERO_1M=$(head -c 1M /dev/zero | sha256sum | cut -c1-64)

section "tpcd, login"
tpcd_default_login
check lbp-vpd bash -c "sg_vpd -p 0xb2 '$SG0' | grep -q 'LBPU): 1'"
show cat "/sys/block/${SD0#/dev/}/queue/discard_max_bytes"

# shrunk FILE BEFORE_KIB MIN_KIB: FILE's allocation fell by MIN_KIB or more.
shrunk() {
	local now
	now=$(vm_alloc_kib "$1")
	echo "$1: $2 KiB allocated before, $now KiB now"
	[ $(($2 - now)) -ge "$3" ]
}

section "blkdiscard (UNMAP) on LUN 0"
need write-8m dd if=/dev/urandom of="$SD0" bs=1M seek=64 count=8 \
    oflag=direct conv=fsync status=none
A=$(vm_alloc_kib "$LUN0_IMG")
check blkdiscard blkdiscard -o $((64 << 20)) -l $((8 << 20)) "$SD0"
check blkdiscard-dealloc shrunk "$LUN0_IMG" "$A" 8192
check blkdiscard-zeroes vm_sha_is "$SD0" $((64 * 2048)) 2048 "$ZERO_1M"

section "sg_write_same --unmap on LUN 0"
need write-1m dd if=/dev/urandom of="$SD0" bs=1M seek=80 count=1 \
    oflag=direct conv=fsync status=none
A=$(vm_alloc_kib "$LUN0_IMG")
check write_same-unmap sg_write_same --unmap --lba=$((80 * 2048)) \
    --num=2048 "$SG0"
check write_same-unmap-dealloc shrunk "$LUN0_IMG" "$A" 1024
check write_same-unmap-zeroes vm_sha_is "$SD0" $((80 * 2048)) 2048 "$ZERO_1M"

section "sg_write_same (data) on LUN 0"
head -c 512 /dev/urandom >/tmp/blk
for _ in $(seq 64); do cat /tmp/blk; done >/tmp/blk64
check write_same-16 sg_write_same --16 --in=/tmp/blk --lba=200000 --num=64 \
    "$SG0"
check write_same-data vm_same "$SD0" 200000 /tmp/blk64

section "fstrim on XFS (LUN 1)"
modprobe xfs
mkdir -p "$VM_MNT"
need mkfs.xfs-nodiscard mkfs.xfs -f -q -K "$SD1"
need mount-xfs mount -t xfs "$SD1" "$VM_MNT"
need fill-64m dd if=/dev/urandom of="$VM_MNT/fill" bs=1M count=64 \
    conv=fsync status=none
sync
A=$(vm_alloc_kib "$LUN1_IMG")
check rm-fill rm "$VM_MNT/fill"
sync
check fstrim fstrim -v "$VM_MNT"
check fstrim-dealloc shrunk "$LUN1_IMG" "$A" 32768
need umount umount "$VM_MNT"
check xfs_repair-n xfs_repair -n "$SD1"

section "COMPARE AND WRITE on LUN 0"
head -c 512 /dev/urandom >/tmp/old
head -c 512 /dev/urandom >/tmp/new
cat /tmp/old /tmp/new >/tmp/cw
need write-old dd if=/tmp/old of="$SD0" bs=512 seek=300000 oflag=direct \
    conv=fsync status=none
check caw-match sg_compare_and_write --in=/tmp/cw --lba=300000 --num=1 "$SG0"
check caw-match-wrote vm_same "$SD0" 300000 /tmp/new
caw_mismatch() {	# must fail with sg3_utils' MISCOMPARE status (14)
	sg_compare_and_write --in=/tmp/cw --lba=300000 --num=1 "$SG0"
	local rc=$?
	echo "exit $rc"
	[ "$rc" = 14 ]
}
check caw-mismatch caw_mismatch
check caw-mismatch-kept vm_same "$SD0" 300000 /tmp/new
need logout vm_iscsi_logout "$IQN"

section "stop"
check tpcd-stop tpcd_stop
vm_finish
