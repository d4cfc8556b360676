#!/bin/bash
# Life cycle of tpcd's TCMU front end behind LIO (iSCSI on 127.0.0.1:3260,
# open-iscsi):
#  - tpcd started after the user: devices exist attaches to them;
#  - kill -9 during O_DIRECT writes, restart: the writes resume and finish
#    without an error (no command lost), the data written before, during
#    and after are intact (SHA-256);
#  - hot-add while tpcd runs: a user: device made through configfs and one
#    made with rtslib-fb (what targetcli uses; targetcli itself has no
#    user:tpcd backstore, see docs/vm-tests.md) are attached and serve I/O;
#  - hot-remove (LUN unlinked, device rmdir) while another device runs I/O:
#    the removal completes, the other I/O finishes and verifies, tpcd
#    detaches (unmaps the ring) and keeps running;
#  - SIGTERM: tpcd exits 0, and with tpcd gone a device rmdir does not
#    hang (tpcd withdrew its netlink reply support).
# vm-options: -t 900
set -u
. "$VM_SRC/tests/vm/guest-lib.sh"
. "$VM_SRC/tests/vm/tcmu-lib.sh"

IQN=iqn.2026-11.org.tpcd.vm:tcmu-life
GIB=1073741824
CONF=/tmp/tpcd-tcmu.json
MIB=1048576

section "user: devices first (configfs), then tpcd"
need modules tcmu_modules
need dev-d0 tcmu_dev_create 1 d0 file=/scratch/d0.img $GIB
need dev-d1 tcmu_dev_create 1 d1 file=/scratch/d1.img $((512 * MIB))
tcmu_tpcd_conf "$CONF"
need tpcd-start tpcd_start -c "$CONF"
need attach-existing-d0 tcmu_attached 1 d0
need attach-existing-d1 tcmu_attached 1 d1

section "LIO iSCSI export, login"
need lio-target lio_target "$IQN" demo
need lio-lun0 lio_lun "$IQN" 0 user_1/d0
need lio-lun1 lio_lun "$IQN" 1 user_1/d1
need discovery vm_iscsi_discover "$IQN"
need login vm_iscsi_login "$IQN" 2
read -r SD0 _ < <(vm_lun_dev "$IQN" 0)
read -r SD1 _ < <(vm_lun_dev "$IQN" 1)
vm_lun_io "$SD1" "$SD0"

section "kill -9 during I/O, restart"
head -c $((32 * MIB)) /dev/urandom >/tmp/before
head -c $((160 * MIB)) /dev/urandom >/tmp/during
head -c $((32 * MIB)) /dev/urandom >/tmp/after
SB=$(sha256sum </tmp/before | cut -c1-64)
SD=$(sha256sum </tmp/during | cut -c1-64)
SA=$(sha256sum </tmp/after | cut -c1-64)
need write-before dd if=/tmp/before of="$SD0" bs=1M oflag=direct \
    conv=fsync status=none
# 160 MiB in 64 KiB O_DIRECT writes at 64 MiB, killed once 8 MiB are
# written: it must still be running then (checked).
dd if=/tmp/during of="$SD0" bs=64k seek=1024 oflag=direct conv=fsync \
    status=none 2>/tmp/dd-during.err &
DD=$!
written() {	# bytes dd has written so far
	awk '$1 == "wchar:" { print $2 }' "/proc/$DD/io" 2>/dev/null || echo 0
}
for _ in $(seq 300); do
	[ "$(written)" -ge $((8 * MIB)) ] 2>/dev/null && break
	kill -0 "$DD" 2>/dev/null || break
	sleep 0.1
done
echo "dd has written $(written) bytes"
check dd-running-at-kill kill -0 "$DD"
OLDPID=$TPCD_PID
check kill-9 kill -KILL "$OLDPID"
wait "$OLDPID" 2>/dev/null
cp "$TPCD_LOG" /tmp/tpcd-before-kill.log
[ -n "${VM_ARTIFACTS:-}" ] && mkdir -p "$VM_ARTIFACTS" &&
    cp "$TPCD_LOG" "$VM_ARTIFACTS/tpcd-before-kill.log"
TPCD_PID=""
sleep 1
check dd-still-running-after-kill kill -0 "$DD"
need tpcd-restart tpcd_start -c "$CONF"
need reattach-d0 tcmu_attached 1 d0
need reattach-d1 tcmu_attached 1 d1
T0=$EPOCHREALTIME
wait "$DD"
RC=$?
echo "dd finished $(vm_since "$T0") after the restart, exit $RC"
cat /tmp/dd-during.err
check dd-completed-without-error test "$RC" = 0
check data-before-intact vm_sha_is "$SD0" 0 $((32 * 2048)) "$SB"
check data-during-intact vm_sha_is "$SD0" $((64 * 2048)) $((160 * 2048)) "$SD"
need write-after dd if=/tmp/after of="$SD0" bs=1M seek=320 oflag=direct \
    conv=fsync status=none
check data-after-intact vm_sha_is "$SD0" $((320 * 2048)) $((32 * 2048)) "$SA"
check data-before-still-intact vm_sha_is "$SD0" 0 $((32 * 2048)) "$SB"
check no-io-errors-logged bash -c "! dmesg | grep -E 'I/O error.*(${SD0#/dev/}|${SD1#/dev/})'"

section "hot-add while tpcd runs: configfs"
need hot-add-d2 tcmu_dev_create 1 d2 file=/scratch/d2.img $((256 * MIB))
need attach-hot-d2 tcmu_attached 1 d2
need lio-lun2 lio_lun "$IQN" 2 user_1/d2
need rescan-d2 tcmu_rescan "$IQN" 3
read -r SD2 SG2 < <(vm_lun_dev "$IQN" 2)
check readcap-d2 bash -c "sg_readcap -l '$SG2' | grep -q 'Device size: $((256 * MIB)) bytes'"
vm_lun_io "$SD2" "$SD0"

section "hot-add while tpcd runs: rtslib-fb (targetcli's library)"
check targetcli-has-no-user-tpcd bash -c \
    "! targetcli ls /backstores 2>&1 | tee /dev/stderr | grep -q 'user:tpcd'"
need hot-add-rtslib timeout 120 python3 -c '
from rtslib_fb import UserBackedStorageObject
so = UserBackedStorageObject("d3", size=268435456,
    config="tpcd/file=/scratch/d3.img")
print(so.path)'
HBA3=$(basename "$(dirname "$(readlink -f "$LIO"/core/user_*/d3)")")
HBA3=${HBA3#user_}
need attach-hot-d3 tcmu_attached "$HBA3" d3
need lio-lun3 lio_lun "$IQN" 3 "user_$HBA3/d3"
need rescan-d3 tcmu_rescan "$IQN" 4
read -r SD3 _ < <(vm_lun_dev "$IQN" 3)
vm_lun_io "$SD3" "$SD2"

section "hot-remove d2 while d0 and d2 run I/O"
NMAP=$(tcmu_mapped_count)
echo "tpcd maps $NMAP uio devices"
head -c $((64 * MIB)) /dev/urandom >/tmp/busy
SBUSY=$(sha256sum </tmp/busy | cut -c1-64)
dd if=/tmp/busy of="$SD0" bs=64k seek=$((512 * 16)) oflag=direct \
    conv=fsync status=none &
DD0=$!
# I/O on the device that goes away: it may fail, it must end.
dd if=/dev/urandom of="$SD2" bs=64k count=2048 oflag=direct status=none \
    2>/dev/null &
DD2=$!
sleep 1
check d0-io-running kill -0 "$DD0"
# LUN unlinked under running I/O: LIO waits for the commands in flight
# (tpcd must complete them), then the initiator gets errors for d2.
check lun2-unlinked timeout 60 bash -c ". '$VM_SRC/tests/vm/tcmu-lib.sh'; lio_lun_del '$IQN' 2"
check d2-rmdir tcmu_dev_remove 1 d2
fails d2-uio-gone tcmu_uio 1 d2
check d2-io-ended timeout 60 bash -c "while kill -0 $DD2 2>/dev/null; do sleep 0.5; done"
check initiator-drops-d2 tcmu_sd_delete "$SD2"
wait "$DD2" 2>/dev/null
wait "$DD0"
check d0-io-completed test $? = 0
check d0-io-sha256 vm_sha_is "$SD0" $((512 * 2048)) $((64 * 2048)) "$SBUSY"
check tpcd-alive kill -0 "$TPCD_PID"
check tpcd-unmapped-d2 test "$(tcmu_mapped_count)" = $((NMAP - 1))
vm_lun_io "$SD3" "$SD1"	# d3 still served
check d0-before-still-intact vm_sha_is "$SD0" 0 $((32 * 2048)) "$SB"

section "stop"
need logout vm_iscsi_logout "$IQN"
check tpcd-stop tpcd_stop
check rmdir-after-stop-no-hang lio_lun_del "$IQN" 3
check d3-rmdir-after-stop tcmu_dev_remove "$HBA3" d3
show dmesg | grep -iE 'tcmu|target_core_user|uio|BUSY' | tail -n 30
vm_finish
