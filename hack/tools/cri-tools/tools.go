//go:build tools

// Package tools pins crictl, which hack/build-tools.sh builds for the offline bundle's
// cri-tools package (Debian 12 has none).
package tools

import (
	_ "sigs.k8s.io/cri-tools/cmd/crictl"
)
