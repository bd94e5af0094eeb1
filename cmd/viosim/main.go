// Command viosim serves a simulated VMware Integrated OpenStack (Keystone,
// Nova, Neutron, Cinder, Octavia) and NSX-T Manager on loopback, for running
// and testing epks without a cloud. See `viosim --help`.
package main

import (
	"context"
	"os"

	"github.com/epks/epks/pkg/cmd/viosim"
	"github.com/epks/epks/pkg/signals"
)

func main() {
	ctx, stop := signals.Context(context.Background())
	code := viosim.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
