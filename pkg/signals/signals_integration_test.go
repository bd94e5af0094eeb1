//go:build integration

package signals_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/epks/epks/test/syncbuf"
)

// The port tagger's SIGTERM test is in package tagger (it needs a control
// plane and viosim): "start-up sweep" stops a leader with SIGTERM and reads
// the released Lease.

// build builds a command of the module into dir.
func build(t *testing.T, dir, name string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/epks/epks/cmd/"+name).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, out)
	}
	return bin
}

// process is a started binary, in its own process group, killed with the
// test.
type process struct {
	cmd           *exec.Cmd
	stdout, stder *syncbuf.Buffer
	done          chan struct{}
	err           error
}

func start(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), stdout: &syncbuf.Buffer{}, stder: &syncbuf.Buffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stder
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
	return p
}

// waitFor waits until the process printed want on stdout or stderr.
func (p *process) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(p.stdout.String()+p.stder.String(), want) {
		select {
		case <-p.done:
			t.Fatalf("exited (%v) before printing %q:\n%s\n%s", p.err, want, p.stdout, p.stder)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("never printed %q:\n%s\n%s", want, p.stdout, p.stder)
		}
	}
}

// terminate sends SIGTERM to the process alone and returns its exit code;
// -1 means a signal ended it.
func (p *process) terminate(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("still running 2 minutes after SIGTERM:\n%s\n%s", p.stdout, p.stder)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// TestSIGTERM sends SIGTERM to the epks binaries as built and checks that
// each ends its work and exits with its documented code.
func TestSIGTERM(t *testing.T) {
	bins := t.TempDir()
	viosimBin, epksBin := build(t, bins, "viosim"), build(t, bins, "epks")

	// viosim: exit 0 once its servers are closed.
	dir := t.TempDir()
	vs := start(t, viosimBin, "--dir", dir, "--workers", "1")
	vs.waitFor(t, "Stop with Ctrl-C")
	addrs := regexp.MustCompile(`https://(127\.0\.0\.1:\d+)`).FindAllStringSubmatch(vs.stdout.String(), -1)
	if len(addrs) == 0 {
		t.Fatalf("viosim printed no endpoints:\n%s", vs.stdout)
	}

	t.Run("epks", func(t *testing.T) {
		// A Kubernetes API server that accepts connections and never
		// answers: epks install blocks on its first request, as on a slow
		// cluster, until SIGTERM cancels it.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 16)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
		kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
		if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://%s", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`, ln.Addr())), 0o600); err != nil {
			t.Fatal(err)
		}
		ep := start(t, epksBin, "install", "-p", filepath.Join(dir, "viosim-params.yaml"), "--kubeconfig", kubeconfig)
		var conn net.Conn
		select {
		case conn = <-accepted:
		case <-ep.done:
			t.Fatalf("epks install exited (%v) before calling the API server:\n%s\n%s", ep.err, ep.stdout, ep.stder)
		case <-time.After(2 * time.Minute):
			t.Fatalf("epks install never called the API server:\n%s\n%s", ep.stdout, ep.stder)
		}
		defer conn.Close()
		code := ep.terminate(t)
		if code != 1 || !strings.Contains(ep.stder.String(), "context canceled") {
			t.Errorf("epks install after SIGTERM: exit code %d, want 1 and a cancelled operation:\n%s\n%s", code, ep.stdout, ep.stder)
		}
		// Cleanup: epks closed its connection (it did not just die).
		_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
		if _, err := io.Copy(io.Discard, conn); err != nil {
			t.Errorf("epks's connection to the API server was not closed: %v", err)
		}
	})

	t.Run("viosim", func(t *testing.T) {
		if code := vs.terminate(t); code != 0 {
			t.Errorf("viosim after SIGTERM: exit code %d, want 0\n%s\n%s", code, vs.stdout, vs.stder)
		}
		if !strings.Contains(vs.stdout.String(), "viosim stopped.") {
			t.Errorf("viosim did not say it stopped:\n%s", vs.stdout)
		}
		for _, a := range addrs {
			if c, err := net.Dial("tcp", a[1]); err == nil {
				c.Close()
				t.Errorf("%s still accepts connections after viosim exited", a[1])
			}
		}
	})
}
