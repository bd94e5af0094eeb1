package signals

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// TestContext sends real signals to this process: the first SIGTERM
// cancels the context, the second calls exit.
func TestContext(t *testing.T) {
	exited := make(chan struct{})
	ctx, stop := contextWith(context.Background(), func() { close(exited) })
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Minute):
		t.Fatal("the first SIGTERM did not cancel the context")
	}
	select {
	case <-exited:
		t.Fatal("the first signal exited")
	default:
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Fatal("the second signal did not exit")
	}
}

// TestStop: stop cancels the context, and may be called twice.
func TestStop(t *testing.T) {
	ctx, stop := contextWith(context.Background(), func() { t.Error("exit after stop") })
	stop()
	stop() // twice is fine
	if ctx.Err() == nil {
		t.Error("stop did not cancel the context")
	}
}
