#!/usr/bin/env bash
# Copies the snapshot.storage.k8s.io v1 CRDs from the pinned external-snapshotter
# client module (go.mod) into the chart's crds/. charts/chart_test.go fails when
# the two differ, so run this after changing that module's version.
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "$0")/lib.sh"
src=$(cd "$EPKS_ROOT" && go list -m -f '{{.Dir}}' github.com/kubernetes-csi/external-snapshotter/client/v8)/config/crd
for f in snapshot.storage.k8s.io_volumesnapshotclasses.yaml \
         snapshot.storage.k8s.io_volumesnapshotcontents.yaml \
         snapshot.storage.k8s.io_volumesnapshots.yaml; do
  install -m 0644 "$src/$f" "$EPKS_ROOT/charts/epks-addons/crds/$f"
  log "✓ charts/epks-addons/crds/$f"
done
