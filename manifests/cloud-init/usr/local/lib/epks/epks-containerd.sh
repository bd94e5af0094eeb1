#!/bin/bash
# epks-containerd.sh configures containerd for the kubelet (the systemd cgroup driver and
# kubeadm's pause image) and imports the offline images: every tarball of
# <offline_bundle_path>/images and the NCP image of the NCP package, into containerd's k8s.io
# namespace, as the seed's `docker load` did. Imported images are pinned, so that the
# kubelet's image garbage collection keeps them on an air-gapped node.
#
# Usage: epks-containerd.sh [config|import]   (both by default)
set -euo pipefail

env_file=${EPKS_ENV:-/etc/epks/node.env}
# shellcheck source=node.env
. "$env_file"
shopt -s nullglob
ctr=(ctr --namespace k8s.io)

# images_needed lists the images kubeadm runs on this node: all of them on control-plane
# nodes; pause and kube-proxy on workers.
images_needed() {
  kubeadm config images list --kubernetes-version "$EPKS_KUBERNETES_VERSION" 2>/dev/null |
    if [ "$EPKS_ROLE" = worker ]; then grep -E '/(pause|kube-proxy):'; else cat; fi
}

configure() {
  local pause major
  pause=$(images_needed | grep /pause: | head -n 1)
  pause=${pause:-registry.k8s.io/pause:3.10.1}
  major=$(containerd --version | awk '{ print $3 }' | sed 's/^v//' | cut -d. -f1)
  install -d -m 0755 /etc/containerd
  if [ "$major" -ge 2 ]; then
    cat >/etc/containerd/config.toml <<TOML
# Written by epks-containerd.sh (containerd 2): the kubelet's systemd cgroup driver.
version = 3

[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = '$pause'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = 'io.containerd.runc.v2'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  SystemdCgroup = true
TOML
  else
    cat >/etc/containerd/config.toml <<TOML
# Written by epks-containerd.sh (containerd 1.x): the kubelet's systemd cgroup driver.
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true
TOML
  fi
  systemctl enable containerd
  systemctl restart containerd
  for _ in $(seq 60); do
    if "${ctr[@]}" version >/dev/null 2>&1; then
      echo "containerd $major.x configured with the systemd cgroup driver and $pause"
      return 0
    fi
    sleep 1
  done
  echo "containerd did not come up after its restart" >&2
  return 1
}

import_images() {
  local f n=0 ref missing=()
  for f in "$EPKS_BUNDLE"/images/*.tar "$EPKS_BUNDLE"/images/*.tar.gz "$EPKS_BUNDLE"/images/*.tgz \
    /opt/epks/nsx/*/Kubernetes/nsx-ncp-*.tar; do
    case $f in
    *.gz | *.tgz) gzip -dc "$f" | "${ctr[@]}" images import - ;;
    *) "${ctr[@]}" images import "$f" ;;
    esac
    n=$((n + 1))
  done
  while read -r ref; do
    [ -n "$ref" ] || continue
    "${ctr[@]}" images label "$ref" io.cri-containerd.pinned=pinned >/dev/null ||
      echo "warning: could not pin $ref; the kubelet may remove it when the disk fills" >&2
  done < <("${ctr[@]}" images ls -q)
  echo "imported $n image tarball(s); containerd holds $("${ctr[@]}" images ls -q | grep -c .) image(s)"

  # The list is read whole first: grep -q in a pipe from ctr would stop reading early, and
  # ctr's SIGPIPE would fail the pipe (pipefail) with the image there.
  local have
  have=$("${ctr[@]}" images ls -q)
  while read -r ref; do
    [ -n "$ref" ] || continue
    grep -qxF "$ref" <<<"$have" || missing+=("$ref")
  done < <(images_needed)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$EPKS_PACKAGE_SOURCE" = bundle ]; then
      echo "the offline bundle lacks images kubeadm needs: ${missing[*]}; add their tarballs to $EPKS_BUNDLE/images" >&2
      return 1
    fi
    echo "kubeadm will pull: ${missing[*]}"
  fi
}

case ${1:-all} in
config) configure ;;
import) import_images ;;
all) configure && import_images ;;
*)
  echo "usage: $0 [config|import]" >&2
  exit 2
  ;;
esac
