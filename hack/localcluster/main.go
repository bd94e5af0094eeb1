// Command localcluster starts and stops the local control plane that the
// tests and the demo use (see test/localcluster), detached from the command.
//
// Usage:
//
//	go run ./hack/localcluster up [--nodes 3] [--dir _output/localcluster] [--uninitialized]
//	go run ./hack/localcluster status [--dir ...]
//	go run ./hack/localcluster down [--dir ...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/epks/epks/test/localcluster"
)

const usage = `usage: localcluster up|status|down [flags]

  up      start etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
          on 127.0.0.1 with N fake nodes, in the background
  status  show the processes; a crashed one is shown with the end of its log
  down    stop every process by its pid and remove the directory
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", "_output/localcluster", "directory of the cluster's files")
	nodes := fs.Int("nodes", 3, "fake nodes, one of them control-plane")
	name := fs.String("cluster-name", "k8scluster", "cluster name the node names derive from")
	uninitialized := fs.Bool("uninitialized", false, "create nodes as kubelet does with an external cloud provider, for a cloud controller manager to initialize")
	_ = fs.Parse(os.Args[2:])

	var err error
	switch os.Args[1] {
	case "up":
		err = up(*dir, *name, *nodes, *uninitialized)
	case "status":
		err = status(*dir)
	case "down":
		err = down(*dir)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func up(dir, name string, nodes int, uninitialized bool) error {
	if nodes < 1 {
		return errors.New("--nodes must be at least 1")
	}
	if _, err := localcluster.ReadState(dir); err == nil {
		return fmt.Errorf("a cluster is already recorded in %s: run `make cluster-down` first", dir)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	fmt.Printf(" • Starting the local control plane with %d nodes in %s ...\n", nodes, dir)
	c, err := localcluster.Start(ctx, localcluster.Options{
		Dir: dir, ClusterName: name, ControlPlaneNodes: 1, WorkerNodes: nodes - 1,
		UninitializedNodes: uninitialized, Detached: true,
	})
	if err != nil {
		return err
	}
	fmt.Printf(" ✓ Local control plane ready in %s: %s\n", time.Since(start).Round(time.Second), c.APIServer())
	fmt.Printf("   nodes: %v\n\n", c.Nodes())
	fmt.Printf("Use it with:\n  export KUBECONFIG=%s\n  kubectl get nodes\n\nStop it with:\n  make cluster-down\n", c.Kubeconfig())
	return nil
}

func status(dir string) error {
	procs, err := localcluster.StatusDir(dir)
	if err != nil {
		return err
	}
	crashed := 0
	for _, p := range procs {
		if p.Running {
			fmt.Printf(" ✓ %-24s pid %d\n", p.Name, p.Pid)
			continue
		}
		crashed++
		fmt.Printf(" ✗ %-24s pid %d exited; last lines of %s:\n%s\n", p.Name, p.Pid, p.Log, p.LogTail)
	}
	if crashed > 0 {
		return fmt.Errorf("%d component(s) not running", crashed)
	}
	return nil
}

func down(dir string) error {
	if _, err := localcluster.ReadState(dir); err != nil {
		fmt.Printf("No local cluster in %s.\n", dir)
		return nil
	}
	if err := localcluster.StopDir(dir); err != nil {
		return err
	}
	fmt.Printf(" ✓ Local control plane in %s stopped and removed.\n", dir)
	return nil
}
