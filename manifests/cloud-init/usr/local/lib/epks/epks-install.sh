#!/bin/bash
# epks-install.sh installs the add-ons on the first control-plane node after kubeadm init:
# it runs `epks install` from the epks image (imported from the offline bundle, or pulled)
# with admin.conf and the chart values that `epks cloud-init` wrote to
# /etc/epks/values.yaml. The outcome goes to /var/lib/epks/status (epks-node.sh) and
# the whole output to /var/log/epks/install.log. Run it again with
# `/usr/local/lib/epks/epks-node.sh install`.
set -euo pipefail
umask 077

env_file=${EPKS_ENV:-/etc/epks/node.env}
# shellcheck source=node.env
. "$env_file"
ctr=(ctr --namespace k8s.io)
mnt=/run/epks/epks-image

# The list is read whole first: grep -q in a pipe from ctr stops reading at the first match,
# ctr dies of SIGPIPE and pipefail would report the image missing.
have=$("${ctr[@]}" images ls -q)
if ! grep -qxF "$EPKS_IMAGE" <<<"$have"; then
  echo "$EPKS_IMAGE is not among the imported images; pulling it"
  "${ctr[@]}" images pull "$EPKS_IMAGE"
fi
install -d -m 0700 "$mnt"
"${ctr[@]}" images mount "$EPKS_IMAGE" "$mnt" >/dev/null
trap '"${ctr[@]}" images unmount "$mnt" >/dev/null' EXIT
epks=$mnt/usr/local/bin/epks
"$epks" --version
"$epks" install --values /etc/epks/values.yaml --name "$EPKS_RELEASE" --namespace "$EPKS_NAMESPACE" \
  --kubeconfig /etc/kubernetes/admin.conf --timeout "$EPKS_INSTALL_TIMEOUT"
