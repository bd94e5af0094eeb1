#!/bin/bash
# epks-install.sh installs the add-ons on the first control-plane node after kubeadm init:
# it runs `epks install` from the epks image (imported from the offline bundle, or pulled)
# with admin.conf and the chart values that `epks cloud-init` wrote to
# /etc/epks/values.yaml. The outcome goes to /var/lib/epks/status (epks-node.sh) and
# the whole output to /var/log/epks/install.log. Run it again with
# `/usr/local/lib/epks/epks-node.sh install`.
#
#   epks-install.sh [install]   the above
#   epks-install.sh image       only make sure of the image and print its epks's version
set -euo pipefail
umask 077

env_file=${EPKS_ENV:-/etc/epks/node.env}
# shellcheck source=node.env
. "$env_file"
ctr=(ctr --namespace k8s.io)
mnt=${EPKS_IMAGE_MOUNT:-/run/epks/epks-image}

# The list is read whole first: grep -q in a pipe from ctr stops reading at the first match,
# ctr dies of SIGPIPE and pipefail would report the image missing.
# An offline node (package_source: bundle) has no registry to pull from: a missing image is
# an error that names it, not a pull that waits for a name server.
have=$("${ctr[@]}" images ls -q)
if ! grep -qxF "$EPKS_IMAGE" <<<"$have"; then
  if [ "$EPKS_PACKAGE_SOURCE" = bundle ]; then
    echo "$EPKS_IMAGE is not among the imported images: add its tarball to $EPKS_BUNDLE/images (make images, make bundle)" >&2
    exit 1
  fi
  echo "$EPKS_IMAGE is not among the imported images; pulling it"
  "${ctr[@]}" images pull "$EPKS_IMAGE"
fi
install -d -m 0700 "$mnt"
"${ctr[@]}" images mount "$EPKS_IMAGE" "$mnt" >/dev/null
trap '"${ctr[@]}" images unmount "$mnt" >/dev/null' EXIT
epks=$mnt/usr/local/bin/epks
"$epks" --version
case ${1:-install} in
image) ;;
install)
  "$epks" install --values /etc/epks/values.yaml --name "$EPKS_RELEASE" --namespace "$EPKS_NAMESPACE" \
    --kubeconfig /etc/kubernetes/admin.conf --timeout "$EPKS_INSTALL_TIMEOUT"
  ;;
*)
  echo "usage: $0 [install|image]" >&2
  exit 2
  ;;
esac
