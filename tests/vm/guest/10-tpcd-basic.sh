#!/bin/bash
# tpcd with its built-in default configuration (target
# iqn.2026-11.org.tpcd:default, LUN 0 and 1 on 1 GiB sparse files, open to
# every initiator) and the kernel's iSCSI initiator: discovery, login,
# sg3_utils, block I/O, an XFS round trip across logout/login, clean stop.
# vm-options: -t 600
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"

IQN=iqn.2026-11.org.tpcd:default
SIZE=1073741824

section "tpcd (default configuration)"
need tpcd-start tpcd_start

section "open-iscsi discovery and login"
need discovery vm_iscsi_discover "$IQN"
need login vm_iscsi_login "$IQN" 2
read -r SD0 SG0 < <(vm_lun_dev "$IQN" 0)
read -r SD1 SG1 < <(vm_lun_dev "$IQN" 1)
show lsscsi -g
show iscsiadm -m session -P 2

section "sg3_utils on LUN 0 and 1"
vm_sg_basics "$SG0" "$SIZE"
check sg_readcap-lun1 bash -c "sg_readcap -l '$SG1' | grep -q 'Device size: $SIZE bytes'"

section "block I/O on LUN 1"
vm_lun_io "$SD1" "$SD0"

section "XFS round trip on LUN 0"
vm_fs_roundtrip "$IQN" 2
need logout vm_iscsi_logout "$IQN"

section "stop"
check tpcd-stop tpcd_stop
vm_finish
