# Shell helpers for guest scripts (tests/vm/guest/*.sh), sourced inside the
# guest:  . "$VM_SRC/tests/vm/guest-lib.sh"
#
# Checks:   check NAME CMD...   run CMD, print "CHECK NAME: ok|FAILED"
#           need NAME CMD...    the same, but stop the test on failure
#           fails NAME CMD...   CMD must fail (exit non-zero)
#           show CMD...         informational, result ignored
#           vm_finish           print the summary, exit 1 if a check failed
# iSCSI:    vm_iscsi_discover, vm_iscsi_auth, vm_iscsi_login, vm_iscsi_logout,
#           vm_lun_dev (open-iscsi, all on 127.0.0.1)
# tpcd:     tpcd_start, tpcd_stop (the daemon from the shared build tree)
# Suites:   vm_sg_basics, vm_fs_roundtrip, vm_lun_io
# Data:     vm_same, vm_sha256, vm_sha_is, vm_alloc_kib
#
# An EXIT trap unmounts, logs out and stops tpcd, so a failed test leaves
# nothing behind that could stall the guest's power-off.
# shellcheck shell=bash
# shellcheck disable=SC2034	# variables set here are for the test scripts

VM_PORTAL=${VM_PORTAL:-127.0.0.1:3260}
VM_INITIATOR=$(sed -n 's/^InitiatorName=//p' /etc/iscsi/initiatorname.iscsi)
VM_FAILS=0
VM_CHECKS=0
VM_MNT=/mnt/vmtest
TPCD=${TPCD:-/mnt/build/tpcd}
TPCD_STATE=${TPCD_STATE:-${VM_SCRATCH:-/tmp}/tpcd}
TPCD_LOG=/tmp/tpcd.log
TPCD_PID=""

section() {
	printf '\n===== %s (t=%ss) =====\n' "$*" "$(cut -d' ' -f1 /proc/uptime)"
}

vm_since() {	# vm_since T0: seconds since EPOCHREALTIME T0, 1 decimal
	local t=$(((${EPOCHREALTIME/./} - ${1/./}) / 100000))
	printf '%d.%d s' $((t / 10)) $((t % 10))
}

check() {
	local name=$1 rc t0=$EPOCHREALTIME
	shift
	printf '$ %s\n' "$*"
	"$@"
	rc=$?
	VM_CHECKS=$((VM_CHECKS + 1))
	if [ "$rc" = 0 ]; then
		echo "CHECK $name: ok ($(vm_since "$t0"))"
	else
		echo "CHECK $name: FAILED (exit $rc, $(vm_since "$t0"))"
		VM_FAILS=$((VM_FAILS + 1))
	fi
	return "$rc"
}

need() {
	check "$@" && return 0
	echo "stopping: check $1 is required for the rest of the test"
	vm_finish
}

fails() {
	local name=$1 rc t0=$EPOCHREALTIME
	shift
	printf '$ %s    (must fail)\n' "$*"
	"$@"
	rc=$?
	VM_CHECKS=$((VM_CHECKS + 1))
	if [ "$rc" != 0 ]; then
		echo "CHECK $name: ok (failed with exit $rc as it must, $(vm_since "$t0"))"
		return 0
	fi
	echo "CHECK $name: FAILED (succeeded but must fail)"
	VM_FAILS=$((VM_FAILS + 1))
	return 1
}

show() {
	printf '$ %s\n' "$*"
	"$@"
	echo "(exit $?)"
}

vm_finish() {
	vm_cleanup
	section "summary"
	echo "$VM_CHECKS checks, $VM_FAILS failed"
	trap - EXIT
	[ "$VM_FAILS" = 0 ] && exit 0
	exit 1
}

vm_cleanup() {
	local m
	for m in $(awk -v p="$VM_MNT" 'index($2, p) == 1 { print $2 }' /proc/mounts); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	if [ -n "$(ls /sys/class/iscsi_session 2>/dev/null)" ]; then
		timeout 60 iscsiadm -m node --logoutall=all >/dev/null 2>&1
	fi
	[ -n "$TPCD_PID" ] && tpcd_stop >/dev/null 2>&1
	return 0
}
trap 'vm_cleanup' EXIT

# --- iSCSI (open-iscsi) ------------------------------------------------------

# vm_iscsi_discover IQN: SendTargets discovery must list IQN at VM_PORTAL.
vm_iscsi_discover() {
	local out
	out=$(iscsiadm -m discovery -t sendtargets -p "$VM_PORTAL") || return 1
	printf '%s\n' "$out"
	printf '%s\n' "$out" | grep -q " $1\$" || {
		echo "discovery did not list $1"
		return 1
	}
}

vm_node() {	# vm_node IQN NAME VALUE: set one field of the node record
	iscsiadm -m node -T "$1" -p "$VM_PORTAL" -o update -n "$2" -v "$3"
}

# vm_iscsi_auth IQN none | chap USER SECRET [TARGET_USER TARGET_SECRET]
# The last two make it mutual CHAP (the target proves itself too).
vm_iscsi_auth() {
	local iqn=$1 how=$2
	case $how in
	none)
		vm_node "$iqn" node.session.auth.authmethod None
		;;
	chap)
		vm_node "$iqn" node.session.auth.authmethod CHAP &&
		vm_node "$iqn" node.session.auth.username "$3" &&
		vm_node "$iqn" node.session.auth.password "$4" &&
		vm_node "$iqn" node.session.auth.username_in "${5:-}" &&
		vm_node "$iqn" node.session.auth.password_in "${6:-}"
		;;
	*)
		echo "vm_iscsi_auth: bad method $how" >&2
		return 2
		;;
	esac
}

# vm_lun_dev IQN LUN: print "/dev/sdX /dev/sgN" of that LUN (nothing if none)
vm_lun_dev() {
	local s d blk sg
	for s in /sys/class/iscsi_session/session*; do
		[ "$(cat "$s/targetname" 2>/dev/null)" = "$1" ] || continue
		for d in "$s"/device/target*/*:*:*:"$2"; do
			[ -d "$d" ] || continue
			blk=$(ls "$d/block" 2>/dev/null | head -n1)
			sg=$(ls "$d/scsi_generic" 2>/dev/null | head -n1)
			if [ -n "$blk" ] && [ -n "$sg" ] && [ -b "/dev/$blk" ] &&
			    [ -c "/dev/$sg" ]; then
				echo "/dev/$blk /dev/$sg"
				return 0
			fi
		done
	done
	return 1
}

# vm_iscsi_login IQN [NLUNS]: log in, wait (30 s) for LUNs 0..NLUNS-1.
vm_iscsi_login() {
	local iqn=$1 n=${2:-1} l ok
	timeout 60 iscsiadm -m node -T "$iqn" -p "$VM_PORTAL" --login ||
	    return 1
	for _ in $(seq 150); do
		ok=1
		for ((l = 0; l < n; l++)); do
			vm_lun_dev "$iqn" "$l" >/dev/null || { ok=0; break; }
		done
		if [ "$ok" = 1 ]; then
			for ((l = 0; l < n; l++)); do
				echo "LUN $l: $(vm_lun_dev "$iqn" "$l")"
			done
			return 0
		fi
		sleep 0.2
	done
	echo "vm_iscsi_login: $n LUN(s) of $iqn did not all appear" >&2
	lsscsi -g >&2
	return 1
}

vm_iscsi_logout() {
	timeout 60 iscsiadm -m node -T "$1" -p "$VM_PORTAL" --logout
}

# --- tpcd ------------------------------------------------------------------

# tpcd_start [ARGS...]: start tpcd with --state-dir TPCD_STATE and ARGS,
# wait (60 s) for its "listening on" line.
tpcd_start() {
	if [ ! -x "$TPCD" ]; then
		echo "no tpcd binary at $TPCD: build the tree first (make)"
		return 1
	fi
	mkdir -p "$TPCD_STATE"
	printf '$ %s --state-dir %s %s\n' "$TPCD" "$TPCD_STATE" "$*"
	"$TPCD" --state-dir "$TPCD_STATE" "$@" >"$TPCD_LOG" 2>&1 </dev/null &
	TPCD_PID=$!
	for _ in $(seq 600); do
		if grep -q 'listening on' "$TPCD_LOG"; then
			grep 'listening on' "$TPCD_LOG"
			return 0
		fi
		if ! kill -0 "$TPCD_PID" 2>/dev/null; then
			wait "$TPCD_PID"
			echo "tpcd exited with status $? before listening; log:"
			tail -n 40 "$TPCD_LOG"
			TPCD_PID=""
			return 1
		fi
		sleep 0.1
	done
	echo "tpcd did not log 'listening on' within 60 s; log:"
	tail -n 40 "$TPCD_LOG"
	return 1
}

# tpcd_stop: SIGTERM; tpcd must exit with status 0 within 20 s and its log
# must have no sanitizer report.  The log goes to VM_ARTIFACTS if set.
tpcd_stop() {
	local rc=0 st
	[ -n "$TPCD_PID" ] || return 0
	kill -TERM "$TPCD_PID" 2>/dev/null
	for _ in $(seq 200); do
		kill -0 "$TPCD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$TPCD_PID" 2>/dev/null; then
		echo "tpcd still running 20 s after SIGTERM: killing it"
		kill -KILL "$TPCD_PID"
		rc=1
	fi
	wait "$TPCD_PID"
	st=$?
	TPCD_PID=""
	if [ "$rc" = 0 ] && [ "$st" != 0 ]; then
		echo "tpcd exited with status $st after SIGTERM"
		rc=1
	fi
	if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' \
	    "$TPCD_LOG"; then
		echo "sanitizer report in the tpcd log"
		rc=1
	fi
	if [ -n "${VM_ARTIFACTS:-}" ] && mkdir -p "$VM_ARTIFACTS" 2>/dev/null; then
		cp "$TPCD_LOG" "$VM_ARTIFACTS/" 2>/dev/null
	fi
	[ "$rc" = 0 ] || tail -n 40 "$TPCD_LOG"
	return "$rc"
}

# tpcd_default_login: start tpcd with the default configuration, log in to
# iqn.2026-11.org.tpcd:default; sets IQN, SD0, SG0, SD1, SG1.
tpcd_default_login() {
	IQN=iqn.2026-11.org.tpcd:default
	need tpcd-start tpcd_start
	need discovery vm_iscsi_discover "$IQN"
	need login vm_iscsi_login "$IQN" 2
	read -r SD0 SG0 < <(vm_lun_dev "$IQN" 0)
	read -r SD1 SG1 < <(vm_lun_dev "$IQN" 1)
}

# vm_same DEV LBA FILE: DEV holds FILE from block LBA (512-byte units) on.
vm_same() {
	dd if="$1" bs=1M skip=$(($2 * 512)) count="$(stat -c %s "$3")" \
	    iflag=direct,skip_bytes,count_bytes status=none | cmp - "$3"
}

# vm_sha256 DEV LBA NBLK: SHA-256 of NBLK 512-byte blocks of DEV from LBA
# (read with O_DIRECT, so the page cache cannot answer instead of the LU).
vm_sha256() {
	dd if="$1" bs=1M skip=$(($2 * 512)) count=$(($3 * 512)) \
	    iflag=direct,skip_bytes,count_bytes status=none | sha256sum |
	    cut -c1-64
}

# vm_sha_is DEV LBA NBLK SHA: that range of DEV has SHA-256 SHA.
vm_sha_is() {
	local got
	got=$(vm_sha256 "$1" "$2" "$3") || return 1
	[ "$got" = "$4" ] && return 0
	echo "$1 LBA $2 +$3: sha256 $got, want $4"
	return 1
}

# vm_alloc_kib FILE: KiB allocated to FILE (stat %b blocks of %B bytes).
vm_alloc_kib() {
	echo $(($(stat -c '%b * %B' "$1") / 1024))
}

# --- suites ------------------------------------------------------------------

# vm_sg_basics SG BYTES [no-opcodes]: sg3_utils against one LUN of BYTES
# bytes.  no-opcodes: REPORT SUPPORTED OPERATION CODES may fail (LIO 6.1).
vm_sg_basics() {
	local sg=$1 bytes=$2 out
	out=$(sg_inq "$sg")
	check sg_inq test $? = 0
	printf '%s\n' "$out"
	check sg_inq-disk grep -q 'Peripheral device type: disk' <<<"$out"
	check sg_vpd-supported sg_vpd -p 0x00 "$sg"
	out=$(sg_vpd -p 0x83 "$sg")
	check sg_vpd-0x83 test $? = 0
	printf '%s\n' "$out"
	check sg_vpd-0x83-naa grep -q 'designator type: NAA' <<<"$out"
	check sg_vpd-0x80 sg_vpd -p 0x80 "$sg"
	check sg_vpd-0xb0 sg_vpd -p 0xb0 "$sg"
	out=$(sg_readcap -l "$sg")
	check sg_readcap-l test $? = 0
	printf '%s\n' "$out"
	check sg_readcap-size grep -q "Device size: $bytes bytes" <<<"$out"
	if [ "${3:-}" = no-opcodes ]; then
		show sg_opcodes "$sg"
	else
		check sg_opcodes sg_opcodes "$sg"
	fi
	check sg_turs sg_turs "$sg"
}

# vm_lun_io SD OTHER_SD: 4 MiB pattern written to SD at 1 MiB, read back
# with O_DIRECT and compared; OTHER_SD (another LUN) must not see it.
vm_lun_io() {
	local sd=$1 other=$2
	head -c 4M /dev/urandom >/tmp/pattern
	check lun-io-write dd if=/tmp/pattern of="$sd" bs=1M seek=1 \
	    oflag=direct conv=fsync status=none
	check lun-io-readback bash -c "dd if='$sd' bs=1M skip=1 count=4 \
	    iflag=direct status=none | cmp - /tmp/pattern"
	if [ -n "$other" ]; then
		check lun-io-other-lun-untouched bash -c "! dd if='$other' bs=1M \
		    skip=1 count=4 iflag=direct status=none | cmp -s - /tmp/pattern"
	fi
}

vm_fs_write() {	# fill the mounted file system with files of known content
	local i
	head -c 16M /dev/urandom >"$VM_MNT/big" || return 1
	mkdir -p "$VM_MNT/small/a/b" || return 1
	for i in $(seq 40); do
		head -c $((i * 1531)) /dev/urandom >"$VM_MNT/small/a/b/f$i" || return 1
	done
	cp -a /usr/bin/bash /usr/sbin/iscsiadm "$VM_MNT/small/" || return 1
	(cd "$VM_MNT" && find . -type f | sort | xargs sha256sum) >/tmp/fs.sums
}

vm_fs_verify() {
	(cd "$VM_MNT" && sha256sum --quiet -c /tmp/fs.sums) &&
	    [ "$(cd "$VM_MNT" && find . -type f | wc -l)" = "$(wc -l </tmp/fs.sums)" ]
}

# vm_fs_roundtrip IQN NLUNS: XFS on LUN 0 of IQN: mkfs, mount, write,
# unmount, xfs_repair -n, log out and in again, mount, verify SHA-256.
vm_fs_roundtrip() {
	local iqn=$1 nluns=$2 sd sg
	read -r sd sg < <(vm_lun_dev "$iqn" 0)
	modprobe xfs
	mkdir -p "$VM_MNT"
	need mkfs.xfs mkfs.xfs -f -q "$sd"
	need mount-xfs mount -t xfs "$sd" "$VM_MNT"
	check fs-write vm_fs_write
	show df -h "$VM_MNT"
	need umount umount "$VM_MNT"
	check xfs_repair-n xfs_repair -n "$sd"
	need iscsi-logout vm_iscsi_logout "$iqn"
	need iscsi-relogin vm_iscsi_login "$iqn" "$nluns"
	read -r sd sg < <(vm_lun_dev "$iqn" 0)
	need mount-xfs-again mount -t xfs -o ro "$sd" "$VM_MNT"
	check fs-verify-sha256 vm_fs_verify
	check umount-again umount "$VM_MNT"
}
