# Shared by the hack/ scripts: the binary cache and the pinned versions.
# shellcheck shell=bash

EPKS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=hack/versions.env
source "$EPKS_ROOT/hack/versions.env"
EPKS_CACHE=${EPKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/epks}
EPKS_BIN=$EPKS_CACHE/bin
export EPKS_ROOT EPKS_CACHE EPKS_BIN

# log prints a progress line on stderr.
log() { printf '%s\n' "$*" >&2; }
