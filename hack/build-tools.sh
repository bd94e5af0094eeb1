#!/usr/bin/env bash
# Builds the upstream binaries that the local control plane, the e2e suite and
# the config validators run, from the modules pinned in hack/tools, into
#   $EPKS_CACHE/bin/<name>-<version>
# A binary already built from the same inputs (the stamp beside it) is not built again,
# so only the first run is slow (about 15 minutes on 2 cores from a cold Go cache).
#
# Usage: hack/build-tools.sh [name...]      (default: every binary)
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "$0")/lib.sh"

k8s_ldflags="-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION \
-X k8s.io/component-base/version.gitMajor=$(echo "$KUBERNETES_VERSION" | cut -d. -f1 | tr -d v) \
-X k8s.io/component-base/version.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2) \
-X k8s.io/component-base/version.gitTreeState=clean"
cpo_ldflags="-X k8s.io/component-base/version.gitVersion=$CLOUD_PROVIDER_OPENSTACK_VERSION \
-X k8s.io/cloud-provider-openstack/pkg/version.Version=$CLOUD_PROVIDER_OPENSTACK_VERSION"
kwok_ldflags="-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
helm_ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
# The CSI sidecars print main.version.
csi_ldflags() { echo "-X main.version=$1"; }

# name | module dir under hack/tools | package | version | ldflags
tools=(
  "etcd|kubernetes|go.etcd.io/etcd/server/v3|$ETCD_VERSION|"
  "kube-apiserver|kubernetes|k8s.io/kubernetes/cmd/kube-apiserver|$KUBERNETES_VERSION|$k8s_ldflags"
  "kube-controller-manager|kubernetes|k8s.io/kubernetes/cmd/kube-controller-manager|$KUBERNETES_VERSION|$k8s_ldflags"
  "kube-scheduler|kubernetes|k8s.io/kubernetes/cmd/kube-scheduler|$KUBERNETES_VERSION|$k8s_ldflags"
  "kubeadm|kubernetes|k8s.io/kubernetes/cmd/kubeadm|$KUBERNETES_VERSION|$k8s_ldflags"
  "kubelet|kubernetes|k8s.io/kubernetes/cmd/kubelet|$KUBERNETES_VERSION|$k8s_ldflags"
  "kubectl|kubernetes|k8s.io/kubernetes/cmd/kubectl|$KUBERNETES_VERSION|$k8s_ldflags"
  "kube-proxy|kubernetes|k8s.io/kubernetes/cmd/kube-proxy|$KUBERNETES_VERSION|$k8s_ldflags"
  "kwok|kubernetes|sigs.k8s.io/kwok/cmd/kwok|$KWOK_VERSION|$kwok_ldflags"
  "helm|kubernetes|helm.sh/helm/v3/cmd/helm|$HELM_VERSION|$helm_ldflags"
  "openstack-cloud-controller-manager|kubernetes|k8s.io/cloud-provider-openstack/cmd/openstack-cloud-controller-manager|$CLOUD_PROVIDER_OPENSTACK_VERSION|$cpo_ldflags"
  "cinder-csi-plugin|kubernetes|k8s.io/cloud-provider-openstack/cmd/cinder-csi-plugin|$CLOUD_PROVIDER_OPENSTACK_VERSION|$cpo_ldflags"
  "csi-provisioner|csi-provisioner|github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner|$EXTERNAL_PROVISIONER_VERSION|$(csi_ldflags "$EXTERNAL_PROVISIONER_VERSION")"
  "csi-attacher|csi-attacher|github.com/kubernetes-csi/external-attacher/v4/cmd/csi-attacher|$EXTERNAL_ATTACHER_VERSION|$(csi_ldflags "$EXTERNAL_ATTACHER_VERSION")"
  "csi-snapshotter|external-snapshotter|github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter|$EXTERNAL_SNAPSHOTTER_VERSION|$(csi_ldflags "$EXTERNAL_SNAPSHOTTER_VERSION")"
  "snapshot-controller|external-snapshotter|github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller|$EXTERNAL_SNAPSHOTTER_VERSION|$(csi_ldflags "$EXTERNAL_SNAPSHOTTER_VERSION")"
  "pause|pause|github.com/epks/epks/hack/tools/pause|$PAUSE_VERSION|"
  "coredns|coredns|github.com/coredns/coredns|$COREDNS_VERSION|"
  "crictl|cri-tools|sigs.k8s.io/cri-tools/cmd/crictl|$CRI_TOOLS_VERSION|-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRI_TOOLS_VERSION"
  "csi-resizer|csi-resizer|github.com/kubernetes-csi/external-resizer/cmd/csi-resizer|$EXTERNAL_RESIZER_VERSION|$(csi_ldflags "$EXTERNAL_RESIZER_VERSION")"
  "cni-bridge|cni-plugins|github.com/containernetworking/plugins/plugins/main/bridge|$CNI_PLUGINS_VERSION|"
  "cni-host-local|cni-plugins|github.com/containernetworking/plugins/plugins/ipam/host-local|$CNI_PLUGINS_VERSION|"
  "cni-loopback|cni-plugins|github.com/containernetworking/plugins/plugins/main/loopback|$CNI_PLUGINS_VERSION|"
  "cni-portmap|cni-plugins|github.com/containernetworking/plugins/plugins/meta/portmap|$CNI_PLUGINS_VERSION|"
  "csi-sanity|csi-test|github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity|$CSI_TEST_VERSION|-X main.VERSION=$CSI_TEST_VERSION"
)

wanted=("$@")
is_wanted() {
  [ ${#wanted[@]} -eq 0 ] && return 0
  local w
  for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}

# Every name asked for must exist, so that a typo is not a silent no-op.
for w in "${wanted[@]}"; do
  found=0
  for t in "${tools[@]}"; do [ "${t%%|*}" = "$w" ] && found=1; done
  [ $found = 1 ] || { log "build-tools: unknown binary '$w'"; exit 2; }
done

mkdir -p "$EPKS_BIN"
for t in "${tools[@]}"; do
  IFS='|' read -r name dir pkg version ldflags <<<"$t"
  is_wanted "$name" || continue
  out="$EPKS_BIN/$name-$version"
  # What the binary is built from: its scratch module, package, ldflags and Go. A change to
  # any of them (a bumped dependency, a new replace) rebuilds it although its version stays.
  # A module with its own source (hack/tools/pause) adds its .go files but tools.go.
  own_src=$(find "$EPKS_ROOT/hack/tools/$dir" -maxdepth 1 -name '*.go' ! -name tools.go | sort)
  # shellcheck disable=SC2086 # own_src is a list of paths without spaces
  stamp=$(cat "$EPKS_ROOT/hack/tools/$dir/go.mod" "$EPKS_ROOT/hack/tools/$dir/go.sum" $own_src \
    <(printf '%s\n' "$pkg" "$ldflags" "$(go env GOVERSION)") | sha256sum | cut -d' ' -f1)
  if [ -x "$out" ] && [ ! -e "$out.stamp" ]; then
    # Built before stamps existed: adopt it as built from today's inputs.
    echo "$stamp" >"$out.stamp"
  fi
  if [ -x "$out" ] && [ "$(cat "$out.stamp")" = "$stamp" ]; then
    log "✓ $name $version (cached)"
    continue
  fi
  [ -x "$out" ] && log "• $name $version: its module, flags or Go changed; rebuilding"
  log "• building $name $version ..."
  start=$(date +%s)
  tmp="$out.tmp.$$"
  (cd "$EPKS_ROOT/hack/tools/$dir" && retry go mod download)
  # shellcheck disable=SC2086 # ldflags is one string of flags
  (cd "$EPKS_ROOT/hack/tools/$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp" "$pkg")
  mv "$tmp" "$out"
  echo "$stamp" >"$out.stamp"
  log "✓ $name $version (built in $(($(date +%s) - start))s)"
done
