// Command demo is the README's main job on the embedded default: it brings
// up viosim and the local control plane, installs the add-ons with epks
// from the parameters file viosim writes, runs the cloud components as real
// processes (test/testbed), then walks through what the cluster promises (a
// LoadBalancer Service, a volume, its attachment, a snapshot, a restore, an
// expansion) and reports what happened in the cluster and in the cloud.
//
// Usage:
//
//	go run ./hack/demo [--dir _output/demo] [--keep]
//
// Everything it starts is stopped when it ends; with --keep it waits for
// Ctrl-C first, so that the cluster and viosim can be looked at.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/epks/epks/test/demo"
)

func main() {
	dir := flag.String("dir", "_output/demo", "directory of the demo's files (cluster, viosim, component logs)")
	keep := flag.Bool("keep", false, "keep everything running after the report, until Ctrl-C")
	ipAccess := flag.Bool("ip-access", false, "VIO's IP access on: endpoints by IP (default: by host names, resolved through hostAliases and the nodes' name server)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	abs, err := filepath.Abs(*dir)
	if err == nil {
		err = demo.Run(ctx, demo.Options{Dir: abs, Keep: *keep, IPAccess: *ipAccess, Out: os.Stdout})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
