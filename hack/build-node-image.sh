#!/usr/bin/env bash
# Builds a node image: the Debian 12 guest image (hack/build-guest-image.sh) with the offline
# bundle at offline_bundle_path, as the seed's node image carried its vmware-kubernetes
# tarball, and optionally more files. Nothing is installed from the bundle: the node scripts do
# that at first boot (package_source: bundle).
#
#   hack/build-node-image.sh [--bundle DIR] [--bundle-path /opt/epks] [--add SRC=DEST]...
#
#   --bundle DIR          the bundle (make bundle) [$EPKS_CACHE/bundle]
#   --bundle-path PATH    where it goes in the image, offline_bundle_path [/opt/epks]
#   --add SRC=DEST        a file or directory SRC copied to DEST in the image (repeatable;
#                         the boot test adds its CNI plugins to /opt/cni/bin so)
#
# Output, once per distinct input (a hash of the guest image, this script, the bundle's
# SHA256SUMS and manifest, and the added files); the last line printed is the .qcow2 path:
#
#   $EPKS_CACHE/images/node-debian-12-<hash>.qcow2   ext4, no partition table
#   $EPKS_CACHE/images/node-debian-12-<hash>.vmlinuz, .initrd   the guest image's
#
# The file system is made from a directory with mkfs.ext4 -d: no loop device, no mount (the
# host's kernel may have no modules). Older node images are removed. Needs root (the tree keeps
# its ownership) and the packages of hack/build-guest-image.sh.
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "$0")/lib.sh"

bundle=$EPKS_CACHE/bundle
bundle_path=/opt/epks
adds=()
while [ $# -gt 0 ]; do
  case $1 in
  --bundle) bundle=$2; shift 2 ;;
  --bundle-path) bundle_path=$2; shift 2 ;;
  --add) adds+=("$2"); shift 2 ;;
  *) log "usage: $0 [--bundle DIR] [--bundle-path PATH] [--add SRC=DEST]..."; exit 2 ;;
  esac
done
problems=()
[ -f "$bundle/SHA256SUMS" ] || problems+=("--bundle $bundle has no SHA256SUMS: run make bundle")
case $bundle_path in /?*) ;; *) problems+=("--bundle-path $bundle_path is not an absolute path") ;; esac
for a in ${adds[@]+"${adds[@]}"}; do
  src=${a%%=*} dest=${a#*=}
  if [ "$src" = "$a" ] || [ ! -e "$src" ]; then problems+=("--add $a: no file or directory SRC"); fi
  case $dest in /?*) ;; *) problems+=("--add $a: DEST is not an absolute path") ;; esac
done
if [ ${#problems[@]} -gt 0 ]; then
  printf '%s\n' "${problems[@]}" >&2
  exit 2
fi

guest=$("$EPKS_ROOT/hack/build-guest-image.sh" | tail -n1)
guest_stem=${guest%.qcow2}
dir=$(dirname "$guest")

# The inputs: the guest image (its name holds its recipe's hash), this script, the bundle's
# checksums (every file of it) and manifest, and what is added, by destination and content.
hash=$( {
  basename "$guest_stem"
  cat "$0" "$bundle/SHA256SUMS" "$bundle/manifest.json"
  echo "$bundle_path"
  for a in ${adds[@]+"${adds[@]}"}; do
    echo "${a#*=}"
    (cd "${a%%=*}" 2>/dev/null && find . -type f -print0 | sort -z | xargs -0 sha256sum) || sha256sum <"${a%%=*}"
  done
} | sha256sum | cut -c1-12)
stem=$dir/node-debian-12-$hash
if [ -f "$stem.qcow2" ] && [ -f "$stem.vmlinuz" ] && [ -f "$stem.initrd" ]; then
  log "✓ node image $stem.qcow2 (cached)"
  echo "$stem.qcow2"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  log "building the node image needs root (the tree keeps its ownership): sudo $0"
  exit 1
fi

start=$SECONDS
work=$(mktemp -d "$dir/.build-node-debian-12-$hash.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir "$root"
tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' --acls -xpf "$guest_stem.rootfs.tar"
install -d -m 0755 "$root$bundle_path"
cp -a "$bundle/." "$root$bundle_path/"
chown -R 0:0 "$root$bundle_path"
for a in ${adds[@]+"${adds[@]}"}; do
  src=${a%%=*} dest=${a#*=}
  install -d -m 0755 "$root$(dirname "$dest")"
  if [ -d "$src" ]; then
    install -d -m 0755 "$root$dest"
    cp -a "$src/." "$root$dest/"
  else
    cp -a "$src" "$root$dest"
  fi
  chown -R 0:0 "$root$dest"
done
# The guest's 3 GiB plus what was added, with room for the packages the node installs and
# the images containerd unpacks (cloud-init grows the file system to the flavor's disk).
used_mib=$(du -sm "$root" | cut -f1)
size_mib=$(( (used_mib * 2 + 2048 + 1023) / 1024 * 1024 ))
log "ext4 file system of ${size_mib} MiB from the guest tree and $(du -sh "$bundle" | cut -f1) of bundle at $bundle_path ($((SECONDS - start))s)"
mkfs.ext4 -q -L epks-root -d "$root" "$work/disk.raw" "${size_mib}M"
rm -rf "$root"
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/disk.qcow2"
rm -f "$dir"/node-debian-12-*.qcow2 "$dir"/node-debian-12-*.vmlinuz "$dir"/node-debian-12-*.initrd
cp "$guest_stem.vmlinuz" "$stem.vmlinuz"
cp "$guest_stem.initrd" "$stem.initrd"
mv "$work/disk.qcow2" "$stem.qcow2"
log "✓ node image $stem.qcow2 ($(du -h "$stem.qcow2" | cut -f1); built in $((SECONDS - start))s)"
echo "$stem.qcow2"
