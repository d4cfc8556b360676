#!/bin/bash
# ODX (POPULATE TOKEN / WRITE USING TOKEN, RECEIVE ROD TOKEN INFORMATION,
# the block device zero ROD token) sent by ddpt --odx and ddptctl to tpcd,
# within LUN 0 and from LUN 0 to LUN 1.  Every copy goes to a range that
# holds other data, and is verified by the SHA-256 of the destination range.
#
# ddpt 0.97 (Debian 12) writes each block device range descriptor one byte
# early: at offset 15 of the POPULATE TOKEN parameter list and 535 of the
# WRITE USING TOKEN one (SBC-4: 16 and 536; ddpt_xcopy.c starts its loop at
# n = 15 / 535, and its "count=" path, which is right, is never taken
# because skip=/seek= always make a list).  A range LBA,NUM given to ddpt
# or ddptctl therefore reaches the target as LBA*256 + (NUM >> 24),
# (NUM << 8) mod 2^32.  The tests pass LBA/256,NUM/256 (rng below) so that
# the target sees the intended range; ddpt then prints nonsense counts
# ("number requested differs from transfer count") but exits 0, and the
# SHA-256 checks say whether the right blocks moved.
# vm-options: -t 600
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"

NBLK=2048	# 1 MiB; LBAs below are multiples of 256

rng() {	# rng LBA NUM: the ddpt 0.97 argument that reaches tpcd as LBA,NUM
	echo "$(($1 / 256)),$(($2 / 256))"
}

section "tpcd, login"
tpcd_default_login
cd /tmp || exit 1	# ddptctl may write ddptctl_rod_tok.bin in the cwd

section "patterns"
head -c $((NBLK * 512)) /dev/urandom >/tmp/pattern
P=$(sha256sum </tmp/pattern | cut -c1-64)
ZERO=$(head -c $((NBLK * 512)) /dev/zero | sha256sum | cut -c1-64)
need write-pattern dd if=/tmp/pattern of="$SD0" bs=1M oflag=direct \
    conv=fsync status=none
# Destinations hold random data first, so a copy that does nothing (or
# writes zeroes) cannot pass.
fill() {	# fill DEV LBA NBLK: random data there
	dd if=/dev/urandom of="$1" bs=1M seek=$(($2 * 512)) \
	    count=$(($3 * 512)) iflag=count_bytes oflag=direct,seek_bytes \
	    conv=fsync status=none
}
need fill-lun0 eval 'fill "$SD0" 102400 $NBLK && fill "$SD0" 153600 $NBLK'
need fill-lun1 eval 'fill "$SD1" 102400 $NBLK && fill "$SD1" 153600 $NBLK &&
    fill "$SD1" 204800 $((2 * NBLK))'

section "ddpt --odx"
check ddpt-odx-within ddpt --odx if="$SG0" of="$SG0" bs=512 \
    skip="$(rng 0 $NBLK)" seek="$(rng 102400 $NBLK)"
check ddpt-odx-within-sha256 vm_sha_is "$SD0" 102400 $NBLK "$P"
check ddpt-odx-between ddpt --odx if="$SG0" of="$SG1" bs=512 \
    skip="$(rng 0 $NBLK)" seek="$(rng 102400 $NBLK)"
check ddpt-odx-between-sha256 vm_sha_is "$SD1" 102400 $NBLK "$P"

section "ddptctl: POPULATE TOKEN, RRTI, WRITE USING TOKEN"
check ddptctl-pt ddptctl --pt="$(rng 0 $NBLK)" --rtf=/tmp/rod.tok "$SG0"
check ddptctl-rrti bash -c "ddptctl --receive --rtf=/tmp/rod2.tok '$SG0' |
    tee /dev/stderr | grep -q 'transfer count of $NBLK '"
check ddptctl-rrti-same-token cmp /tmp/rod.tok /tmp/rod2.tok
check ddptctl-info bash -c "ddptctl --info --rtf=/tmp/rod.tok |
    grep -q 'Number of bytes represented: $((NBLK * 512)) '"
check ddptctl-all-toks bash -c "ddptctl --all_toks '$SG0' |
    grep -q 'ROD Token header 1'"
check ddptctl-wut-within ddptctl --wut="$(rng 153600 $NBLK)" \
    --rtf=/tmp/rod.tok "$SG0"
check ddptctl-wut-within-sha256 vm_sha_is "$SD0" 153600 $NBLK "$P"
check ddptctl-wut-between ddptctl --wut="$(rng 153600 $NBLK)" \
    --rtf=/tmp/rod.tok "$SG1"
check ddptctl-wut-between-sha256 vm_sha_is "$SD1" 153600 $NBLK "$P"

section "block device zero ROD token"
check ddpt-odx-zero ddpt --odx rtype=zero if=/dev/null of="$SG1" bs=512 \
    seek="$(rng 204800 $NBLK)"
check ddpt-odx-zero-sha256 vm_sha_is "$SD1" 204800 $NBLK "$ZERO"
not_zero() {	# not_zero DEV LBA: the NBLK blocks from LBA are not all zero
	[ "$(vm_sha256 "$1" "$2" $NBLK)" != "$ZERO" ]
}
check ddpt-odx-zero-neighbour-kept not_zero "$SD1" $((204800 + NBLK))
check source-untouched vm_sha_is "$SD0" 0 $NBLK "$P"
need logout vm_iscsi_logout "$IQN"

section "stop"
check tpcd-stop tpcd_stop
vm_finish
