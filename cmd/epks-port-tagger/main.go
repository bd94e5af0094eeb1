// Command epks-port-tagger tags the NSX port of each Kubernetes node's pod
// NIC for NCP (ncp/node_name and ncp/cluster). It runs in the cluster as the
// epks-addons chart's port-tagger Deployment. See `epks-port-tagger -help`.
package main

import (
	"context"
	"os"

	"github.com/epks/epks/pkg/cmd/porttagger"
	"github.com/epks/epks/pkg/signals"
)

func main() {
	ctx, stop := signals.Context(context.Background())
	code := porttagger.Main(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}
