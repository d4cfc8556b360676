#!/bin/bash
# Third-party copy discovery through sg3_utils against tpcd's default
# target: 3PC bit, Third Party Copy VPD page (0x8f) listed and readable,
# RECEIVE COPY OPERATING PARAMETERS.
# vm-options: -t 600
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"

section "tpcd, login"
tpcd_default_login

section "third-party copy discovery"
check inquiry-3pc bash -c "sg_inq '$SG0' | grep -q '3PC=1'"
check vpd-list-0x8f bash -c "sg_vpd -p 0x00 '$SG0' | grep -qi 'third party copy'"
check sg_vpd-0x8f sg_vpd -p 0x8f "$SG0"
check sg_copy_results-params sg_copy_results --params "$SG0"
need logout vm_iscsi_logout "$IQN"

section "stop"
check tpcd-stop tpcd_stop
vm_finish
