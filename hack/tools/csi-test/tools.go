//go:build tools

// Package tools pins the upstream commands that hack/build-tools.sh builds.
package tools

import (
	_ "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity"
)
