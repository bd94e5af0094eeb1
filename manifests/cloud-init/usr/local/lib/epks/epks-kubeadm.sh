#!/bin/bash
# epks-kubeadm.sh makes this node a Kubernetes node with kubeadm and the configuration that
# `epks cloud-init` wrote to /etc/epks/kubeadm.yaml: `kubeadm init` on the first
# control-plane node, `kubeadm join` on the others. The kubelet's provider ID,
# openstack:///<Nova server UUID>, comes from cloud-init's instance ID, in a kubeadm patch.
# A node that has joined already is left as it is.
set -euo pipefail
umask 077

env_file=${EPKS_ENV:-/etc/epks/node.env}
# shellcheck source=node.env
. "$env_file"
config=/etc/epks/kubeadm.yaml
patches=/etc/epks/kubeadm-patches

id=$(tr -d '[:space:]' </var/lib/cloud/data/instance-id)
if ! [[ $id =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]]; then
  echo "cloud-init's instance ID \"$id\" is not a Nova server UUID: is this an OpenStack instance?" >&2
  exit 1
fi
install -d -m 0700 "$patches"
{
  echo "providerID: openstack:///$id"
  # Kubelets from 1.35 on refuse cgroup v1 hosts (Ubuntu 16.04, 18.04) unless told.
  if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
    echo "failCgroupV1: false"
  fi
} >"$patches/kubeletconfiguration0+merge.yaml"
echo "provider ID openstack:///$id"

systemctl enable kubelet
case $EPKS_ROLE in
control-plane)
  if [ -f /etc/kubernetes/admin.conf ]; then
    echo "kubeadm init ran already"
    exit 0
  fi
  kubeadm init --config "$config" --skip-token-print
  ;;
control-plane-join | worker)
  if [ -f /etc/kubernetes/kubelet.conf ]; then
    echo "this node has joined already"
    exit 0
  fi
  kubeadm join --config "$config"
  ;;
*)
  echo "unknown role $EPKS_ROLE" >&2
  exit 1
  ;;
esac
