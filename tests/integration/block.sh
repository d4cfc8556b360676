#!/bin/sh
# block.sh - the "block" backstore served over iSCSI (conf/block.json):
# four loop devices on sparse files (512-byte sectors, twice; 4096-byte
# sectors; read-only), then
#   - the daemon's view of them (block sizes, write protection),
#   - EXTENDED COPY 512 -> 512 and 512 -> 4096 between block LUs
#     (block_xcopy), checked by sha256 of the ranges read straight from
#     the devices, and that nothing around the destination range moved,
#   - libiscsi's iscsi-test-cu families against the block LUs
#     (tests/conformance/run-iscsi-test-cu.sh --url, known failures
#     compared as for the file LUs), ALL.ReadOnly on the read-only device.
# BLOCK_ITEST_FAMILIES overrides the family list ("ALL" for everything).
# Needs root, losetup and free loop devices, else SKIP (77).  Loop devices
# are always detached (trap).
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: block.sh needs root (loop devices)"; exit 77; }
command -v losetup >/dev/null 2>&1 || { echo "SKIP: no losetup"; exit 77; }
[ -w /dev/loop-control ] || { echo "SKIP: no /dev/loop-control"; exit 77; }
command -v sha256sum >/dev/null 2>&1 || { echo "SKIP: no sha256sum"; exit 77; }

BLK_LOOPS=
BLK_DIR=
block_cleanup()
{
	tpcd_finish
	for _d in $BLK_LOOPS; do
		losetup -d "$_d" || echo "warning: cannot detach $_d"
	done
	BLK_LOOPS=
	[ -n "$BLK_DIR" ] && [ -z "${ITEST_KEEP:-}" ] && rm -rf "$BLK_DIR"
}
trap block_cleanup EXIT
trap 'exit 1' INT TERM

BLK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tpcd-block.XXXXXX") || itest_fail mktemp
SIZE=$((64 * 1024 * 1024))

# attach VAR NAME [losetup options]: a loop device on a sparse file in VAR
attach()
{
	_var=$1 _f="$BLK_DIR/$2.img"
	shift 2
	truncate -s "$SIZE" "$_f" || itest_fail "truncate $_f"
	_dev=$(losetup -f --show "$@" "$_f" 2>&1) || {
		echo "SKIP: losetup failed: $_dev"
		exit 77
	}
	[ -b "$_dev" ] || itest_fail "losetup gave '$_dev'"
	BLK_LOOPS="$BLK_LOOPS $_dev"
	eval "$_var=\$_dev"
}

attach DEV0 a
attach DEV1 b
attach DEV2 c --sector-size 4096
attach DEV3 d -r
echo "loop devices: $BLK_LOOPS"

# Random contents for the copy sources and destinations.
dd if=/dev/urandom of="$DEV0" bs=1M count=64 oflag=direct status=none ||
    itest_fail "fill $DEV0"
dd if=/dev/urandom of="$DEV1" bs=1M count=64 oflag=direct status=none ||
    itest_fail "fill $DEV1"
dd if=/dev/urandom of="$DEV2" bs=1M count=64 oflag=direct status=none ||
    itest_fail "fill $DEV2"

sed -e "s|@DEV0@|$DEV0|" -e "s|@DEV1@|$DEV1|" -e "s|@DEV2@|$DEV2|" \
    -e "s|@DEV3@|$DEV3|" "$ITEST_SRC/conf/block.json" > "$BLK_DIR/block.json" ||
    itest_fail "template"
tpcd_start "$BLK_DIR/block.json"
IQN=iqn.2026-11.org.tpcd:block
export ITEST_TARGET=$IQN

grep -q "storage object blk_a: $DEV0, $SIZE bytes, block size 512" "$TPCD_LOG" ||
    itest_fail "blk_a not served as a 512-byte LU"
grep -q "storage object blk_4k: $DEV2, $SIZE bytes, block size 4096" "$TPCD_LOG" ||
    itest_fail "blk_4k not served as a 4096-byte LU"
grep -q "storage blk_ro: $DEV3 is a read-only device" "$TPCD_LOG" ||
    itest_fail "blk_ro not seen as read-only"
itest_ok "four block LUs served (512, 512, 4096, read-only)"

# sum DEV BS SKIP COUNT
sum()
{
	dd if="$1" bs="$2" skip="$3" count="$4" iflag=direct status=none |
	    sha256sum | cut -d' ' -f1
}

# --- EXTENDED COPY 512 -> 512: 100000 blocks, two segments ---
before_head=$(sum "$DEV1" 512 0 8192)
before_tail=$(sum "$DEV1" 512 108192 22880)
itest_run block_xcopy 0 1 2048 8192 100000
[ "$(sum "$DEV0" 512 2048 100000)" = "$(sum "$DEV1" 512 8192 100000)" ] ||
    itest_fail "XCOPY 512 -> 512: destination differs from the source"
[ "$(sum "$DEV1" 512 0 8192)" = "$before_head" ] &&
    [ "$(sum "$DEV1" 512 108192 22880)" = "$before_tail" ] ||
    itest_fail "XCOPY 512 -> 512 wrote outside its range"
itest_ok "EXTENDED COPY block 512 -> block 512, sha256 equal"

# --- EXTENDED COPY 512 -> 4096: 32 MiB to LBA 100 ---
before_head=$(sum "$DEV2" 4096 0 100)
itest_run block_xcopy 0 2 0 100 65536
[ "$(sum "$DEV0" 512 0 65536)" = "$(sum "$DEV2" 4096 100 8192)" ] ||
    itest_fail "XCOPY 512 -> 4096: destination differs from the source"
[ "$(sum "$DEV2" 4096 0 100)" = "$before_head" ] ||
    itest_fail "XCOPY 512 -> 4096 wrote outside its range"
itest_ok "EXTENDED COPY block 512 -> block 4096, sha256 equal"

# --- iscsi-test-cu on the block LUs ---
# cu LUN TEST: run one family, fail on a failure that is not in
# tests/conformance/known-failures.txt (unlabelled or "block:" entries).
KNOWN="$TOP_SRCDIR/tests/conformance/known-failures.txt"
sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$KNOWN" 2>/dev/null |
    awk -F: 'NF == 1 { print $1 } NF == 2 && $1 == "block" { print $2 }' |
    sort -u > "$BLK_DIR/known.common"
# Failures particular to block LUs, with their reason:
#  - Sanitize.BlockErase: after BLOCK ERASE (UNMAP) it wants GET LBA
#    STATUS to say "deallocated"; a block device does not expose what it
#    has allocated, so tpcd answers provisioning status 0h ("mapped or
#    unknown", SBC-4 5.7.2) for every LBA.
printf '%s\n' Sanitize.BlockErase | cat - "$BLK_DIR/known.common" |
    sort -u > "$BLK_DIR/known"
cu()
{
	_out="$BLK_DIR/cu-$1-$2.out"
	timeout -k 10 900 iscsi-test-cu -d -S -i iqn.2026-11.org.tpcd:init-a \
	    -I iqn.2026-11.org.tpcd:init-b --test="$2" \
	    "iscsi://$TPCD_PORTAL/$IQN/$1" > "$_out" 2>&1 < /dev/null
	# one "RESULT Suite.Test" per test, counted as run-iscsi-test-cu.sh
	# does: only a result word at the start of a line (or right after
	# "...") counts, "[FAILED]" notes before "passed" do not
	awk 'function flush() {
		if (n == "")
			return
		print (r == "" ? "FAIL" : r), s "." n
		n = ""
	    }
	    /^Suite: / { flush(); s = $2; next }
	    /^  Test: / { flush(); n = $2; r = ""; sub(/^  Test: [^ ]+ \.\.\./, "") }
	    /^Run Summary/ { flush(); exit }
	    n != "" && r == "" {
		if ($0 ~ /^[ \t]*passed/)
			r = "PASS"
		else if ($0 ~ /^[ \t]*FAILED/)
			r = "FAIL"
	    }
	    END { flush() }' "$_out" > "$_out.res"
	_np=$(grep -c '^PASS ' "$_out.res")
	_nf=$(grep -c '^FAIL ' "$_out.res")
	awk '$1 == "FAIL" { print $2 }' "$_out.res" | sort -u |
	    comm -23 - "$BLK_DIR/known" > "$_out.bad"
	if [ -s "$_out.bad" ] || [ "$_np" -eq 0 ]; then
		cat "$_out"
		itest_fail "iscsi-test-cu $2 on block LUN $1: $(tr '\n' ' ' < "$_out.bad")"
	fi
	itest_ok "iscsi-test-cu $2 on block LUN $1: $_np passed, $_nf failed (known)"
}

# The whole suite takes seconds against 64 MiB LUs.
FAMILIES=ALL
if command -v iscsi-test-cu >/dev/null 2>&1; then
	for lun in 1 2; do
		for fam in ${BLOCK_ITEST_FAMILIES:-$FAMILIES}; do
			cu "$lun" "$fam"
		done
	done
	cu 3 ALL.ReadOnly
else
	echo "note: iscsi-test-cu not installed, conformance part skipped"
fi

tpcd_stop
