#!/bin/bash
# Boot the test guest made by build-image.sh, run one GUEST_SCRIPT in it as
# root, stream the script's output to stdout and exit with its status.  The
# guest has no network card (loopback only); its root disk is a throw-away
# snapshot, so every run starts from the same clean image.  A guest still
# running after the timeout is killed.
#
# Usage: run-guest.sh [options] GUEST_SCRIPT [ARGS...]
#   -s DIR      share the source tree DIR read-only at /mnt/src
#   -b DIR      share the build tree DIR read-write at /mnt/build
#               (the guest gets TPCD=/mnt/build/tpcd)
#   -e VAR=VAL  environment variable for the guest script (repeatable)
#   -m MB       guest memory (default 2048)
#   -c N        guest CPUs (default: host CPUs, at most 4)
#   -t SECONDS  kill the guest after SECONDS (default 600)
#   -d MB       scratch disk at /scratch, fresh ext4 (default 4096; 0 = none)
#   -n SPEC     emulated NVMe controller with one namespace (repeatable;
#               the Nth has serial tpcdnvme{N-1}); SPEC is
#               MB[,mssrl=N][,mcl=N][,msrc=N][,lbs=BYTES] (size in MiB, Copy
#               limits in blocks, msrc 0-based; defaults 1024, 4096, 7, 512)
#   -l FILE     keep the guest's console log (kernel, vm-init) in FILE
#   -a ACCEL    kvm, tcg or auto (default auto: kvm only when /dev/kvm is
#               usable and the CPU has vmx/svm, else tcg)
# Environment: TPCD_VM_DIR (image, default /var/tmp/tpcd-vm), TPCD_VM_ACCEL,
#   TPCD_VM_QEMU (default qemu-system-x86_64).
# In the guest: VM_SRC and VM_BUILD (the shares), TPCD, VM_SCRATCH=/scratch,
#   VM_NVME=N; the script starts in VM_SRC (else /root); stdin is /dev/null.
# Exit status: the script's; 124 = timeout (guest killed); 125 = the guest
#   stopped before the script ended (console tail on stderr); 2 = usage.
#
# shellcheck disable=SC2054,SC2317	# commas in qemu values; trap functions
set -euo pipefail

VM_DIR=${TPCD_VM_DIR:-/var/tmp/tpcd-vm}
QEMU=${TPCD_VM_QEMU:-qemu-system-x86_64}
ACCEL=${TPCD_VM_ACCEL:-auto}
TIMEOUT=600
MEM=2048
NCPU=$(nproc)
[ "$NCPU" -gt 4 ] && NCPU=4
SCRATCH_MB=4096
SRC=""
BUILD=""
CONSOLE_LOG=""
ENVS=()
NVME_SPECS=()

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e '/shellcheck/d' \
	    -e 's/^# \{0,1\}//' >&2
	exit 2
}
say() { echo "run-guest: $*" >&2; }
bad() { say "$*"; exit 2; }

while getopts "s:b:e:m:c:t:d:n:l:a:h" opt; do
	case $opt in
	s) SRC=$(cd "$OPTARG" && pwd -P) || bad "no directory $OPTARG" ;;
	b) BUILD=$(cd "$OPTARG" && pwd -P) || bad "no directory $OPTARG" ;;
	e) [[ $OPTARG =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || bad "bad -e $OPTARG"
	   ENVS+=("$OPTARG") ;;
	m) MEM=$OPTARG ;;
	c) NCPU=$OPTARG ;;
	t) TIMEOUT=$OPTARG ;;
	d) SCRATCH_MB=$OPTARG ;;
	n) NVME_SPECS+=("$OPTARG") ;;
	l) CONSOLE_LOG=$OPTARG ;;
	a) ACCEL=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
SCRIPT=$1
shift
[ -f "$SCRIPT" ] || bad "no such script: $SCRIPT"
for n in MEM NCPU TIMEOUT SCRATCH_MB; do
	[[ ${!n} =~ ^[0-9]+$ ]] || bad "$n must be a number"
done
for f in vmlinuz initrd.img rootfs.img; do
	[ -f "$VM_DIR/$f" ] || bad "missing $VM_DIR/$f: run build-image.sh first"
done
command -v "$QEMU" >/dev/null ||
    bad "missing $QEMU (apt-get install qemu-system-x86)"

# KVM only where it really works.  Some cloud VMs have a /dev/kvm that is a
# software "PVM" variant: it boots only specially built guest kernels and a
# stock Debian kernel hangs early.  There the CPU flags lack vmx/svm.
if [ "$ACCEL" = auto ]; then
	if [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
	    grep -qwE 'vmx|svm' /proc/cpuinfo; then
		ACCEL=kvm
	else
		ACCEL=tcg
	fi
fi
case $ACCEL in
kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
tcg) ACCEL_ARGS=(-accel tcg,thread=multi -cpu max) ;;
*) bad "bad accelerator $ACCEL (kvm, tcg or auto)" ;;
esac

RUN=$(mktemp -d "$VM_DIR/run.XXXXXX")
QPID=""
cleanup() {
	if [ -n "$QPID" ]; then
		kill "$QPID" 2>/dev/null || true
		wait "$QPID" 2>/dev/null || true
	fi
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM HUP

CTL=$RUN/ctl
mkdir -p "$CTL"
cp "$SCRIPT" "$CTL/script"
: >"$CTL/args"
for a in "$@"; do
	printf '%s\0' "$a" >>"$CTL/args"
done

QARGS=(-nodefaults -no-user-config -display none -monitor none -nic none
    -no-reboot "${ACCEL_ARGS[@]}" -m "$MEM" -smp "$NCPU"
    -kernel "$VM_DIR/vmlinuz" -initrd "$VM_DIR/initrd.img"
    -append "console=ttyS0 panic=-1 mitigations=off log_buf_len=4M rw"
    -drive "file=$VM_DIR/rootfs.img,format=raw,if=virtio,snapshot=on"
    -fsdev "local,id=vmctl,path=$CTL,security_model=none"
    -device virtio-9p-pci,fsdev=vmctl,mount_tag=vmctl
    -serial "file:$RUN/console.log"
    -chardev stdio,id=out,signal=off
    -serial chardev:out)

VM_SRC="" VM_BUILD=""
if [ -n "$BUILD" ]; then
	VM_BUILD=/mnt/build
	QARGS+=(-fsdev "local,id=vmbuild,path=$BUILD,security_model=none"
	    -device virtio-9p-pci,fsdev=vmbuild,mount_tag=vmbuild)
fi
if [ -n "$SRC" ] && [ "$SRC" = "$BUILD" ]; then
	VM_SRC=/mnt/build		# in-tree build: one share
elif [ -n "$SRC" ]; then
	VM_SRC=/mnt/src
	QARGS+=(-fsdev "local,id=vmsrc,path=$SRC,security_model=none,readonly=on"
	    -device virtio-9p-pci,fsdev=vmsrc,mount_tag=vmsrc)
fi
if [ "$SCRATCH_MB" -gt 0 ]; then
	truncate -s "${SCRATCH_MB}M" "$RUN/scratch.img"
	mke2fs -q -F -t ext4 -L scratch "$RUN/scratch.img" >/dev/null 2>&1 ||
	    bad "cannot format the scratch disk"
	QARGS+=(-drive "file=$RUN/scratch.img,format=raw,if=virtio,cache=unsafe,discard=unmap")
fi

# -n SPEC: one NVMe controller with one namespace on a sparse file.
i=0
for spec in ${NVME_SPECS[@]+"${NVME_SPECS[@]}"}; do
	IFS=, read -r -a parts <<<"$spec"
	mb=${parts[0]}
	[[ $mb =~ ^[1-9][0-9]*$ ]] || bad "bad -n $spec (size in MiB first)"
	mssrl=1024 mcl=4096 msrc=7 lbs=512
	for p in "${parts[@]:1}"; do
		v=${p#*=}
		[[ $v =~ ^[0-9]+$ ]] || bad "bad -n $spec ($p)"
		case $p in
		mssrl=*) mssrl=$v ;;
		mcl=*) mcl=$v ;;
		msrc=*) msrc=$v ;;
		lbs=*) lbs=$v ;;
		*) bad "bad -n $spec ($p: mssrl, mcl, msrc or lbs)" ;;
		esac
	done
	truncate -s "${mb}M" "$RUN/nvme$i.img"
	QARGS+=(-drive "file=$RUN/nvme$i.img,format=raw,if=none,id=nvmedrv$i,cache=unsafe,discard=unmap"
	    -device "nvme,id=nvme$i,serial=tpcdnvme$i"
	    -device "nvme-ns,drive=nvmedrv$i,bus=nvme$i,nsid=1,logical_block_size=$lbs,physical_block_size=$lbs,mssrl=$mssrl,mcl=$mcl,msrc=$msrc")
	i=$((i + 1))
done
NVME_N=$i

{
	[ -n "$VM_SRC" ] && printf 'VM_SRC=%s\n' "$VM_SRC"
	[ -n "$VM_BUILD" ] && printf 'VM_BUILD=%s\nTPCD=%s/tpcd\n' \
	    "$VM_BUILD" "$VM_BUILD"
	[ "$SCRATCH_MB" -gt 0 ] && echo "VM_SCRATCH=/scratch"
	echo "VM_NVME=$NVME_N"
	echo "VM_ACCEL=$ACCEL"
	for e in ${ENVS[@]+"${ENVS[@]}"}; do
		printf '%s=%q\n' "${e%%=*}" "${e#*=}"
	done
} >"$CTL/env"

say "booting ($ACCEL, $NCPU CPUs, $MEM MiB, $NVME_N NVMe, timeout $TIMEOUT s): ${SCRIPT##*/}"
T0=$SECONDS
timeout -k 10 "$TIMEOUT" "$QEMU" "${QARGS[@]}" </dev/null &
QPID=$!
set +e
wait "$QPID"
QRC=$?
set -e
QPID=""
[ -n "$CONSOLE_LOG" ] && cp "$RUN/console.log" "$CONSOLE_LOG"

if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
	say "guest killed after the $TIMEOUT s timeout; console log tail:"
	tail -n 20 "$RUN/console.log" | tr -d '\r' >&2
	exit 124
fi
if [ ! -s "$CTL/rc" ]; then
	say "guest stopped (qemu status $QRC) before the script ended; console log tail:"
	tail -n 30 "$RUN/console.log" | tr -d '\r' >&2
	exit 125
fi
RC=$(cat "$CTL/rc")
say "script exited with status $RC, $((SECONDS - T0)) s from boot to power-off"
exit "$RC"
