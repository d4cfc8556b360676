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
# Every descriptor of page 0x8f must be decoded: no error, nothing
# "unknown", "reserved" or "truncated", and each descriptor's heading.
vpd8f() {
	local out err rc d
	out=$(sg_vpd -p 0x8f "$SG0" 2>/tmp/vpd8f.err)
	rc=$?
	err=$(cat /tmp/vpd8f.err)
	printf '%s\n' "$out"
	[ -z "$err" ] || { echo "stderr: $err"; return 1; }
	[ "$rc" = 0 ] || return 1
	if grep -Ei 'unknown|reserved|truncat|error|bad' <<<"$out"; then
		echo "sg_vpd could not decode the lines above"
		return 1
	fi
	for d in 'Block Device ROD Token Limits' 'Supported commands' \
	    'Parameter data' 'Supported descriptors' 'Supported CSCD IDs' \
	    'ROD token features' 'Supported ROD token and ROD types' \
	    'General copy operations' 'Held data'; do
		grep -q "^ $d" <<<"$out" || { echo "no '$d'"; return 1; }
	done
}
check sg_vpd-0x8f-decoded vpd8f
check sg_vpd-0x8f-lun1 sg_vpd -p 0x8f "$SG1"
check sg_copy_results-params sg_copy_results --params "$SG0"
need logout vm_iscsi_logout "$IQN"

section "stop"
check tpcd-stop tpcd_stop
vm_finish
