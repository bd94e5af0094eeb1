#!/bin/bash
# epks-br-int.sh builds br-int, the Open vSwitch bridge of NCP, on the pod NIC: it picks the
# NIC by MAC (pod_interface_mac) or by name (pod_interface), then writes the bridge with the
# NIC's MAC as the node's network configuration and applies it:
#   netplan (Ubuntu 22.04, 24.04): /etc/netplan/60-epks-br-int.yaml, openvswitch backend;
#   ifupdown (Ubuntu 16.04, 18.04, Debian 12): /etc/network/interfaces.d/60-epks-br-int.cfg, the
#   seed's `allow-ovs br-int` stanza.
# br-int takes the node's pod-network address by DHCP (without its routes on netplan).
#
# Usage: epks-br-int.sh [--no-apply]
# EPKS_ROOT (a directory the files are written under), EPKS_SYSFS (where the NICs are read
# from, /sys by default) and EPKS_NIC_WAIT (how many seconds to wait for the NIC, 120) let
# the configuration be written for another root.
set -euo pipefail

env_file=${EPKS_ENV:-/etc/epks/node.env}
# shellcheck source=node.env
. "$env_file"
root=${EPKS_ROOT:-}
sysfs=${EPKS_SYSFS:-/sys}
wait=${EPKS_NIC_WAIT:-120}
apply=true
case ${1:-} in
--no-apply) apply=false ;;
'') ;;
*)
  echo "usage: $0 [--no-apply]" >&2
  exit 2
  ;;
esac
bridge=br-int

# pick_nic prints the name of the pod NIC: a physical NIC (one with a device) whose MAC is
# one of EPKS_POD_MACS or, without MACs, whose name is EPKS_POD_INTERFACE.
pick_nic() {
  local dev name mac want
  for dev in "$sysfs"/class/net/*; do
    name=${dev##*/}
    [ -e "$dev/device" ] || continue
    if [ -n "$EPKS_POD_MACS" ]; then
      mac=$(tr 'A-F' 'a-f' <"$dev/address")
      for want in $EPKS_POD_MACS; do
        if [ "$mac" = "$want" ]; then
          echo "$name"
          return 0
        fi
      done
    elif [ "$name" = "$EPKS_POD_INTERFACE" ]; then
      echo "$name"
      return 0
    fi
  done
  return 1
}

# The pod NIC may be hot-plugged after boot: wait for it a while.
nic=
for _ in $(seq 0 "$wait"); do
  if nic=$(pick_nic); then
    break
  fi
  sleep 1
done
if [ -z "$nic" ]; then
  want="named $EPKS_POD_INTERFACE (pod_interface)"
  if [ -n "$EPKS_POD_MACS" ]; then
    want="with MAC $EPKS_POD_MACS (pod_interface_mac)"
  fi
  echo "no NIC $want; the NICs here:" >&2
  for dev in "$sysfs"/class/net/*; do
    [ -e "$dev/device" ] && echo "  ${dev##*/} $(cat "$dev/address")" >&2
  done
  exit 1
fi
mac=$(tr 'A-F' 'a-f' <"$sysfs/class/net/$nic/address")
echo "pod NIC $nic with MAC $mac"

write_netplan() {
  local file=$root/etc/netplan/60-epks-br-int.yaml
  install -d -m 0755 "$root/etc/netplan"
  cat >"$file.tmp" <<YAML
# Written by epks-br-int.sh: br-int, the OVS bridge of NCP, carries the pod NIC $nic
# and has its MAC $mac. The NIC itself has no address; br-int takes it by DHCP.
network:
  version: 2
  ethernets:
    $nic:
      match:
        macaddress: "$mac"
      set-name: $nic
      dhcp4: false
      dhcp6: false
      mtu: $EPKS_MTU
  bridges:
    $bridge:
      interfaces: [$nic]
      macaddress: "$mac"
      mtu: $EPKS_MTU
      dhcp4: true
      dhcp4-overrides:
        use-routes: false
        use-dns: false
      openvswitch:
        fail-mode: standalone
        other-config:
          hwaddr: "$mac"
YAML
  chmod 0600 "$file.tmp"
  mv "$file.tmp" "$file"
  echo "wrote $file"
}

write_ifupdown() {
  local file=$root/etc/network/interfaces.d/60-epks-br-int.cfg
  local main=$root/etc/network/interfaces
  install -d -m 0755 "$root/etc/network/interfaces.d"
  cat >"$file.tmp" <<CFG
# Written by epks-br-int.sh (the seed's form): br-int, the OVS bridge of NCP, carries the
# pod NIC $nic and has its MAC $mac; br-int takes the pod-network address by DHCP.
allow-ovs $bridge
iface $bridge inet dhcp
    ovs_type OVSBridge
    ovs_ports $nic
    ovs_extra set bridge \${IFACE} other-config:hwaddr=$mac
    mtu $EPKS_MTU

allow-$bridge $nic
iface $nic inet manual
    ovs_bridge $bridge
    ovs_type OVSPort
    ovs_extra set Interface \${IFACE} ofport_request=1
    mtu $EPKS_MTU
CFG
  mv "$file.tmp" "$file"
  echo "wrote $file"
  if ! grep -qs '^source.*interfaces\.d' "$main"; then
    echo 'source /etc/network/interfaces.d/*.cfg' >>"$main"
  fi
  # The NIC's stanzas of other files (cloud-init's 50-cloud-init.cfg) would configure it
  # twice: comment them out.
  local other
  for other in "$main" "$root"/etc/network/interfaces.d/*; do
    [ "$other" = "$file" ] || [ ! -f "$other" ] && continue
    awk -v nic="$nic" '
      /^[^#[:space:]]/ { mine = ($2 == nic && ($1 == "auto" || $1 == "iface" || $1 ~ /^allow-/)) }
      mine { print "# (epks: " nic " is a port of br-int) " $0; next }
      { print }' "$other" >"$other.epks"
    if cmp -s "$other" "$other.epks"; then
      rm -f "$other.epks"
    else
      cat "$other.epks" >"$other"
      rm -f "$other.epks"
      echo "commented out $nic in $other"
    fi
  done
}

case $EPKS_NETWORK_CONFIG in
netplan) write_netplan ;;
ifupdown) write_ifupdown ;;
*)
  echo "unknown network configuration $EPKS_NETWORK_CONFIG" >&2
  exit 1
  ;;
esac

if ! $apply; then
  exit 0
fi
case $EPKS_NETWORK_CONFIG in
netplan)
  netplan generate
  netplan apply
  ;;
ifupdown)
  ifdown "$nic" >/dev/null 2>&1 || true
  ip addr flush dev "$nic"
  ifup --allow=ovs "$bridge"
  ;;
esac
for _ in $(seq 30); do
  if ovs-vsctl br-exists "$bridge" && ovs-vsctl port-to-br "$nic" >/dev/null 2>&1; then
    ovs-vsctl set Interface "$nic" ofport_request=1
    echo "$bridge is up with $nic: $(cat "$sysfs/class/net/$bridge/address" 2>/dev/null || echo '?')"
    exit 0
  fi
  sleep 1
done
echo "$bridge or its port $nic did not come up" >&2
exit 1
