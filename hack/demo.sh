#!/usr/bin/env bash
# The README's main job on the embedded default: start the local control plane
# (etcd, kube-apiserver, controller manager, scheduler, kwok nodes) and install
# the add-ons into it with the runbook's example parameters, then show their
# status. Run `make cluster-down` to remove everything.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EPKS_ROOT"

dir=_output/localcluster
params=${PARAMS:-examples/seed-params.yaml}
epks=_output/bin/epks

if go run ./hack/localcluster status --dir "$dir" >/dev/null 2>&1; then
  log "• Reusing the local control plane in $dir"
else
  go run ./hack/localcluster down --dir "$dir" >/dev/null
  go run ./hack/localcluster up --dir "$dir" --nodes "${NODES:-3}" >/dev/null
  log "✓ Local control plane running (kubeconfig: $dir/admin.kubeconfig)"
fi
kubeconfig=$dir/admin.kubeconfig

log ""
log "• epks install --params $params"
"$epks" install --params "$params" --kubeconfig "$kubeconfig"
log ""
"$epks" status --kubeconfig "$kubeconfig"

cat >&2 <<EOT

The add-ons run on the local control plane; the nodes and pods are simulated by kwok.
Look around:   export KUBECONFIG=$PWD/$kubeconfig; kubectl -n epks-system get all
Re-run:        make demo                 (nothing changes: the release is up to date)
Clean up:      make cluster-down
EOT
