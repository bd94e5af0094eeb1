// Command viosim serves a simulated VMware Integrated OpenStack (Keystone,
// Nova, Neutron, Cinder, Octavia) and NSX-T Manager on loopback, for running
// and testing epks without a cloud. See `viosim --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/epks/epks/pkg/cmd/viosim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(viosim.Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
