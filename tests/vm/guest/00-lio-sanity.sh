#!/bin/bash
# Harness sanity test: the same checks as the tpcd tests (10-, 20-, 21-),
# run against the kernel's own iSCSI target (LIO, configured with
# targetcli) instead of tpcd.  If this fails, the harness or the guest image
# is broken, not tpcd.
# vm-options: -t 600
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"

IQN=iqn.2003-01.org.linux-iscsi.tpcd-vm:lio
SIZE=1073741824
CHAP_USER=vmuser
CHAP_SECRET=vm-secret-1234
TGT_USER=vmtarget
TGT_SECRET=vm-tgt-secret-99

lio() {	# lio: targetcli commands from stdin, in one process
	targetcli 2>&1
}

# One targetcli run (python start-up alone takes 10-30 s under TCG) sets
# everything up, including a node ACL with CHAP secrets that only count once
# the TPG's authentication attribute is switched on (through configfs).
TPG=/sys/kernel/config/target/iscsi/$IQN/tpgt_1

section "LIO target on $VM_PORTAL: 2 fileio LUNs of 1 GiB"
need lio-modules modprobe -a target_core_mod target_core_file iscsi_target_mod
need lio-create lio <<LIOEOF
/backstores/fileio create name=disk0 file_or_dev=/scratch/disk0.img size=1G write_back=false
/backstores/fileio create name=disk1 file_or_dev=/scratch/disk1.img size=1G write_back=false
/iscsi create $IQN
/iscsi/$IQN/tpg1/portals delete 0.0.0.0 3260
/iscsi/$IQN/tpg1/portals create ${VM_PORTAL%:*} ${VM_PORTAL#*:}
/iscsi/$IQN/tpg1/luns create /backstores/fileio/disk0
/iscsi/$IQN/tpg1/luns create /backstores/fileio/disk1
/iscsi/$IQN/tpg1 set attribute authentication=0 demo_mode_write_protect=0 generate_node_acls=1 cache_dynamic_acls=1
/iscsi/$IQN/tpg1/acls create $VM_INITIATOR
/iscsi/$IQN/tpg1/acls/$VM_INITIATOR set auth userid=$CHAP_USER password=$CHAP_SECRET mutual_userid=$TGT_USER mutual_password=$TGT_SECRET
LIOEOF

section "open-iscsi discovery and login"
need discovery vm_iscsi_discover "$IQN"
need login vm_iscsi_login "$IQN" 2
read -r SD0 SG0 < <(vm_lun_dev "$IQN" 0)
read -r SD1 _ < <(vm_lun_dev "$IQN" 1)
show lsscsi -g

section "sg3_utils on LUN 0"
vm_sg_basics "$SG0" "$SIZE" no-opcodes	# LIO 6.1 has no RSOC

section "block I/O on LUN 1"
vm_lun_io "$SD1" "$SD0"

section "XFS round trip on LUN 0"
vm_fs_roundtrip "$IQN" 2
need logout vm_iscsi_logout "$IQN"

section "CHAP (one-way)"
need lio-chap bash -c "echo 0 >$TPG/attrib/generate_node_acls && echo 1 >$TPG/attrib/authentication"
check chap-no-auth-refused-setup vm_iscsi_auth "$IQN" none
fails chap-no-auth-refused vm_iscsi_login "$IQN"
check chap-bad-secret-setup vm_iscsi_auth "$IQN" chap "$CHAP_USER" wrong-secret-123
fails chap-bad-secret-refused vm_iscsi_login "$IQN"
check chap-setup vm_iscsi_auth "$IQN" chap "$CHAP_USER" "$CHAP_SECRET"
need chap-login vm_iscsi_login "$IQN" 2
read -r SD0 SG0 < <(vm_lun_dev "$IQN" 0)
read -r SD1 _ < <(vm_lun_dev "$IQN" 1)
vm_lun_io "$SD0" "$SD1"
need chap-logout vm_iscsi_logout "$IQN"

section "CHAP (mutual)"
check mutual-bad-target-secret-setup vm_iscsi_auth "$IQN" chap "$CHAP_USER" "$CHAP_SECRET" "$TGT_USER" wrong-tgt-secret-1
fails mutual-bad-target-secret-refused vm_iscsi_login "$IQN"
check mutual-setup vm_iscsi_auth "$IQN" chap "$CHAP_USER" "$CHAP_SECRET" "$TGT_USER" "$TGT_SECRET"
need mutual-login vm_iscsi_login "$IQN" 2
read -r SD0 SG0 < <(vm_lun_dev "$IQN" 0)
check mutual-io bash -c "dd if='$SD0' bs=1M count=1 iflag=direct status=none | wc -c | grep -qx 1048576"
need mutual-logout vm_iscsi_logout "$IQN"

vm_finish
