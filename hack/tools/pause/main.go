// Command pause is the process of a pod's sandbox container: it holds the
// pod's namespaces and does nothing else. It reaps the zombies of a pod that
// shares its process namespace, and exits 0 on SIGINT or SIGTERM.
//
// It is epks's own, for the offline bundle's registry.k8s.io/pause image
// (docs/bundle.md); it is not upstream's C program.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		fmt.Println("pause (epks)")
		return
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
