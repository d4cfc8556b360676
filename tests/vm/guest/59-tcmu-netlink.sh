#!/bin/bash
# TCMU netlink, configfs/sysfs readers and copy scope against the real
# kernel (handlers/tcmu/tcmu_nl.c, tcmu_cfs.c, tcmu_reach.c), through the
# probe program tests/vm/tcmu-nl-probe (built by handlers/tcmu/tcmu_cfs.mk).
#
#  - a tpcd user: device made before any listener is found by the scan,
#    with its configfs identity;
#  - LIO's NAA for a unit serial (sg_vpd on a LIO fileio LUN through
#    tcm_loop) equals tcmu_lio_naa();
#  - with the probe listening (reply support on), configfs create,
#    reconfigure (dev_size, emulate_write_cache, dev_config) and remove
#    complete because the probe answers; a refused reconfig fails the
#    configfs write; a foreign (non-tpcd) device opted out with
#    nl_reply_supported=-1 is not answered and does not wait; one not
#    opted out waits until reset_netlink;
#  - after the probe closes (reply support withdrawn) devices are created
#    without waiting;
#  - copy scope read from a real iSCSI TPG (demo mode, ACLs).
# vm-options: -t 600
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"

PROBE=$VM_BUILD/tests/vm/tcmu-nl-probe
CFS=/sys/kernel/config/target
PARAM=/sys/module/target_core_user/parameters
OUT=/tmp/probe.out
PROBE_PID=""
SERIAL=3d8a2a2b-5a5d-4c6f-9c8e-1a2b3c4d5e6f

# mkuser HBA DEV CONFIG SIZE [SERIAL]: a user: backstore through configfs
mkuser() {
	local d=$CFS/core/user_$1/$2
	mkdir -p "$d" &&
	    echo -n "dev_config=$3" >"$d/control" &&
	    echo -n "dev_size=$4" >"$d/control" &&
	    { [ -z "${5:-}" ] || echo -n "$5" >"$d/wwn/vpd_unit_serial"; } &&
	    echo -n 1 >"$d/enable"
}

# wait_for PATTERN: the probe printed a line matching PATTERN (10 s)
wait_for() {
	local i
	for i in $(seq 1 50); do
		grep -q -- "$1" "$OUT" && return 0
		sleep 0.2
	done
	echo "not in probe output: $1"
	cat "$OUT"
	return 1
}

probe_stop() {
	[ -n "$PROBE_PID" ] || return 0
	kill -TERM "$PROBE_PID" 2>/dev/null
	wait "$PROBE_PID"
	PROBE_PID=""
}
trap 'probe_stop; vm_cleanup' EXIT

need probe-built test -x "$PROBE"
need lio-modules modprobe -a configfs target_core_mod target_core_user \
    target_core_file tcm_loop iscsi_target_mod sd_mod sg
mountpoint -q /sys/kernel/config ||
    need mount-configfs mount -t configfs configfs /sys/kernel/config
need lio-configfs test -d $CFS/core
mkdir -p /scratch/img

section "scan: device made before any listener"
need create-before timeout 30 bash -c "$(declare -f mkuser); CFS=$CFS; \
    mkuser 7 pre0 tpcd/file=/scratch/img/pre0 16777216 $SERIAL"
check create-foreign-before timeout 30 bash -c "$(declare -f mkuser); \
    CFS=$CFS; mkuser 7 other0 qcow/x.qcow2 16777216"
show grep -H . /sys/class/uio/uio*/name
$PROBE scan | tee /tmp/scan.out
NAA_WANT=$($PROBE naa $SERIAL)
check scan-finds-pre0 grep -q \
    "hba=7 dev=pre0 cfg=file=/scratch/img/pre0 .*size=16777216 .*serial=$SERIAL vendor=LIO-ORG .*naa=$NAA_WANT" \
    /tmp/scan.out
check scan-skips-foreign bash -c "! grep -q other0 /tmp/scan.out"
check scan-dev-id bash -c "grep -q \"dev=pre0 .*id=\$(cat \
    $CFS/core/user_7/pre0/statistics/scsi_dev/indx) \" /tmp/scan.out"

section "NAA: LIO fileio LUN through tcm_loop vs tcmu_lio_naa()"
F=$CFS/core/fileio_3/naa0
LB=$CFS/loopback/naa.5001405000000aa1/tpgt_1
truncate -s 16M /scratch/img/naa0
need fileio-create bash -c "mkdir -p $F && \
    echo -n fd_dev_name=/scratch/img/naa0,fd_dev_size=16777216 >$F/control && \
    echo -n $SERIAL >$F/wwn/vpd_unit_serial && echo -n 1 >$F/enable"
need loopback-lun bash -c "mkdir -p $LB/lun/lun_0 && \
    echo -n naa.5001405000000aa2 >$LB/nexus && \
    ln -s $F $LB/lun/lun_0/naa0link"
SG=""
for i in $(seq 1 50); do
	SG=$(lsscsi -g 2>/dev/null | awk '/LIO-ORG/ && /FILEIO/ { print $NF; exit }')
	[ -n "$SG" ] && [ -e "$SG" ] && break
	sleep 0.2
done
show lsscsi -g
echo "fileio LUN: ${SG:-none}, expected NAA $NAA_WANT"
show sg_vpd -p di "$SG"
check naa-matches-lio bash -c "sg_vpd -p di $SG | grep -qi '0x$NAA_WANT'"
rm -f "$LB/lun/lun_0/naa0link"
rmdir "$LB/lun/lun_0" "$LB" "$(dirname "$LB")" 2>/dev/null
rmdir "$F" 2>/dev/null

section "netlink: probe listening, reply support on"
$PROBE listen -t 400 -f -22 >"$OUT" 2>&1 &
PROBE_PID=$!
need probe-ready wait_for READY
show bash -c "dmesg | grep -i 'tcmu daemon' | tail -n 2"
U=$CFS/core/user_8/hot0
check hot-add timeout 30 bash -c "$(declare -f mkuser); CFS=$CFS; \
    mkuser 8 hot0 tpcd/file=/scratch/img/hot0 8388608"
check event-added wait_for \
    "EVENT added hba=8 dev=hot0 subtype=tpcd cfg=file=/scratch/img/hot0 minor=[0-9]* id=$(cat $U/statistics/scsi_dev/indx 2>/dev/null) "
check hot-uio grep -qx "tcm-user/8/hot0/tpcd/file=/scratch/img/hot0" \
    /sys/class/uio/uio*/name
$PROBE scan | tee /tmp/scan2.out
check scan-sees-hot0 grep -q "hba=8 dev=hot0 " /tmp/scan2.out

check reconfig-size timeout 30 bash -c "echo 16777216 >$U/attrib/dev_size"
check event-size wait_for "EVENT reconfig hba=8 dev=hot0 .*reconf=0x2 size=16777216 "
check size-applied grep -qx 16777216 "$U/attrib/dev_size"
check reconfig-wce timeout 30 bash -c "echo 1 >$U/attrib/emulate_write_cache"
check event-wce wait_for "EVENT reconfig hba=8 dev=hot0 .*reconf=0x4 .*wce=1"
check reconfig-cfg timeout 30 bash -c \
    "echo -n tpcd/file=/scratch/img/hot1 >$U/attrib/dev_config"
check event-cfg wait_for \
    "EVENT reconfig hba=8 dev=hot0 subtype=tpcd cfg=file=/scratch/img/hot1 .*reconf=0x1"
check cfg-uio-renamed grep -qx "tcm-user/8/hot0/tpcd/file=/scratch/img/hot1" \
    /sys/class/uio/uio*/name
fails reconfig-refused timeout 30 bash -c \
    "echo -n tpcd/refuse >$U/attrib/dev_config"
check event-refused wait_for "EVENT reconfig hba=8 dev=hot0 subtype=tpcd cfg=refuse"
check refused-kept grep -qx "tpcd/file=/scratch/img/hot1" "$U/attrib/dev_config"

section "netlink: foreign devices"
FD=$CFS/core/user_9/optout
check foreign-optout timeout 30 bash -c "mkdir -p $FD && \
    echo -n dev_config=qcow/x >$FD/control && \
    echo -n dev_size=1048576 >$FD/control && \
    echo -n -1 >$FD/attrib/nl_reply_supported && echo -n 1 >$FD/enable"
check foreign-optout-remove timeout 30 rmdir "$FD"
check foreign-not-reported bash -c "! grep -q optout $OUT"
# Not opted out: the kernel waits for tcmu-runner, which is not running;
# the documented way out is block_netlink + reset_netlink.
FW=$CFS/core/user_9/waits
mkdir -p "$FW" && echo -n dev_config=qcow/x >"$FW/control" &&
    echo -n dev_size=1048576 >"$FW/control"
(echo -n 1 >"$FW/enable"; echo "enable-exit $?" >/tmp/fw.rc) 2>/dev/null &
FWPID=$!
sleep 3
check foreign-waits test ! -e /tmp/fw.rc
echo 1 >$PARAM/block_netlink
echo 1 >$PARAM/reset_netlink
wait "$FWPID"
echo 0 >$PARAM/block_netlink
show cat /tmp/fw.rc
check foreign-reset-fails grep -q "enable-exit [1-9]" /tmp/fw.rc
rmdir "$FW" 2>/dev/null
check foreign-not-answered bash -c "! grep -q 'dev=waits' $OUT"

section "copy scope from a real iSCSI TPG"
need create-pre1 timeout 30 bash -c "$(declare -f mkuser); CFS=$CFS; \
    mkuser 7 pre1 tpcd/file=/scratch/img/pre1 16777216"
check event-added-pre1 wait_for "EVENT added hba=7 dev=pre1 "
T=$CFS/iscsi/iqn.2003-01.org.tpcd:scope/tpgt_1
mkdir -p "$T/lun/lun_0" "$T/lun/lun_1"
ln -s $CFS/core/user_7/pre0 "$T/lun/lun_0/l0"
ln -s $CFS/core/user_7/pre1 "$T/lun/lun_1/l1"
show ls -l "$T/lun/lun_0" "$T/lun/lun_1"
echo 1 >"$T/attrib/generate_node_acls"
echo 0 >"$T/attrib/demo_mode_write_protect"
check scope-demo-covered bash -c "$PROBE reach 7 pre0 7 pre1 | grep -qx covered"
echo 0 >"$T/attrib/generate_node_acls"
A=$T/acls/iqn.2004-10.com.example:one
mkdir -p "$A/lun_0"
ln -s "$T/lun/lun_0" "$A/lun_0/m0"
show ls -l "$A/lun_0"
check scope-acl-a-only bash -c "$PROBE reach 7 pre0 7 pre1 | grep -qx 'not covered'"
check scope-acl-b-unexported-to-acl bash -c "$PROBE reach 7 pre1 7 pre0 | grep -qx covered"
mkdir -p "$A/lun_1"
ln -s "$T/lun/lun_1" "$A/lun_1/m1"
check scope-acl-both bash -c "$PROBE reach 7 pre0 7 pre1 | grep -qx covered"
echo 1 >"$A/lun_1/write_protect"
check scope-acl-ro bash -c "$PROBE reach 7 pre0 7 pre1 | grep -qx 'not covered'"
rm -f "$A/lun_0/m0" "$A/lun_1/m1"
rmdir "$A/lun_0" "$A/lun_1" "$A"
rm -f "$T/lun/lun_0/l0" "$T/lun/lun_1/l1"
rmdir "$T/lun/lun_0" "$T/lun/lun_1" "$T" "$(dirname "$T")"

section "netlink: removal answered"
check hot-remove timeout 30 rmdir "$U"
check event-removed wait_for "EVENT removed hba=8 dev=hot0 "
check remove-pre1 timeout 30 rmdir $CFS/core/user_7/pre1
check event-removed-pre1 wait_for "EVENT removed hba=7 dev=pre1 "
check remove-pre0 timeout 30 rmdir $CFS/core/user_7/pre0
check event-removed-pre0 wait_for "EVENT removed hba=7 dev=pre0 "

section "probe closed: reply support withdrawn"
probe_stop
show cat "$OUT"
check probe-closed grep -q CLOSED "$OUT"
show bash -c "dmesg | grep -i 'tcmu daemon' | tail -n 2"
check no-wait-after-close timeout 30 bash -c "$(declare -f mkuser); \
    CFS=$CFS; mkuser 8 after0 tpcd/file=/scratch/img/after0 1048576"
check no-wait-remove timeout 30 rmdir $CFS/core/user_8/after0
rmdir $CFS/core/user_7/other0 2>/dev/null
show bash -c "dmesg | grep -iE 'tcmu|target' | tail -n 20"
vm_finish
