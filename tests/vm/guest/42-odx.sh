#!/bin/bash
# Listed in expected-failures.txt until ODX exists (issue 5): POPULATE TOKEN / WRITE USING TOKEN
# sent by ddpt --odx and ddptctl to tpcd, within LUN 0 and from LUN 0 to
# LUN 1, each copy checked by reading the destination back.
# vm-options: -t 600
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"

NBLK=2048	# 1 MiB

section "tpcd, login"
tpcd_default_login

section "ODX"
head -c $((NBLK * 512)) /dev/urandom >/tmp/pattern
need write-pattern dd if=/tmp/pattern of="$SD0" bs=1M oflag=direct \
    conv=fsync status=none
check ddpt-odx ddpt --odx if="$SG0" of="$SG0" bs=512 skip=0 seek=100000 count=$NBLK
check ddpt-odx-verify vm_same "$SD0" 100000 /tmp/pattern
check ddpt-odx-lun1 ddpt --odx if="$SG0" of="$SG1" bs=512 skip=0 seek=200000 count=$NBLK
check ddpt-odx-lun1-verify vm_same "$SD1" 200000 /tmp/pattern
check ddptctl-pt ddptctl --pt=0,$NBLK --rtf=/tmp/rod.tok "$SG0"
check ddptctl-wut ddptctl --wut=300000,$NBLK --rtf=/tmp/rod.tok "$SG1"
check ddptctl-wut-verify vm_same "$SD1" 300000 /tmp/pattern
need logout vm_iscsi_logout "$IQN"

section "stop"
check tpcd-stop tpcd_stop
vm_finish
