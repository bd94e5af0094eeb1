#!/usr/bin/env bash
# Checks that need no cluster: formatting, go vet (with the integration, e2e and
# csi-sanity tests compiled), shellcheck of the hack/ scripts, and that the Kubernetes
# libraries stay on the 0.36 line that controller-runtime, helm and
# cloud-provider-openstack share.
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$EPKS_ROOT"

unformatted=$(git ls-files -z '*.go' | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
  log "gofmt needed:"; log "$unformatted"; exit 1
fi
go vet ./...
go vet -tags integration ./...
go vet -tags e2e ./e2e/...
go vet -tags csisanity ./test/csisanity/
# The node scripts are checked by pkg/cloudinit's tests, with their environment.
shellcheck -x hack/*.sh .ci/run
for m in k8s.io/api k8s.io/client-go k8s.io/apimachinery; do
  v=$(go list -m -f '{{.Version}}' "$m")
  case "$v" in
    v0.36.*) ;;
    *) log "$m is at $v; keep the Kubernetes libraries at v0.36.x (see ../shared/go-modules.md)"; exit 1 ;;
  esac
done
log "✓ verify"
