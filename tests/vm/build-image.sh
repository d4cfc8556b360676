#!/bin/bash
# Build the throw-away Debian 12 guest that tests/vm/run-guest.sh boots:
# a Debian kernel, a busybox initramfs and an ext4 root image holding
# open-iscsi, sg3_utils, ddpt, libiscsi-bin, nvme-cli, xfsprogs, LIO's
# targetcli and the shared libraries tpcd links against.
#
# The image is rebuilt only when its recipe changes.  The recipe is this
# script plus tests/vm/image/* (package list, guest init, initramfs init);
# its SHA-256 is stored next to the image.  Two stages:
#   base   debootstrap + packages (about 1.5 min), redone when
#          image/packages.txt, TPCD_VM_EXTRA_PACKAGES or BASE_VERSION change
#   image  guest configuration, initramfs, ext4 image (seconds), redone
#          when any recipe file changes
#
# Usage: build-image.sh [--force | --check]
#   --force  rebuild both stages
#   --check  exit 0 if the image is up to date, 1 if not (builds nothing)
# Environment:
#   TPCD_VM_DIR             cache directory (default /var/tmp/tpcd-vm)
#   TPCD_VM_MIRROR          Debian mirror (default: the one this host's apt uses)
#   TPCD_VM_EXTRA_PACKAGES  more guest packages (space separated)
# Output in $TPCD_VM_DIR: vmlinuz, initrd.img, rootfs.img, image.recipe,
#   base/ (unpacked root file system, kept for fast re-packing), build logs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_DIR=${TPCD_VM_DIR:-/var/tmp/tpcd-vm}
SUITE=bookworm
# Bump when the base stage below changes in a way that needs a new rootfs.
BASE_VERSION=1
BASE=$VM_DIR/base
ROOT_FREE_MB=1024
INITRD_MODULES="virtio_pci virtio_blk ext4"

log() { printf '[build-image %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

recipe_hash() {
	{
		cat "$HERE/build-image.sh"
		for f in "$HERE"/image/*; do
			printf '%s\n' "${f##*/}"
			cat "$f"
		done
		printf 'extra=%s\n' "${TPCD_VM_EXTRA_PACKAGES:-}"
	} | sha256sum | cut -d' ' -f1
}

package_list() {
	sed -e 's/#.*//' "$HERE/image/packages.txt" | tr -s ' \t\n' '\n' |
	    grep -v '^$'
	for p in ${TPCD_VM_EXTRA_PACKAGES:-}; do
		printf '%s\n' "$p"
	done
}

base_hash() {
	{
		printf 'suite=%s base=%s\n' "$SUITE" "$BASE_VERSION"
		package_list
	} | sha256sum | cut -d' ' -f1
}

image_current() {
	local f
	for f in vmlinuz initrd.img rootfs.img image.recipe; do
		[ -s "$VM_DIR/$f" ] || return 1
	done
	[ "$(cat "$VM_DIR/image.recipe")" = "$(recipe_hash)" ]
}

# The Debian mirror this host's apt already uses: one-line sources
# (sources.list, *.list) or deb822 (*.sources).  Read at run time only.
detect_mirror() {
	local m
	m=$(grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list \
	    /etc/apt/sources.list.d/*.list |
	    sed -e 's/\[[^]]*\]//' |
	    awk -v s="$SUITE" '$3 == s { print $2; exit }') || true
	if [ -z "$m" ]; then
		m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		    awk -v s="$SUITE" '
			BEGIN { RS = ""; FS = "\n" }
			{
				t = ""; su = ""; u = ""
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^Types:/) t = " " substr($i, 7) " "
					if ($i ~ /^Suites:/) su = " " substr($i, 8) " "
					if ($i ~ /^URIs:/) u = substr($i, 6)
				}
				gsub(/[ \t]+/, " ", t); gsub(/[ \t]+/, " ", su)
				if (t ~ / deb / && su ~ (" " s " ")) {
					split(u, a, " "); print a[1]; exit
				}
			}') || true
	fi
	[ -n "$m" ] || die "no Debian $SUITE mirror in /etc/apt/sources.list*; set TPCD_VM_MIRROR"
	printf '%s\n' "$m"
}

# Keep the mirror's host name out of the logs left in $VM_DIR.
scrub() {
	local host
	host=$(printf '%s' "$MIRROR" | sed -e 's#^[a-z]*://##' -e 's#[/:].*##' \
	    -e 's/[.[\*^$/]/\\&/g')
	sed -e "s/$host/MIRROR/g"
}

umount_chroot() {
	local m
	for m in "$BASE/dev/pts" "$BASE/proc" "$BASE/sys"; do
		if mountpoint -q "$m" 2>/dev/null; then
			umount -l "$m" || true
		fi
	done
}

build_base() {
	local t0=$SECONDS pkgs d k
	MIRROR=${TPCD_VM_MIRROR:-$(detect_mirror)}
	rm -rf "$BASE"
	log "debootstrap $SUITE (minbase)"
	if ! debootstrap --variant=minbase --components=main "$SUITE" \
	    "$BASE" "$MIRROR" 2>&1 | scrub >"$VM_DIR/debootstrap.log"; then
		tail -n 30 "$VM_DIR/debootstrap.log" >&2
		die "debootstrap failed (log: $VM_DIR/debootstrap.log)"
	fi
	log "debootstrap done ($((SECONDS - t0)) s), installing packages"
	# Temporary apt source; the guest itself has no network.
	echo "deb $MIRROR $SUITE main" >"$BASE/etc/apt/sources.list"
	printf '#!/bin/sh\nexit 101\n' >"$BASE/usr/sbin/policy-rc.d"
	chmod 755 "$BASE/usr/sbin/policy-rc.d"
	# Debian's initramfs is not used (we make our own): keep it small.
	mkdir -p "$BASE/etc/initramfs-tools/conf.d"
	echo "MODULES=list" >"$BASE/etc/initramfs-tools/conf.d/tpcd-vm.conf"
	mount -t proc proc "$BASE/proc"
	mount -t sysfs sysfs "$BASE/sys"
	mkdir -p "$BASE/dev/pts"
	mount -t devpts devpts "$BASE/dev/pts"
	pkgs=$(package_list | tr '\n' ' ')
	# shellcheck disable=SC2086	# $pkgs is a word list
	if ! {
		chroot "$BASE" apt-get update &&
		chroot "$BASE" env DEBIAN_FRONTEND=noninteractive \
		    apt-get install -y --no-install-recommends $pkgs &&
		chroot "$BASE" apt-get clean
	} 2>&1 | scrub >"$VM_DIR/packages.log"; then
		umount_chroot
		tail -n 30 "$VM_DIR/packages.log" >&2
		die "package installation failed (log: $VM_DIR/packages.log)"
	fi
	umount_chroot
	rm -f "$BASE/etc/apt/sources.list" "$BASE/usr/sbin/policy-rc.d"
	rm -rf "$BASE"/var/lib/apt/lists/* "$BASE"/var/cache/apt/*.bin \
	    "$BASE"/boot/initrd.img-* "$BASE"/var/log/bootstrap.log \
	    "$BASE"/usr/share/doc "$BASE"/usr/share/man "$BASE"/usr/share/info \
	    "$BASE"/usr/share/locale
	# Module trees a storage test guest never needs.
	for d in drivers/gpu drivers/media drivers/net/wireless \
	    drivers/net/ethernet drivers/staging drivers/iio drivers/infiniband \
	    drivers/bluetooth sound net/bluetooth net/wireless net/mac80211; do
		rm -rf "$BASE"/lib/modules/*/kernel/$d
	done
	for k in "$BASE"/lib/modules/*; do
		chroot "$BASE" depmod "${k##*/}"
	done
	base_hash >"$BASE/.base-recipe"
	log "packages done ($((SECONDS - t0)) s for the base)"
}

configure_base() {
	log "configuring the guest"
	echo tpcd-vm >"$BASE/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\ttpcd-vm\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
	    >"$BASE/etc/hosts"
	echo "InitiatorName=iqn.2026-11.org.tpcd.vm:initiator" \
	    >"$BASE/etc/iscsi/initiatorname.iscsi"
	# A dead target should fail I/O in seconds, not after 2 minutes.
	sed -i -e 's/^node.session.timeo.replacement_timeout = .*/node.session.timeo.replacement_timeout = 15/' \
	    "$BASE/etc/iscsi/iscsid.conf"
	: >"$BASE/etc/fstab"
	chroot "$BASE" passwd -d root >/dev/null
	[ -s "$BASE/etc/machine-id" ] ||
	    chroot "$BASE" dbus-uuidgen --ensure=/etc/machine-id
	mkdir -p "$BASE/var/lib/dbus" "$BASE/vm" "$BASE/mnt/src" \
	    "$BASE/mnt/build" "$BASE/scratch" \
	    "$BASE"/etc/target/{pr,alua} "$BASE"/etc/rtslib-fb-target/{pr,alua}
	ln -sf /etc/machine-id "$BASE/var/lib/dbus/machine-id"
	install -m 755 "$HERE/image/vm-init" "$BASE/usr/local/sbin/tpcd-vm-init"
	# targetcli: plain output, never save /etc/target on exit.
	chroot "$BASE" python3 - <<'PYEOF'
import os, pickle
p = "/root/.targetcli/prefs.bin"
os.makedirs(os.path.dirname(p), exist_ok=True)
try:
    d = pickle.load(open(p, "rb"))
except Exception:
    d = {}
d.update(color_mode=False, auto_save_on_exit=False,
         logfile="/root/.targetcli/log.txt", loglevel_file="debug",
         loglevel_console="info")
pickle.dump(d, open(p, "wb"))
PYEOF
}

build_initrd() {
	local kver=$1 ird ko
	log "building the initramfs for $kver"
	ird=$(mktemp -d "$VM_DIR/initrd.XXXXXX")
	mkdir -p "$ird"/{bin,dev,proc,sys,newroot}
	cp "$BASE/bin/busybox" "$ird/bin/busybox"
	install -m 755 "$HERE/image/initramfs-init" "$ird/init"
	for m in $INITRD_MODULES; do
		chroot "$BASE" modprobe -S "$kver" --show-depends "$m"
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' \
	    >"$ird/modules.list"
	while read -r ko; do
		mkdir -p "$ird${ko%/*}"
		cp "$BASE$ko" "$ird$ko"
	done <"$ird/modules.list"
	(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) \
	    >"$VM_DIR/initrd.img.new"
	rm -rf "$ird"
}

# The kernel as an uncompressed ELF: qemu boots it through its PVH entry
# point, which skips the decompression (5-8 s under TCG).  Falls back to
# the compressed bzImage when that cannot be done.
extract_kernel() {
	local kver=$1 vmlinuz=$BASE/boot/vmlinuz-$1 off
	if grep -qx 'CONFIG_PVH=y' "$BASE/boot/config-$kver" 2>/dev/null &&
	    command -v xz >/dev/null; then
		off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" |
		    head -n1 | cut -d: -f1)
		# (tail gets SIGPIPE when xz stops at the end of the stream)
		: >"$VM_DIR/vmlinuz.new"
		if [ -n "$off" ]; then
			{ tail -c +"$((off + 1))" "$vmlinuz" || true; } |
			    xz -dc --single-stream >"$VM_DIR/vmlinuz.new" \
			    2>/dev/null || true
		fi
		if [ -n "$off" ] && [ "$(head -c 4 "$VM_DIR/vmlinuz.new" |
		    od -An -c | tr -d ' ')" = '177ELF' ]; then
			log "kernel: uncompressed ELF (PVH boot)"
			return
		fi
	fi
	log "kernel: compressed bzImage"
	cp "$vmlinuz" "$VM_DIR/vmlinuz.new"
}

pack_image() {
	local used size out
	log "packing rootfs.img"
	used=$(du -sm --exclude=./proc --exclude=./sys "$BASE" | cut -f1)
	size=$((used * 12 / 10 + ROOT_FREE_MB))
	rm -f "$VM_DIR/rootfs.img.new"
	out=$(mke2fs -q -t ext4 -L tpcdvm -E root_owner=0:0 -d "$BASE" \
	    "$VM_DIR/rootfs.img.new" "${size}M" 2>&1) ||
	    die "mke2fs failed: $out"
	log "root file system: $used MB used, image $size MB (sparse)"
}

FORCE=0
case "${1:-}" in
--force) FORCE=1 ;;
--check) image_current; exit ;;
"") ;;
*) die "usage: $0 [--force | --check]" ;;
esac

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"
for t in debootstrap chroot mke2fs cpio gzip flock sha256sum xz; do
	command -v "$t" >/dev/null ||
	    die "missing $t (apt-get install debootstrap e2fsprogs cpio xz-utils)"
done
mkdir -p "$VM_DIR"
exec 9>"$VM_DIR/.lock"
flock 9		# one build at a time; a second caller reuses the result
trap umount_chroot EXIT

if [ "$FORCE" = 0 ] && image_current; then
	log "image is up to date ($VM_DIR)"
	exit 0
fi
T0=$SECONDS
if [ "$FORCE" = 1 ] || [ ! -f "$BASE/.base-recipe" ] ||
    [ "$(cat "$BASE/.base-recipe")" != "$(base_hash)" ]; then
	build_base
fi
configure_base
KVER=$(ls "$BASE/lib/modules" | sort -V | tail -n1)
[ -f "$BASE/boot/vmlinuz-$KVER" ] || die "no kernel image for $KVER"
build_initrd "$KVER"
pack_image
extract_kernel "$KVER"
rm -f "$VM_DIR/image.recipe"
mv -f "$VM_DIR/rootfs.img.new" "$VM_DIR/rootfs.img"
mv -f "$VM_DIR/initrd.img.new" "$VM_DIR/initrd.img"
mv -f "$VM_DIR/vmlinuz.new" "$VM_DIR/vmlinuz"
recipe_hash >"$VM_DIR/image.recipe"
log "image built in $((SECONDS - T0)) s (kernel $KVER) in $VM_DIR"
