#!/bin/bash
# EXTENDED COPY (LID1) sent by sg_xcopy and ddpt to tpcd, within LUN 0 and
# from LUN 0 to LUN 1, each copy checked by reading the destination back.
# vm-options: -t 600
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"

NBLK=2048	# 1 MiB

section "tpcd, login"
tpcd_default_login

section "EXTENDED COPY (LID1)"
head -c $((NBLK * 512)) /dev/urandom >/tmp/pattern
need write-pattern dd if=/tmp/pattern of="$SD0" bs=1M oflag=direct \
    conv=fsync status=none
check sg_xcopy sg_xcopy if="$SG0" of="$SG0" bs=512 skip=0 seek=100000 count=$NBLK
check sg_xcopy-verify vm_same "$SD0" 100000 /tmp/pattern
check ddpt-xcopy ddpt --xcopy if="$SG0" of="$SG1" bs=512 skip=0 seek=200000 count=$NBLK
check ddpt-xcopy-verify vm_same "$SD1" 200000 /tmp/pattern
check ddpt-oflag-xcopy ddpt if="$SD0" of="$SD1" bs=512 skip=0 seek=300000 count=$NBLK oflag=xcopy
check ddpt-oflag-xcopy-verify vm_same "$SD1" 300000 /tmp/pattern
show sg_copy_results --status --list_id=1 "$SG0"
need logout vm_iscsi_logout "$IQN"

section "stop"
check tpcd-stop tpcd_stop
vm_finish
