package boot

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// netnsDir is where `ip netns add` keeps named network namespaces.
const netnsDir = "/run/netns"

// ListenIn listens on address (host:port) inside the named network
// namespace (as `ip netns add` names it): the socket is made in the
// namespace, and the calling process stays where it is. viosim serves its
// APIs on such listeners so that the guests on the namespace's bridges
// reach it at the gateway addresses while it listens on loopback.
func ListenIn(netns, address string) (net.Listener, error) {
	var ln net.Listener
	err := inNetNS(netns, func() error {
		var err error
		ln, err = net.Listen("tcp", address)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listening on %s in network namespace %s: %w", address, netns, err)
	}
	return ln, nil
}

// inNetNS runs fn on an OS thread switched into the named network namespace.
// The thread goes back to its own namespace afterwards; when it cannot, it is
// left locked, and the runtime ends it with the goroutine.
func inNetNS(netns string, fn func() error) error {
	target, err := os.Open(filepath.Join(netnsDir, netns))
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", netns, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer own.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering network namespace %s: %w", netns, err)
			return
		}
		fnErr := fn()
		if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
			// Still locked: this thread ends with the goroutine.
			errc <- fmt.Errorf("leaving network namespace %s: %w (after: %v)", netns, err, fnErr)
			return
		}
		runtime.UnlockOSThread()
		errc <- fnErr
	}()
	return <-errc
}

// ipCommand runs `ip` in the named network namespace ("" for viosim's own).
func ipCommand(ctx context.Context, netns string, args ...string) error {
	if netns != "" {
		args = append([]string{"-n", netns}, args...)
	}
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// addTap creates a tap device in the namespace, on bridge when one is given,
// with the network's MTU, and sets it up.
func addTap(ctx context.Context, netns, tap, bridge string, mtu int) error {
	if err := ipCommand(ctx, netns, "tuntap", "add", "dev", tap, "mode", "tap"); err != nil {
		return err
	}
	if mtu > 0 {
		if err := ipCommand(ctx, netns, "link", "set", "dev", tap, "mtu", fmt.Sprint(mtu)); err != nil {
			return err
		}
	}
	if bridge != "" {
		if err := ipCommand(ctx, netns, "link", "set", "dev", tap, "master", bridge); err != nil {
			return err
		}
	}
	return ipCommand(ctx, netns, "link", "set", "dev", tap, "up")
}

// deleteTap removes a tap device; one that is gone already is no error.
func deleteTap(ctx context.Context, netns, tap string) error {
	err := ipCommand(ctx, netns, "link", "del", "dev", tap)
	if err != nil && strings.Contains(err.Error(), "Cannot find device") {
		return nil
	}
	return err
}
