// Command epks-port-tagger tags the NSX port of each Kubernetes node's pod
// NIC for NCP (ncp/node_name and ncp/cluster). It runs in the cluster as the
// epks-addons chart's port-tagger Deployment. See `epks-port-tagger -help`.
package main

import (
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/epks/epks/pkg/cmd/porttagger"
)

func main() {
	os.Exit(porttagger.Main(ctrl.SetupSignalHandler(), os.Args[1:], os.Stderr))
}
