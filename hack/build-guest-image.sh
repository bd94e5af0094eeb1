#!/usr/bin/env bash
# Builds the Debian 12 (bookworm) guest disk image that `viosim --boot qemu` boots servers
# from, once, into the cache:
#
#   $EPKS_CACHE/images/debian-12-<hash>.qcow2     the root file system (ext4, no partition table)
#   $EPKS_CACHE/images/debian-12-<hash>.vmlinuz   its kernel (linux-image-amd64)
#   $EPKS_CACHE/images/debian-12-<hash>.initrd    its initramfs
#   $EPKS_CACHE/images/debian-12-<hash>.rootfs.tar the same tree as a tar (ownership, modes,
#                                                  xattrs), which hack/build-node-image.sh
#                                                  adds the offline bundle to
#
# QEMU boots the kernel directly (-kernel/-initrd, root=/dev/vda), so the disk needs no boot
# loader. <hash> is a hash of this script and the mirror: a second run with the same recipe
# builds nothing and prints the same path. The last line of the output is the .qcow2 path.
#
# The guest is a Debian cloud image in what matters to epks: a Debian base system (priority
# required and important), systemd, cloud-init (config drive and NoCloud data sources),
# ifupdown with DHCP and net-tools (as Debian 12's cloud images), OpenSSH, python3, curl, gnupg
# and ca-certificates, iproute2, kmod and procps. It holds no containerd,
# Kubernetes or Open vSwitch: the node scripts install those (from the offline bundle).
#
# Needs root (debootstrap chroots) and the packages debootstrap, qemu-utils, e2fsprogs
# (hack/ci-setup.sh). DEBIAN_MIRROR overrides the mirror, which is otherwise the machine's
# first Debian source in /etc/apt.
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "$0")/lib.sh"

suite=bookworm
size=${GUEST_IMAGE_SIZE:-3G}
packages=(
  systemd-sysv udev dbus kmod procps iproute2 iputils-ping netbase ifupdown isc-dhcp-client
  linux-image-amd64 initramfs-tools e2fsprogs
  cloud-init openssh-server sudo python3 ca-certificates curl gnupg less
  # cloud-init's ifupdown configuration sets the default route with net-tools' route.
  net-tools
)

# mirror prints the URI of the machine's first Debian archive source (deb822 or one-line).
mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' "$f"
  done | head -n1
  if [ -f /etc/apt/sources.list ]; then
    awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list
  fi
}
mirror=${DEBIAN_MIRROR:-$(mirror | head -n1)}
mirror=${mirror:-http://deb.debian.org/debian}

hash=$( { cat "$0"; echo "$mirror $size"; } | sha256sum | cut -c1-12)
dir=$EPKS_CACHE/images
stem=$dir/debian-12-$hash
if [ -f "$stem.qcow2" ] && [ -f "$stem.vmlinuz" ] && [ -f "$stem.initrd" ] && [ -f "$stem.rootfs.tar" ]; then
  log "✓ guest image $stem.qcow2 (cached)"
  echo "$stem.qcow2"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  log "building the guest image needs root (debootstrap): sudo $0"
  exit 1
fi
for c in debootstrap qemu-img mkfs.ext4; do
  command -v "$c" >/dev/null || { log "$c is missing: run hack/ci-setup.sh"; exit 1; }
done

start=$SECONDS
install -d "$dir"
work=$(mktemp -d "$dir/.build-debian-12-$hash.XXXXXX")
root=$work/root
cleanup_root() {
  # debootstrap may leave /proc and /sys mounted in the chroot when it fails.
  local m
  for m in proc sys dev/pts dev; do
    if mountpoint -q "$root/$m" 2>/dev/null; then umount -l "$root/$m" || true; fi
  done
  rm -rf "$root"
}
cleanup() {
  cleanup_root
  rm -rf "$work"
}
trap cleanup EXIT

log "debootstrap $suite from $mirror, then ${#packages[@]} packages and their dependencies"
# The downloaded packages are kept between tries (and builds) in the cache; each try starts
# from an empty tree.
debs=$dir/debootstrap-debs
install -d "$debs"
bootstrap() {
  cleanup_root
  # The default variant: a Debian base system (priority required and important), what the
  # offline bundle is made for (docs/bundle.md) and what Debian's cloud images start from;
  # minbase lacks libraries of important packages that the bundle's iptables needs.
  debootstrap --cache-dir="$debs" "$suite" "$root" "$mirror" \
    >"$work/debootstrap.log" 2>&1 && return 0
  tail -n 20 "$work/debootstrap.log" >&2
  [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 20 "$root/debootstrap/debootstrap.log" >&2
  return 1
}
retry bootstrap
log "  debootstrap done ($((SECONDS - start))s); installing the packages with apt"
# apt in the chroot, not debootstrap --include: debootstrap resolves no virtual packages
# (python3-cryptography needs python3-cffi-backend-api-max). No service starts in the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp "$debs"/*.deb "$root/var/cache/apt/archives/" 2>/dev/null || true
apt_in() { chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -o Dpkg::Use-Pty=0 "$@"; }
retry apt_in update -q >"$work/apt.log" 2>&1 || { tail -n 20 "$work/apt.log" >&2; exit 1; }
retry apt_in install -y -q --no-install-recommends "${packages[@]}" >>"$work/apt.log" 2>&1 ||
  { tail -n 30 "$work/apt.log" >&2; exit 1; }
cp -n "$root"/var/cache/apt/archives/*.deb "$debs/" 2>/dev/null || true
for m in dev/pts dev sys proc; do umount "$root/$m"; done
rm -f "$root/usr/sbin/policy-rc.d"

# The guest's configuration: what Debian's cloud images set, for a disk without partitions
# booted with a serial console.
cat >"$root/etc/fstab" <<'EOF'
/dev/vda / ext4 defaults,discard,errors=remount-ro 0 1
EOF
echo localhost >"$root/etc/hostname"
cat >"$root/etc/network/interfaces" <<'EOF'
# Written by hack/build-guest-image.sh; cloud-init writes the NICs into interfaces.d.
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback
EOF
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
EOF
# Nova's config drive first, then NoCloud (a cidata seed disk); nothing probes the network.
cat >"$root/etc/cloud/cloud.cfg.d/90-epks-datasources.cfg" <<'EOF'
datasource_list: [ConfigDrive, NoCloud, None]
EOF
# The host name in /etc/hosts, as Debian's cloud images have it (sudo and kubeadm look it up).
cat >"$root/etc/cloud/cloud.cfg.d/93-epks-hosts.cfg" <<'EOF'
manage_etc_hosts: localhost
EOF
# No locales package: cloud-init leaves the locale as it is (C.UTF-8).
cat >"$root/etc/cloud/cloud.cfg.d/92-epks-locale.cfg" <<'EOF'
locale: false
EOF
# No partition table: there is nothing to grow but the file system itself.
cat >"$root/etc/cloud/cloud.cfg.d/91-epks-disk.cfg" <<'EOF'
growpart:
  mode: "off"
resize_rootfs: true
EOF
# A fresh machine-id and fresh SSH host keys on first boot, as in Debian's cloud images.
: >"$root/etc/machine-id"
rm -f "$root"/etc/ssh/ssh_host_*
chroot "$root" passwd -l root >/dev/null
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/tmp/*

kernel=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' | sort | tail -n1)
initrd=$(find "$root/boot" -maxdepth 1 -name 'initrd.img-*' | sort | tail -n1)
if [ -z "$kernel" ] || [ -z "$initrd" ]; then
  log "no kernel or initramfs in $root/boot"
  exit 1
fi
cp "$kernel" "$work/vmlinuz"
cp "$initrd" "$work/initrd"

log "ext4 file system of $size from the tree ($((SECONDS - start))s)"
mkfs.ext4 -q -L epks-root -d "$root" "$work/disk.raw" "$size"
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/disk.qcow2"
rm -f "$work/disk.raw"
# The tree itself, for images made from it without a mount (the host may have no loop devices).
tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' --acls -cf "$work/rootfs.tar" .
mv "$work/rootfs.tar" "$stem.rootfs.tar"
mv "$work/vmlinuz" "$stem.vmlinuz"
mv "$work/initrd" "$stem.initrd"
mv "$work/disk.qcow2" "$stem.qcow2"
log "✓ guest image $stem.qcow2 ($(du -h "$stem.qcow2" | cut -f1), $(basename "$kernel"); built in $((SECONDS - start))s)"
echo "$stem.qcow2"
