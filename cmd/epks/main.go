// Command epks installs and operates the epks add-ons on a kubeadm cluster
// on VMware Integrated OpenStack with NSX-T. See `epks --help`.
package main

import (
	"os"

	"github.com/epks/epks/pkg/cmd/epks"
)

func main() {
	os.Exit(epks.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
