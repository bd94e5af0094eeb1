// Command epks installs and operates the epks add-ons on a kubeadm cluster
// on VMware Integrated OpenStack with NSX-T. See `epks --help`.
package main

import (
	"context"
	"os"

	"github.com/epks/epks/pkg/cmd/epks"
	"github.com/epks/epks/pkg/signals"
)

func main() {
	ctx, stop := signals.Context(context.Background())
	code := epks.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
