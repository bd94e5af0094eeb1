#!/bin/bash
# epks-system.sh sets up what the kubelet needs from the host, now and after reboots: the
# kernel modules of /etc/modules-load.d/epks.conf, the sysctls of /etc/sysctl.d/90-epks.conf
# (both written by cloud-init), and swap turned off.
set -euo pipefail

while read -r module; do
  case $module in '' | '#'*) continue ;; esac
  modprobe "$module"
done </etc/modules-load.d/epks.conf
sysctl --system >/dev/null
sysctl net.bridge.bridge-nf-call-iptables net.ipv4.ip_forward

# Swap off now, and after reboots: comment out the swap lines of /etc/fstab and mask
# swap.target so that no swap unit starts.
swapoff -a
if awk '$1 !~ /^#/ && $3 == "swap" { found = 1 } END { exit !found }' /etc/fstab; then
  awk '$1 !~ /^#/ && $3 == "swap" { print "# swap off for the kubelet (epks): " $0; next } { print }' \
    /etc/fstab >/etc/fstab.epks
  cat /etc/fstab.epks >/etc/fstab
  rm -f /etc/fstab.epks
fi
systemctl mask swap.target
if [ -n "$(swapon --show --noheadings 2>/dev/null)" ]; then
  echo "swap is still on" >&2
  exit 1
fi
echo "kernel modules, sysctls and swap are set"
