#!/usr/bin/env bash
# Installs what `make test` needs beyond Go and make on a fresh machine. Each step
# checks first, so a second run does nothing.
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "$0")/lib.sh"

if ! command -v go >/dev/null; then
  log "Go is required (1.26): https://go.dev/dl/"; exit 1
fi
log "✓ $(go version)"
# Debian packages of the tests that validate the node configuration (pkg/cloudinit) and import
# the images (integration): cloud-init's schema, netplan with Open vSwitch, ifupdown's ifquery,
# the shell script linter, openssl, containerd with ctr, the CA bundle the images carry;
# oslo.config, which NCP reads ncp.ini with (charts tests read the chart's ncp.ini with it);
# the official OpenStack CLI that drives viosim in pkg/sim's tests; Heat itself (python3-heat,
# python3-heatclient), which validates the template of epks cluster heat-template offline; QEMU,
# qemu-img, debootstrap and genisoimage for the guest image and viosim --boot qemu (make
# guest-image, make e2e-boot; genisoimage writes and isoinfo reads the config drives); dnsmasq,
# the DHCP server of the boot test's pod network (as Neutron's DHCP agent runs it), and ethtool,
# which turns off the checksum offload of its answers.
want=(cloud-init netplan.io openvswitch-switch ifupdown shellcheck openssl containerd ca-certificates python3-oslo.config python3-openstackclient python3-octaviaclient python3-heat python3-heatclient
  qemu-system-x86 qemu-utils debootstrap genisoimage iproute2 dnsmasq-base ethtool)
need=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    need+=("$p")
  fi
done
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" -ne 0 ]; then
  log "the tests need these Debian packages: ${need[*]}"
  log "install them as root (sudo hack/ci-setup.sh, or sudo apt-get install ${need[*]})"
  exit 1
fi
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  retry apt-get update -qq
  retry apt-get install -y -qq "${need[@]}"
fi
log "✓ Debian packages: ${want[*]}"
# The offline bundle (make bundle, its tests) resolves and downloads Debian 12 packages with apt
# (apt-get download, dpkg-deb): it needs apt's package lists.
if ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    log "the offline bundle needs apt's package lists: run apt-get update as root"
    exit 1
  fi
  retry apt-get update -qq
fi
log "✓ apt package lists (for make bundle)"
