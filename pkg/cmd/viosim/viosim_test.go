package viosim

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/test/syncbuf"
)

// TestServes runs the command, reads the endpoints it prints and checks the
// parameters file it writes is one epks accepts, then interrupts it.
func TestServes(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncbuf.Buffer
	done := make(chan int)
	go func() {
		done <- Main(ctx, []string{"--dir", dir, "--workers", "3", "--lb-provider", "octavia"}, &out, &errOut)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Stop with Ctrl-C") {
		if time.Now().After(deadline) {
			t.Fatalf("no endpoints printed:\n%s\n%s", out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	text := out.String()
	for _, want := range []string{"viosim is serving 4 servers", "Keystone (auth URL)", "NSX Manager", "viosim-params.yaml", "OpenStack users admin;"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "viosim-password") || strings.Contains(text, "viosim-nsx-password") {
		t.Errorf("a password is printed:\n%s", text)
	}
	for _, u := range regexp.MustCompile(`https://[^/\s]+`).FindAllString(text, -1) {
		if !strings.HasPrefix(u, "https://127.0.0.1:") {
			t.Errorf("endpoint %s is not on loopback", u)
		}
	}
	p, err := params.Load(filepath.Join(dir, "viosim-params.yaml"))
	if err != nil {
		t.Fatalf("epks refuses viosim's parameters: %v", err)
	}
	if p.NodeCount != 3 || p.LoadBalancerProvider != "octavia" || len(p.OpenStackCA) == 0 || len(p.NSXCA) == 0 || p.PodNetwork != "k8scluster-pod" {
		t.Errorf("parameters %+v", p)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after an interrupt", code)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--nope"},
		{"--address", "0.0.0.0"},
		{"--lb-provider", "f5"},
		{"--fault", "{not json"},
		{"--fault", `{"service":"nova","status":200}`},
		{"--seed", "/nonexistent.yaml"},
	} {
		var out, errOut bytes.Buffer
		if code := Main(context.Background(), append(args, "--dir", t.TempDir()), &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, %s", args, code, errOut.String())
		}
	}
}

// TestBootFlags: bad --boot flags exit 2 naming every problem at once, and
// nothing is served.
func TestBootFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--boot-netns", "x", "--boot-image", "a.qcow2"}, []string{"--boot-image needs --boot qemu", "--boot-netns needs --boot qemu"}},
		{[]string{"--boot", "kvm", "--boot-bridge", "net", "--boot-address", "nope"},
			[]string{`--boot "kvm" is not qemu`, "needs a disk image", `--boot-bridge "net" is not NETWORK=BRIDGE`,
				"--boot-bridge and --boot-address need --boot-netns", `--boot-address "nope" is not an IP address`}},
		{[]string{"--boot", "qemu", "--boot-image", filepath.Join(t.TempDir(), "missing.qcow2")}, []string{"missing.qcow2"}},
		{[]string{"--boot-servers", "master"}, []string{"--boot-servers needs --boot qemu"}},
		{[]string{"--boot", "qemu", "--boot-image", "a.qcow2", "--boot-servers", "(master"}, []string{`--boot-servers "(master" is not a regular expression`}},
	} {
		var out, errOut syncbuf.Buffer
		code := Main(context.Background(), append([]string{"--dir", t.TempDir()}, tc.args...), &out, &errOut)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", tc.args, code, errOut.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut.String(), w) {
				t.Errorf("%v: error %q lacks %q", tc.args, errOut.String(), w)
			}
		}
	}
}

// TestHostnames: with --hostnames viosim serves as VIO with IP access off:
// the parameters file turns IP access off and names Keystone, Nova, Cinder
// and Neutron by VIO's host names at viosim's address, and the printed
// endpoints use the names.
func TestHostnames(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncbuf.Buffer
	done := make(chan int)
	go func() { done <- Main(ctx, []string{"--dir", dir, "--hostnames"}, &out, &errOut) }()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "Stop with Ctrl-C"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no endpoints printed:\n%s\n%s", out.String(), errOut.String())
		}
	}
	if !strings.Contains(out.String(), "https://keystone.openstack.svc.cluster.local:") {
		t.Errorf("Keystone is not served by its host name:\n%s", out.String())
	}
	p, err := params.Load(filepath.Join(dir, "viosim-params.yaml"))
	if err != nil {
		t.Fatalf("epks refuses viosim's parameters: %v", err)
	}
	if p.IPAccess || p.KeystoneHostname != "keystone.openstack.svc.cluster.local" || !strings.HasPrefix(p.OSAuthURL, "https://keystone.openstack.svc.cluster.local:") ||
		strings.Join(p.NovaHostnames, " ") != "nova.vio.local" || p.KeystoneIP.String() != "127.0.0.1" {
		t.Errorf("parameters: ip_access %v, keystone %s at %s, auth URL %s, nova %v", p.IPAccess, p.KeystoneHostname, p.KeystoneIP, p.OSAuthURL, p.NovaHostnames)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after an interrupt", code)
	}
}
