#!/bin/bash
# EXTENDED COPY (LID1) sent by sg_xcopy and ddpt to tpcd, within LUN 0 and
# between LUN 0 and LUN 1, with each LIST ID USAGE the tools offer
# (id_usage=hold|discard|disable).  Every copy goes to a range that was
# never written (zeroes), and is verified by the SHA-256 of the destination
# range.  A held list ID's status must be readable with sg_copy_results; a
# discarded one's must not.
# vm-options: -t 600
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"

NBLK=2048	# 1 MiB

section "tpcd, login"
tpcd_default_login

section "patterns"
head -c $((NBLK * 512)) /dev/urandom >/tmp/pattern0
head -c $((NBLK * 512)) /dev/urandom >/tmp/pattern1
P0=$(sha256sum </tmp/pattern0 | cut -c1-64)
P1=$(sha256sum </tmp/pattern1 | cut -c1-64)
need write-pattern-lun0 dd if=/tmp/pattern0 of="$SD0" bs=1M oflag=direct \
    conv=fsync status=none
need write-pattern-lun1 dd if=/tmp/pattern1 of="$SD1" bs=1M oflag=direct \
    conv=fsync status=none
check pattern-lun0 vm_sha_is "$SD0" 0 $NBLK "$P0"
check pattern-lun1 vm_sha_is "$SD1" 0 $NBLK "$P1"

# xc NAME SHA DST_SD DST_LBA TOOL ARGS...: one copy, then its verification.
xc() {
	local name=$1 sha=$2 sd=$3 lba=$4
	shift 4
	check "$name" "$@" &&
	    check "$name-sha256" vm_sha_is "$sd" "$lba" $NBLK "$sha"
}

# status_held SG LIST_ID: RECEIVE COPY STATUS(LID1) reports success and
# the whole 1 MiB for that list ID.
status_held() {
	local out
	out=$(sg_copy_results --status --list_id="$2" "$1") || return 1
	printf '%s\n' "$out"
	grep -q 'completed without errors' <<<"$out" &&
	    grep -q "Transfer count: $((NBLK * 512))" <<<"$out"
}

section "sg_xcopy"
xc sg_xcopy-hold-within "$P0" "$SD0" 100000 \
    sg_xcopy if="$SG0" of="$SG0" bs=512 seek=100000 count=$NBLK \
    id_usage=hold list_id=5
check sg_xcopy-hold-status status_held "$SG0" 5
xc sg_xcopy-discard-within "$P0" "$SD0" 110000 \
    sg_xcopy if="$SG0" of="$SG0" bs=512 seek=110000 count=$NBLK \
    id_usage=discard list_id=6
fails sg_xcopy-discard-no-status sg_copy_results --status --list_id=6 "$SG0"
xc sg_xcopy-disable-within "$P0" "$SD0" 120000 \
    sg_xcopy if="$SG0" of="$SG0" bs=512 seek=120000 count=$NBLK \
    id_usage=disable
xc sg_xcopy-hold-between "$P0" "$SD1" 100000 \
    sg_xcopy if="$SG0" of="$SG1" bs=512 seek=100000 count=$NBLK \
    id_usage=hold list_id=9
check sg_xcopy-hold-between-status status_held "$SG1" 9
xc sg_xcopy-discard-between "$P0" "$SD1" 110000 \
    sg_xcopy if="$SG0" of="$SG1" bs=512 seek=110000 count=$NBLK \
    id_usage=discard list_id=10
xc sg_xcopy-disable-between "$P0" "$SD1" 120000 \
    sg_xcopy if="$SG0" of="$SG1" bs=512 seek=120000 count=$NBLK \
    id_usage=disable
xc sg_xcopy-lun1-to-lun0 "$P1" "$SD0" 130000 \
    sg_xcopy if="$SG1" of="$SG0" bs=512 seek=130000 count=$NBLK
xc sg_xcopy-on-src "$P1" "$SD0" 140000 \
    sg_xcopy --on_src if="$SG1" of="$SG0" bs=512 seek=140000 count=$NBLK

section "ddpt --xcopy"
xc ddpt-xcopy-hold-within "$P0" "$SD0" 200000 \
    ddpt --xcopy if="$SG0" of="$SG0" bs=512 seek=200000 count=$NBLK \
    id_usage=hold list_id=7
check ddpt-xcopy-hold-status status_held "$SG0" 7
xc ddpt-xcopy-discard-within "$P0" "$SD0" 210000 \
    ddpt --xcopy if="$SG0" of="$SG0" bs=512 seek=210000 count=$NBLK \
    id_usage=discard list_id=8
fails ddpt-xcopy-discard-no-status sg_copy_results --status --list_id=8 "$SG0"
xc ddpt-xcopy-disable-within "$P0" "$SD0" 220000 \
    ddpt --xcopy if="$SG0" of="$SG0" bs=512 seek=220000 count=$NBLK \
    id_usage=disable
xc ddpt-xcopy-hold-between "$P0" "$SD1" 200000 \
    ddpt --xcopy if="$SG0" of="$SG1" bs=512 seek=200000 count=$NBLK \
    id_usage=hold list_id=11
check ddpt-xcopy-hold-between-status status_held "$SG1" 11
xc ddpt-xcopy-discard-between "$P0" "$SD1" 210000 \
    ddpt --xcopy if="$SG0" of="$SG1" bs=512 seek=210000 count=$NBLK \
    id_usage=discard list_id=12
xc ddpt-xcopy-disable-between "$P0" "$SD1" 220000 \
    ddpt --xcopy if="$SG0" of="$SG1" bs=512 seek=220000 count=$NBLK \
    id_usage=disable
xc ddpt-xcopy-default-lun1-to-lun0 "$P1" "$SD0" 230000 \
    ddpt --xcopy if="$SG1" of="$SG0" bs=512 seek=230000 count=$NBLK
xc ddpt-oflag-xcopy "$P0" "$SD1" 300000 \
    ddpt if="$SD0" of="$SD1" bs=512 skip=0 seek=300000 count=$NBLK oflag=xcopy
check sources-untouched vm_sha_is "$SD0" 0 $NBLK "$P0"
check sg_copy_results-params sg_copy_results --params "$SG0"
need logout vm_iscsi_logout "$IQN"

section "stop"
check tpcd-stop tpcd_stop
vm_finish
