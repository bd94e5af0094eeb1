#!/bin/bash
# epks-node.sh prepares this node for an epks cluster: cloud-init runs it once at first
# boot. It runs each step of /usr/local/lib/epks in turn, writes each step's output to
# /var/log/epks/<step>.log and its outcome to /var/lib/epks/status, and stops at the first
# failure with a non-zero exit (cloud-init then reports an error).
#
# Usage: epks-node.sh [STEP...]   run these steps again, e.g. `epks-node.sh install`
#
# Secrets stay in their files (mode 0600); no step prints them, and none runs with set -x.
set -euo pipefail
umask 077

env_file=${EPKS_ENV:-/etc/epks/node.env}
# shellcheck source=node.env
. "$env_file"
lib=$(dirname "$(readlink -f "$0")")
state=/var/lib/epks
logs=/var/log/epks
install -d -m 0700 "$state" "$logs"

# record appends an outcome line to the status file and prints it for the console.
record() {
  printf '%s epks %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$2" | tee -a "$state/status"
}

# run_step runs one step with its output in its own log.
run_step() {
  local name=$1 start=$SECONDS rc=0
  "$lib/epks-$name.sh" >"$logs/$name.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    record "$name" "failed (exit $rc after $((SECONDS - start))s): see $logs/$name.log"
    exit "$rc"
  fi
  record "$name" "ok ($((SECONDS - start))s)"
}

steps=("$@")
if [ ${#steps[@]} -eq 0 ]; then
  steps=(system packages containerd)
  if [ "$EPKS_OVS" = host ]; then
    steps+=(br-int)
  fi
  steps+=(node-ip kubeadm)
  if [ "$EPKS_ROLE" = control-plane ]; then
    steps+=(install)
  fi
fi
record node "preparing a $EPKS_ROLE node of cluster $EPKS_CLUSTER: ${steps[*]}"
for s in "${steps[@]}"; do
  run_step "$s"
done
record node "done"
