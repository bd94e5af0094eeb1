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

# retry runs a command up to 4 times, waiting 5, 15 and 45 s between tries: package mirrors
# and the module proxy fail now and then, and one failed download must not fail CI.
retry() {
  local try=1 wait=5
  until "$@"; do
    if [ $try -ge 4 ]; then
      log "failed $try times: $*"
      return 1
    fi
    log "try $try of '$*' failed; again in ${wait}s"
    sleep $wait
    try=$((try + 1)) wait=$((wait * 3))
  done
}
