#!/bin/bash
# epks-node-ip.sh gives the kubelet this node's address on the management network
# (mgmt_net_cidr) as its --node-ip, in /etc/default/kubelet, which the kubelet's kubeadm
# drop-in reads. A node with a pod NIC has two fixed IPs: without --node-ip the cloud
# controller manager reports both, and the pod NIC's (an OVS uplink, not configured in the
# guest) can become the node's address, and logs, exec and webhooks fail.
#
# Without mgmt_net_cidr nothing is written: the kubelet takes the address of the default
# route. EPKS_ROOT (a directory the file is written under) and EPKS_NIC_WAIT (how many
# seconds to wait for the address, 120) let tests run it on a workstation.
set -euo pipefail

env_file=${EPKS_ENV:-/etc/epks/node.env}
# shellcheck source=node.env
. "$env_file"
root=${EPKS_ROOT:-}
wait=${EPKS_NIC_WAIT:-120}

if [ -z "$EPKS_MGMT_NET_CIDR" ]; then
  echo "no mgmt_net_cidr: the kubelet picks its node IP itself"
  exit 0
fi

# mgmt_address prints the first global address of this node in mgmt_net_cidr.
mgmt_address() {
  ip -o addr show scope global | awk '{print $4}' | python3 -c '
import ipaddress, sys
net = ipaddress.ip_network(sys.argv[1])
for line in sys.stdin:
    ip = ipaddress.ip_interface(line.strip()).ip
    if ip.version == net.version and ip in net:
        print(ip)
        break
' "$EPKS_MGMT_NET_CIDR"
}

node_ip=
for ((i = 0; ; i++)); do
  node_ip=$(mgmt_address)
  if [ -n "$node_ip" ] || [ "$i" -ge "$wait" ]; then
    break
  fi
  sleep 1
done
if [ -z "$node_ip" ]; then
  echo "no address of this node is in mgmt_net_cidr $EPKS_MGMT_NET_CIDR (after ${wait}s): is the management NIC up?" >&2
  exit 1
fi
install -d -m 0755 "$root/etc/default"
printf 'KUBELET_EXTRA_ARGS=--node-ip=%s\n' "$node_ip" >"$root/etc/default/kubelet"
chmod 0644 "$root/etc/default/kubelet"
echo "kubelet node IP $node_ip, on mgmt_net_cidr $EPKS_MGMT_NET_CIDR"
