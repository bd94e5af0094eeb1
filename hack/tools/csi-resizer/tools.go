//go:build tools

// Package tools pins the upstream commands that hack/build-tools.sh builds.
package tools

import (
	_ "github.com/kubernetes-csi/external-resizer/cmd/csi-resizer"
)
