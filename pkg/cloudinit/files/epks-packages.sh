#!/bin/bash
# epks-packages.sh installs containerd, kubelet, kubeadm, kubectl and, when OVS runs on the
# host, Open vSwitch: from the package repositories (package_source: apt) or from the .deb
# files of the offline bundle (package_source: bundle), then holds them at their versions.
# With an NCP package on the image (nsx_package_path) that has Open vSwitch packages for
# this release of Ubuntu, OVS comes from it, as on the seed's nodes.
# A bundle made by `make bundle` (docs/bundle.md) is checked against its SHA256SUMS first;
# `epks-packages.sh verify` does only that.
# Arrays that may be empty expand as ${a[@]+"${a[@]}"}: bash 4.3 (Ubuntu 16.04) calls an empty
# array unbound under set -u.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

env_file=${EPKS_ENV:-/etc/epks/node.env}
# shellcheck source=node.env
. "$env_file"
# shellcheck source=/dev/null
. /etc/os-release
codename=${VERSION_CODENAME:-${UBUNTU_CODENAME:-}}
# ubuntu or debian: Docker's repository of containerd.io is per distribution.
distro=${ID:-ubuntu}
version=${EPKS_KUBERNETES_VERSION#v}
minor=${EPKS_KUBERNETES_VERSION%.*}
shopt -s nullglob

# verify_bundle checks every file of the offline bundle against its SHA256SUMS, when it has one
# (a bundle put together by hand may not).
verify_bundle() {
  if [ ! -f "$EPKS_BUNDLE/SHA256SUMS" ]; then
    echo "$EPKS_BUNDLE has no SHA256SUMS: its files are not checked"
    return 0
  fi
  if ! (cd "$EPKS_BUNDLE" && sha256sum --check --quiet --strict SHA256SUMS); then
    echo "the offline bundle in $EPKS_BUNDLE does not match its SHA256SUMS (files named above): copy it again" >&2
    return 1
  fi
  echo "offline bundle $EPKS_BUNDLE: $(grep -c . "$EPKS_BUNDLE/SHA256SUMS") files match SHA256SUMS"
}
if [ "${1:-}" = verify ]; then
  verify_bundle
  exit
fi

# The NCP package, unpacked once (python3 comes with cloud-init; unzip may not be there).
nsx_dir=/opt/epks/nsx
if [ -n "$EPKS_NSX_PACKAGE" ] && [ -f "$EPKS_NSX_PACKAGE" ] && [ ! -d "$nsx_dir" ]; then
  python3 -m zipfile -e "$EPKS_NSX_PACKAGE" "$nsx_dir.tmp"
  mv "$nsx_dir.tmp" "$nsx_dir"
fi
nsx_ovs=()
if [ "$EPKS_OVS" = host ]; then
  nsx_ovs=("$nsx_dir"/*/OpenvSwitch/"${codename}"_amd64/*.deb)
fi

extra=()
if [ "$EPKS_OVS" = host ] && [ ${#nsx_ovs[@]} -eq 0 ]; then
  extra+=(openvswitch-switch)
fi
if [ "$EPKS_NETWORK_CONFIG" = ifupdown ]; then
  extra+=(ifupdown)
fi

case $EPKS_PACKAGE_SOURCE in
bundle)
  verify_bundle
  debs=("$EPKS_BUNDLE"/debs/*.deb)
  if [ ${#debs[@]} -eq 0 ]; then
    echo "package_source is bundle, but $EPKS_BUNDLE/debs holds no .deb files" >&2
    exit 1
  fi
  if ! dpkg -i "${debs[@]}" ${nsx_ovs[@]+"${nsx_ovs[@]}"}; then
    echo "dpkg could not install the packages of $EPKS_BUNDLE/debs: add the missing dependencies named above" >&2
    exit 1
  fi
  ;;
apt)
  apt-get update -q
  apt-get install -y -q ca-certificates curl gnupg conntrack socat ${extra[@]+"${extra[@]}"}
  if [ ${#nsx_ovs[@]} -gt 0 ]; then
    dpkg -i "${nsx_ovs[@]}" || apt-get install -f -y -q
  fi
  # Kubernetes from pkgs.k8s.io and containerd 2 from Docker's repository, as the
  # Kubernetes documentation installs them; both keys are fetched over verified TLS.
  install -d -m 0755 /etc/apt/keyrings
  curl -fsSL "https://pkgs.k8s.io/core:/stable:/$minor/deb/Release.key" |
    gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg
  echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/$minor/deb/ /" \
    >/etc/apt/sources.list.d/kubernetes.list
  curl -fsSL "https://download.docker.com/linux/$distro/gpg" -o /etc/apt/keyrings/docker.asc
  echo "deb [signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/$distro $codename stable" \
    >/etc/apt/sources.list.d/docker.list
  chmod 0644 /etc/apt/keyrings/kubernetes-apt-keyring.gpg /etc/apt/keyrings/docker.asc
  apt-get update -q
  pinned=()
  for p in kubelet kubeadm kubectl; do
    v=$(apt-cache madison "$p" | awk -v want="$version" '$3 ~ "^" want "-" { print $3; exit }')
    if [ -z "$v" ]; then
      echo "pkgs.k8s.io has no $p $version for $minor" >&2
      exit 1
    fi
    pinned+=("$p=$v")
  done
  apt-get install -y -q containerd.io "${pinned[@]}"
  ;;
*)
  echo "unknown package source $EPKS_PACKAGE_SOURCE" >&2
  exit 1
  ;;
esac
for p in kubelet kubeadm kubectl containerd.io containerd; do
  if dpkg-query -W "$p" >/dev/null 2>&1; then
    apt-mark hold "$p" >/dev/null
  fi
done

missing=()
for c in containerd ctr kubelet kubeadm kubectl; do
  command -v "$c" >/dev/null || missing+=("$c")
done
if [ "$EPKS_OVS" = host ]; then
  command -v ovs-vsctl >/dev/null || missing+=(ovs-vsctl)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "not installed: ${missing[*]}" >&2
  exit 1
fi
got=$(kubeadm version -o short)
if [ "$got" != "$EPKS_KUBERNETES_VERSION" ]; then
  echo "kubeadm is $got, but kubernetes_version is $EPKS_KUBERNETES_VERSION" >&2
  exit 1
fi
if [ "$EPKS_OVS" = host ]; then
  systemctl enable --now openvswitch-switch
fi
systemctl enable kubelet
echo "installed containerd $(containerd --version | awk '{ print $3 }'), kubeadm $got"
