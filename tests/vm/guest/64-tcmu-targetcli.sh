#!/bin/bash
# targetcli creates tpcd's LIO user: backstores (issue #7): the guest's
# system D-Bus (started at boot) reloads with tpcd's policy (conf/dbus/tpcd-tcmu.conf), tpcd
# publishes org.kernel.TCMUService1 (handlers/tcmu/tcmu_dbus.c), so
# targetcli lists /backstores/user:tpcd, "help create" prints tpcd's
# ConfigDesc, "create" asks tpcd's CheckConfig (a bad cfgstring is refused
# with "cfgstring invalid") and makes the configfs device that tpcd then
# attaches through netlink.  Both devices are exported by LIO's iSCSI
# target (made with targetcli too) on 127.0.0.1:3260; open-iscsi writes
# data and sg_xcopy copies between them (SHA-256 verified); targetcli
# "delete" makes tpcd detach (log line, ring unmapped).
# Each targetcli run costs 10-30 s under TCG: commands are batched.
# vm-options: -t 900
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"
. "$VM_SRC/tests/vm/tcmu-lib.sh"

IQN=iqn.2026-11.org.tpcd.vm:targetcli
SIZE=$((64 << 20))
NBLK=2048	# 1 MiB
CONF=/tmp/tpcd-tcmu.json
UT=/backstores/user:tpcd

tcli() {	# tcli [ARGS]: targetcli ARGS, or the commands on stdin
	timeout 300 targetcli "$@" 2>&1
}

# has OUTFILE PATTERN: grep -F, showing the file when it does not match
has() {
	grep -qF -- "$2" "$1" && return 0
	echo "\"$2\" not in:"
	cat "$1"
	return 1
}

# system_bus: the guest's init starts the system bus (tests/vm/image/
# vm-init): make it read the policy now; else start one.
system_bus() {
	if [ -S /run/dbus/system_bus_socket ] &&
	    dbus-send --system --print-reply --dest=org.freedesktop.DBus \
	    /org/freedesktop/DBus org.freedesktop.DBus.ReloadConfig; then
		return 0
	fi
	mkdir -p /run/dbus
	rm -f /run/dbus/pid
	dbus-uuidgen --ensure
	dbus-daemon --system --fork
}

section "system D-Bus with tpcd's policy"
need modules tcmu_modules
need policy install -m 644 "$VM_SRC/conf/dbus/tpcd-tcmu.conf" \
    /etc/dbus-1/system.d/tpcd-tcmu.conf
need system-bus system_bus
need bus-socket test -S /run/dbus/system_bus_socket

section "tpcd (TCMU on): owns org.kernel.TCMUService1"
tcmu_tpcd_conf "$CONF"
need tpcd-start tpcd_start -c "$CONF"
owns_name() {
	for _ in $(seq 100); do
		grep -q 'D-Bus org.kernel.TCMUService1: targetcli' "$TPCD_LOG" &&
		    return 0
		sleep 0.2
	done
	tail -n 20 "$TPCD_LOG"
	return 1
}
need tpcd-owns-name owns_name

section "targetcli sees user:tpcd"
tcli ls /backstores >/tmp/ls.out
cat /tmp/ls.out
need ls-user-tpcd has /tmp/ls.out "user:tpcd"
tcli "$UT" help create >/tmp/help.out
sed -n '/CFGSTRING FORMAT/,$p' /tmp/help.out
check help-create-configdesc has /tmp/help.out "nvme=DEV    an NVMe namespace"
check help-create-configdesc-file has /tmp/help.out "file=PATH   an existing regular file"

section "targetcli: two user:tpcd storage objects, one refused, LIO iSCSI export"
truncate -s $SIZE /scratch/t0.img /scratch/t1.img
tcli >/tmp/create.out <<EOF
$UT create name=t0 size=$SIZE cfgstring=file=/scratch/t0.img
$UT create name=t1 size=$SIZE cfgstring=file=/scratch/t1.img
$UT create name=bad size=$SIZE cfgstring=file=/scratch/missing.img
$UT create name=bad2 size=$SIZE cfgstring=file=/scratch
/iscsi create $IQN
/iscsi/$IQN/tpg1/portals delete 0.0.0.0 3260
/iscsi/$IQN/tpg1/portals create ${VM_PORTAL%:*} ${VM_PORTAL#*:}
/iscsi/$IQN/tpg1/luns create $UT/t0
/iscsi/$IQN/tpg1/luns create $UT/t1
/iscsi/$IQN/tpg1 set attribute authentication=0 demo_mode_write_protect=0 generate_node_acls=1 cache_dynamic_acls=1
ls $UT
EOF
cat /tmp/create.out
check created-t0 has /tmp/create.out "Created user-backed storage object t0 size $SIZE"
check created-t1 has /tmp/create.out "Created user-backed storage object t1 size $SIZE"
check refused-missing has /tmp/create.out \
    "cfgstring invalid: /scratch/missing.img: No such file or directory"
check refused-dir has /tmp/create.out \
    "cfgstring invalid: /scratch: not a regular file (a directory)"
check no-bad-device bash -c "! ls -d $LIO/core/user_*/bad* 2>/dev/null"
hba_of() {	# hba_of NAME: the N of core/user_N/NAME
	local d
	d=$(dirname "$(readlink -f "$(ls -d "$LIO"/core/user_*/"$1" | head -n1)")")
	echo "${d##*/user_}"
}
H0=$(hba_of t0) H1=$(hba_of t1)
echo "t0 in user_$H0, t1 in user_$H1"
show cat "$LIO/core/user_$H0/t0/info"
need attach-t0 tcmu_attached "$H0" t0
need attach-t1 tcmu_attached "$H1" t1
check tpcd-log-serving bash -c "grep -E 'tcmu: serving user_$H0/t0 .*tpcd/file=/scratch/t0.img' '$TPCD_LOG'"

section "open-iscsi, data, sg_xcopy between the two"
need discovery vm_iscsi_discover "$IQN"
need login vm_iscsi_login "$IQN" 2
read -r SD0 SG0 < <(vm_lun_dev "$IQN" 0)
read -r SD1 SG1 < <(vm_lun_dev "$IQN" 1)
show lsscsi -g
check inq-tpc bash -c "sg_inq '$SG0' | grep -q '3PC=1'"
# rtslib writes wwn/vpd_unit_serial after "enable", i.e. after tpcd
# attached: tpcd must show it all the same (read at the first command)
S0=$(sed -n 's/^T10 VPD Unit Serial Number: //p' \
    "$LIO/core/user_$H0/t0/wwn/vpd_unit_serial")
echo "t0 serial (LIO): $S0"
show sg_vpd -p 0x80 "$SG0"
check lio-serial-set test -n "$S0"
check vpd80-serial bash -c "sg_vpd -p 0x80 '$SG0' | grep -qF '$S0'"
naa0="0x6001405$(printf '%s' "$S0" | tr -d '-' | cut -c1-9)"
check vpd83-naa bash -c "sg_vpd -p 0x83 '$SG0' | grep -qi '$naa0'"
check tpcd-log-settled bash -c "grep -F 'tcmu: t0: identity settled at the first command: serial $S0' '$TPCD_LOG'"
head -c $((NBLK * 512)) /dev/urandom >/tmp/pattern0
P0=$(sha256sum </tmp/pattern0 | cut -c1-64)
need write-t0 dd if=/tmp/pattern0 of="$SD0" bs=1M oflag=direct conv=fsync \
    status=none
check read-t0 vm_sha_is "$SD0" 0 $NBLK "$P0"
check sg_xcopy sg_xcopy if="$SG0" of="$SG1" bs=512 seek=4096 count=$NBLK
check sg_xcopy-sha256 vm_sha_is "$SD1" 4096 $NBLK "$P0"
check t1-image-sha256 bash -c "[ \"\$(dd if=/scratch/t1.img bs=512 skip=4096 \
    count=$NBLK status=none | sha256sum | cut -c1-64)\" = '$P0' ]"
need logout vm_iscsi_logout "$IQN"

section "targetcli delete: tpcd detaches"
NMAP=$(tcmu_mapped_count)
echo "tpcd maps $NMAP uio devices"
tcli >/tmp/delete.out <<EOF
/iscsi delete $IQN
$UT delete t1
$UT delete t0
ls /backstores
EOF
cat /tmp/delete.out
check t0-t1-gone bash -c "! ls -d $LIO/core/user_*/t0 $LIO/core/user_*/t1 2>/dev/null"
detached() {	# detached HBA NAME: tpcd logged it
	for _ in $(seq 100); do
		grep -q "tcmu: detached user_$1/$2\$" "$TPCD_LOG" && return 0
		sleep 0.2
	done
	return 1
}
check detached-t1 detached "$H1" t1
check detached-t0 detached "$H0" t0
check rings-unmapped bash -c "[ \"\$(grep -c ' /dev/uio[0-9]*\$' /proc/$TPCD_PID/maps)\" = 0 ]"

section "stop"
check tpcd-stop tpcd_stop
check name-released bash -c "! dbus-send --system --print-reply \
    --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.kernel.TCMUService1 |
    grep -q 'boolean true'"
show tail -n 30 "$TPCD_LOG"
vm_finish
