//go:build tools

// Package tools pins CoreDNS, which hack/build-tools.sh builds for the offline bundle's
// coredns image (the version kubeadm names, see docs/bundle.md).
package tools

import (
	_ "github.com/coredns/coredns"
)
