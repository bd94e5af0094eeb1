//go:build tools

// Package tools pins the containernetworking reference plugins that hack/build-tools.sh
// builds for the boot test's own CNI (bridge, host-local, loopback, portmap; test/boot): the
// product leaves pod networking to NCP and ships no CNI.
package tools

import (
	_ "github.com/containernetworking/plugins/plugins/ipam/host-local"
	_ "github.com/containernetworking/plugins/plugins/main/bridge"
	_ "github.com/containernetworking/plugins/plugins/main/loopback"
	_ "github.com/containernetworking/plugins/plugins/meta/portmap"
)
