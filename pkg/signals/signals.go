// Package signals is how the epks binaries (epks, epks-port-tagger,
// viosim) stop: the first SIGINT or SIGTERM cancels a context, so that the
// running operation ends and cleans up; a second one ends the process at
// once with exit code 1.
package signals

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Shutdown are the signals that stop a binary.
var Shutdown = []os.Signal{syscall.SIGINT, syscall.SIGTERM}

// ExitCode is the exit code of a process ended by a second signal.
const ExitCode = 1

// Context returns a context that is cancelled by the first of Shutdown, or
// by stop. After the first signal a second one calls os.Exit(ExitCode).
// Call stop when the context is no longer needed: it stops the
// notification.
func Context(parent context.Context) (ctx context.Context, stop context.CancelFunc) {
	return contextWith(parent, func() { os.Exit(ExitCode) })
}

func contextWith(parent context.Context, exit func()) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, Shutdown...)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			cancel()
		case <-done:
			return
		}
		select {
		case <-ch:
			exit()
		case <-done:
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
		})
		cancel()
	}
	return ctx, stop
}
