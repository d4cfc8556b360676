#!/bin/bash
# tpcd behind LIO: three user: backstores served by tpcd's TCMU front end
# (created through configfs before tpcd starts), exported by LIO's own
# iSCSI target on 127.0.0.1:3260 (tpcd's own listener is on 3261), used
# through open-iscsi.  XFS round trip; EXTENDED COPY (sg_xcopy, ddpt
# --xcopy with every LIST ID USAGE), ODX (ddpt --odx, ddptctl PT/RRTI/WUT,
# the zero token) between the two LUNs of one target, each copy verified by
# SHA-256.  Copy scope: the third device is exported by another target to
# an ACL that cannot reach the source, so copies toward it are refused
# with COPY ABORTED, until that ACL is given the source too (the scope is
# re-read at each copy command).
# ddpt 0.97 range bug: see 42-odx.sh (rng below).
# vm-options: -t 900
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"
. "$VM_SRC/tests/vm/tcmu-lib.sh"

IQN=iqn.2026-11.org.tpcd.vm:tcmu-copy
IQNB=iqn.2026-11.org.tpcd.vm:tcmu-other
GIB=1073741824
NBLK=2048	# 1 MiB; LBAs below are multiples of 256
CONF=/tmp/tpcd-tcmu.json
S0=$(tcmu_uuid) S1=$(tcmu_uuid)

rng() {	# rng LBA NUM: the ddpt 0.97 argument that reaches tpcd as LBA,NUM
	echo "$(($1 / 256)),$(($2 / 256))"
}

section "user: devices for tpcd through configfs (tpcd not running yet)"
need modules tcmu_modules
need dev-d0 tcmu_dev_create 1 d0 file=/scratch/d0.img $GIB "$S0"
need dev-d1 tcmu_dev_create 1 d1 so1 $GIB "$S1"
truncate -s 256M /scratch/d2.img
need dev-d2 tcmu_dev_create 2 d2 file=/scratch/d2.img $((256 << 20))
show grep -H . /sys/class/uio/uio*/name

section "tpcd (TCMU on, own iSCSI listener on 127.0.0.1:$TCMU_OWN_PORT)"
tcmu_tpcd_conf "$CONF" so1 /scratch/so1.img 1G
need tpcd-start tpcd_start -c "$CONF"
need attach-d0 tcmu_attached 1 d0
need attach-d1 tcmu_attached 1 d1
need attach-d2 tcmu_attached 2 d2

section "LIO iSCSI: $IQN (demo mode: d0, d1), $IQNB (ACL: d2 only)"
need lio-target lio_target "$IQN" demo
need lio-lun0 lio_lun "$IQN" 0 user_1/d0
need lio-lun1 lio_lun "$IQN" 1 user_1/d1
need lio-target-b lio_target "$IQNB" acl
need lio-lun-b lio_lun "$IQNB" 0 user_2/d2
need lio-acl-b lio_acl "$IQNB" "$VM_INITIATOR" 0 0
need discovery vm_iscsi_discover "$IQN"
need login vm_iscsi_login "$IQN" 2
need login-b vm_iscsi_login "$IQNB" 1
read -r SD0 SG0 < <(vm_lun_dev "$IQN" 0)
read -r SD1 SG1 < <(vm_lun_dev "$IQN" 1)
read -r SDB SGB < <(vm_lun_dev "$IQNB" 0)
show lsscsi -g

section "identity: LIO's serial through tpcd"
check inq-disk bash -c "sg_inq '$SG0' | grep -q 'Peripheral device type: disk'"
check vpd80-serial bash -c "sg_vpd -p 0x80 '$SG0' | tee /dev/stderr |
    grep -qF '$S0'"
check vpd83-naa bash -c "sg_vpd -p 0x83 '$SG1' | grep -q 'designator type: NAA'"
check readcap bash -c "sg_readcap -l '$SG1' | grep -q 'Device size: $GIB bytes'"
check tpc-bit bash -c "sg_inq '$SG0' | grep -q '3PC=1'"

section "XFS round trip on LUN 0 (user:tpcd file=)"
vm_fs_roundtrip "$IQN" 2
read -r SD0 SG0 < <(vm_lun_dev "$IQN" 0)
read -r SD1 SG1 < <(vm_lun_dev "$IQN" 1)

section "patterns"
head -c $((NBLK * 512)) /dev/urandom >/tmp/pattern0
head -c $((NBLK * 512)) /dev/urandom >/tmp/pattern1
P0=$(sha256sum </tmp/pattern0 | cut -c1-64)
P1=$(sha256sum </tmp/pattern1 | cut -c1-64)
ZERO=$(head -c $((NBLK * 512)) /dev/zero | sha256sum | cut -c1-64)
need write-pattern-d0 dd if=/tmp/pattern0 of="$SD0" bs=1M oflag=direct \
    conv=fsync status=none
need write-pattern-d1 dd if=/tmp/pattern1 of="$SD1" bs=1M oflag=direct \
    conv=fsync status=none
fill() {	# fill DEV LBA NBLK: random data there
	dd if=/dev/urandom of="$1" bs=1M seek=$(($2 * 512)) \
	    count=$(($3 * 512)) iflag=count_bytes oflag=direct,seek_bytes \
	    conv=fsync status=none
}
# ODX destinations hold random data first: a no-op copy cannot pass.
need fill-d1 eval 'fill "$SD1" 409600 $NBLK && fill "$SD1" 460800 $NBLK &&
    fill "$SD1" 512000 $((2 * NBLK))'

# xc NAME SHA DST_SD DST_LBA TOOL ARGS...: one copy, then its verification.
xc() {
	local name=$1 sha=$2 sd=$3 lba=$4
	shift 4
	check "$name" "$@" &&
	    check "$name-sha256" vm_sha_is "$sd" "$lba" $NBLK "$sha"
}
status_held() {	# status_held SG LIST_ID: success, the whole 1 MiB
	local out
	out=$(sg_copy_results --status --list_id="$2" "$1") || return 1
	printf '%s\n' "$out"
	grep -q 'completed without errors' <<<"$out" &&
	    grep -q "Transfer count: $((NBLK * 512))" <<<"$out"
}

section "sg_xcopy between tpcd-backed LIO LUNs"
xc sg_xcopy-hold "$P0" "$SD1" 100352 \
    sg_xcopy if="$SG0" of="$SG1" bs=512 seek=100352 count=$NBLK \
    id_usage=hold list_id=9
check sg_xcopy-hold-status status_held "$SG1" 9
xc sg_xcopy-discard "$P0" "$SD1" 110592 \
    sg_xcopy if="$SG0" of="$SG1" bs=512 seek=110592 count=$NBLK \
    id_usage=discard list_id=10
fails sg_xcopy-discard-no-status sg_copy_results --status --list_id=10 "$SG1"
xc sg_xcopy-disable "$P0" "$SD1" 120832 \
    sg_xcopy if="$SG0" of="$SG1" bs=512 seek=120832 count=$NBLK \
    id_usage=disable
xc sg_xcopy-reverse "$P1" "$SD0" 131072 \
    sg_xcopy if="$SG1" of="$SG0" bs=512 seek=131072 count=$NBLK
xc sg_xcopy-on-src "$P1" "$SD0" 141312 \
    sg_xcopy --on_src if="$SG1" of="$SG0" bs=512 seek=141312 count=$NBLK
xc sg_xcopy-within "$P0" "$SD0" 151552 \
    sg_xcopy if="$SG0" of="$SG0" bs=512 seek=151552 count=$NBLK

section "ddpt --xcopy between tpcd-backed LIO LUNs"
xc ddpt-xcopy-hold "$P0" "$SD1" 200704 \
    ddpt --xcopy if="$SG0" of="$SG1" bs=512 seek=200704 count=$NBLK \
    id_usage=hold list_id=11
check ddpt-xcopy-hold-status status_held "$SG1" 11
xc ddpt-xcopy-discard "$P0" "$SD1" 210944 \
    ddpt --xcopy if="$SG0" of="$SG1" bs=512 seek=210944 count=$NBLK \
    id_usage=discard list_id=12
fails ddpt-xcopy-discard-no-status sg_copy_results --status --list_id=12 "$SG1"
xc ddpt-xcopy-disable "$P0" "$SD1" 221184 \
    ddpt --xcopy if="$SG0" of="$SG1" bs=512 seek=221184 count=$NBLK \
    id_usage=disable
xc ddpt-xcopy-default-reverse "$P1" "$SD0" 231424 \
    ddpt --xcopy if="$SG1" of="$SG0" bs=512 seek=231424 count=$NBLK
xc ddpt-oflag-xcopy "$P0" "$SD1" 300032 \
    ddpt if="$SD0" of="$SD1" bs=512 skip=0 seek=300032 count=$NBLK oflag=xcopy

section "ODX between tpcd-backed LIO LUNs"
cd /tmp || exit 1	# ddptctl may write ddptctl_rod_tok.bin in the cwd
check ddpt-odx ddpt --odx if="$SG0" of="$SG1" bs=512 \
    skip="$(rng 0 $NBLK)" seek="$(rng 409600 $NBLK)"
check ddpt-odx-sha256 vm_sha_is "$SD1" 409600 $NBLK "$P0"
check ddptctl-pt ddptctl --pt="$(rng 0 $NBLK)" --rtf=/tmp/rod.tok "$SG0"
check ddptctl-rrti bash -c "ddptctl --receive --rtf=/tmp/rod2.tok '$SG0' |
    tee /dev/stderr | grep -q 'transfer count of $NBLK '"
check ddptctl-rrti-same-token cmp /tmp/rod.tok /tmp/rod2.tok
check ddptctl-wut ddptctl --wut="$(rng 460800 $NBLK)" --rtf=/tmp/rod.tok \
    "$SG1"
check ddptctl-wut-sha256 vm_sha_is "$SD1" 460800 $NBLK "$P0"
check ddpt-odx-zero ddpt --odx rtype=zero if=/dev/null of="$SG1" bs=512 \
    seek="$(rng 512000 $NBLK)"
check ddpt-odx-zero-sha256 vm_sha_is "$SD1" 512000 $NBLK "$ZERO"
not_zero() {	# not_zero DEV LBA: the NBLK blocks from LBA are not all zero
	[ "$(vm_sha256 "$1" "$2" $NBLK)" != "$ZERO" ]
}
check ddpt-odx-zero-neighbour-kept not_zero "$SD1" $((512000 + NBLK))
check sources-untouched vm_sha_is "$SD0" 0 $NBLK "$P0"

section "copy scope: $IQNB's ACL reaches d2 but not d0"
# unreachable NAME CMD...: CMD must be refused with sense key COPY
# ABORTED: sg_xcopy and ddpt exit with status 10 (sg3_utils' category for
# it) and print "Copy aborted".  Neither prints the ASC (tpcd sends 08h/04h
# UNREACHABLE COPY TARGET, docs/tcmu.md); that the refusal is the scope
# and not some other fault is shown by the same command working once the
# ACL is widened, below.  With PATTERN set, any failure whose output
# matches PATTERN counts instead.
unreachable() {
	local name=$1 out rc ok=0
	shift
	printf '$ %s    (must be refused)\n' "$*"
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | tail -n 4
	VM_CHECKS=$((VM_CHECKS + 1))
	if [ -n "${PATTERN:-}" ]; then
		[ "$rc" != 0 ] && grep -qiE "$PATTERN" <<<"$out" && ok=1
	else
		[ "$rc" = 10 ] && grep -q 'Copy aborted' <<<"$out" && ok=1
	fi
	if [ "$ok" = 1 ]; then
		echo "CHECK $name: ok (refused, exit $rc)"
		return 0
	fi
	echo "CHECK $name: FAILED (exit $rc, not the expected refusal)"
	VM_FAILS=$((VM_FAILS + 1))
	return 1
}
unreachable scope-xcopy-to-d2 \
    sg_xcopy if="$SG0" of="$SGB" bs=512 seek=8192 count=$NBLK
check scope-xcopy-to-d2-untouched vm_sha_is "$SDB" 8192 $NBLK "$ZERO"
unreachable scope-xcopy-on-src \
    sg_xcopy --on_src if="$SG0" of="$SGB" bs=512 seek=8192 count=$NBLK
unreachable scope-ddpt-xcopy-to-d2 \
    ddpt --xcopy if="$SG0" of="$SGB" bs=512 seek=8192 count=$NBLK
check scope-still-untouched vm_sha_is "$SDB" 8192 $NBLK "$ZERO"
# A token made on d0 is not usable through d2 (the LU map of d2's nexus
# does not hold d0).  ddptctl reports the sense of the failed WUT.
PATTERN='invalid token|token|copy|sense' unreachable scope-wut-to-d2 \
    ddptctl --wut="$(rng 16384 $NBLK)" --rtf=/tmp/rod.tok "$SGB"
check scope-wut-untouched vm_sha_is "$SDB" 16384 $NBLK "$ZERO"
section "copy scope: give $IQNB's ACL d0 too (LUN 1): now allowed"
need scope-grant-lun lio_lun "$IQNB" 1 user_1/d0
need scope-grant-acl lio_acl "$IQNB" "$VM_INITIATOR" 1 1
xc scope-xcopy-to-d2-allowed "$P0" "$SDB" 8192 \
    sg_xcopy if="$SG0" of="$SGB" bs=512 seek=8192 count=$NBLK
# The other direction stays closed: demo-mode $IQN reaches d0 for every
# initiator, and not every initiator reaches d2.
unreachable scope-on-src-still-refused \
    sg_xcopy --on_src if="$SG0" of="$SGB" bs=512 seek=24576 count=$NBLK

section "stop"
need logout vm_iscsi_logout "$IQN"
need logout-b vm_iscsi_logout "$IQNB"
check tpcd-stop tpcd_stop
show dmesg | grep -iE 'tcmu|target_core_user|uio' | tail -n 20
vm_finish
