#!/usr/bin/env bash
# Installs what `make test` needs beyond Go and make on a fresh machine. Each step
# checks first, so a second run does nothing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if ! command -v go >/dev/null; then
  log "Go is required (1.26): https://go.dev/dl/"; exit 1
fi
log "✓ $(go version)"
# Debian packages that later tests use are installed here (none needed yet).
need=()
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi
