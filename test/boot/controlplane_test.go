//go:build boot

package boot_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/epks/epks/test/proc"
	"github.com/epks/epks/test/toolbin"
)

// TestControlPlane boots the control plane of a cluster for real: the node
// image (the Debian 12 guest image with the offline bundle at
// offline_bundle_path), viosim --boot qemu in a network namespace, and epks
// cluster create's code building the cluster's networks, ports and servers
// there with the product's user data; then cloud-init runs the node scripts
// (packages from the bundle, containerd with the bundle's images, br-int,
// kubeadm init, epks install from the bundle's epks image) and the test
// checks that the node is Ready, initialized by the OCCM from viosim's Nova,
// its pod port tagged by the port tagger, and every step ok in
// /var/lib/epks/status.
//
// This function is the outer half, in the host's namespaces: it builds what
// needs the network (the images, the bundle, the binaries), makes the
// namespace with its bridges and its /etc/hosts, and runs the inner half
// (controlPlaneInNetns) in the namespace: nothing that half does can reach
// beyond it. Needs root.
func TestControlPlane(t *testing.T) {
	if cfg := os.Getenv(innerEnv); cfg != "" {
		controlPlaneInNetns(t, cfg)
		return
	}
	if os.Getuid() != 0 {
		t.Fatal("the boot test needs root: network namespaces, taps, debootstrap")
	}
	t0 := time.Now()
	ph := &phases{t: t}

	p := ph.start("guest image (make guest-image)")
	guest := script(t, "../../hack/build-guest-image.sh")
	ph.done(p, guest)

	p = ph.start("bundle (make bundle)")
	runLogged(t, filepath.Join(t.TempDir(), "bundle.log"), "make", "-C", "../..", "--no-print-directory", "bundle")
	ph.done(p, filepath.Join(toolbin.CacheDir(), "bundle"))

	// The test's own CNI: the reference plugins, into the image at
	// /opt/cni/bin; the test's user-data part configures them.
	p = ph.start("CNI plugins")
	plugins := []string{"bridge", "host-local", "loopback", "portmap"}
	tools := []string{}
	for _, pl := range plugins {
		tools = append(tools, "cni-"+pl)
	}
	runLogged(t, filepath.Join(t.TempDir(), "cni.log"), "../../hack/build-tools.sh", tools...)
	cniDir := filepath.Join(toolbin.CacheDir(), "boot-test", "cni-bin")
	if err := os.MkdirAll(cniDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, pl := range plugins {
		src, err := toolbin.Path("cni-" + pl)
		if err != nil {
			t.Fatal(err)
		}
		copyFile(t, src, filepath.Join(cniDir, pl), 0o755)
	}
	ph.done(p, cniDir)

	p = ph.start("node image (guest + bundle)")
	nodeImage := script(t, "../../hack/build-node-image.sh", "--add", cniDir+"=/opt/cni/bin")
	ph.done(p, nodeImage)

	p = ph.start("viosim binary")
	dir := t.TempDir()
	viosimBin := filepath.Join(dir, "viosim")
	run(t, "go", "build", "-o", viosimBin, "../../cmd/viosim")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ph.done(p, "")

	// The namespace: the management network's bridge holds its subnet's
	// gateway, where viosim serves the guests; /etc/netns/<ns>/hosts names
	// VIO's endpoints there for whatever runs in the namespace (ip netns
	// exec mounts it over /etc/hosts), as an operator's machine resolves
	// them. The namespace has no link out.
	p = ph.start("network namespace")
	ns := fmt.Sprintf("epks-cp-%d", os.Getpid())
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	for _, br := range []string{"br-mgmt", "br-pod"} {
		run(t, "ip", "-n", ns, "link", "add", br, "type", "bridge")
		run(t, "ip", "-n", ns, "link", "set", br, "up")
	}
	run(t, "ip", "-n", ns, "addr", "add", cpGateway+"/24", "dev", "br-mgmt")
	run(t, "ip", "-n", ns, "addr", "add", podGateway+"/24", "dev", "br-pod")
	etcNetns := filepath.Join("/etc/netns", ns)
	if err := os.MkdirAll(etcNetns, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(etcNetns) })
	hosts := "127.0.0.1 localhost\n"
	for _, h := range vioHostnames {
		hosts += cpGateway + " " + h + "\n"
	}
	if err := os.WriteFile(filepath.Join(etcNetns, "hosts"), []byte(hosts), 0o644); err != nil {
		t.Fatal(err)
	}
	ph.done(p, ns)

	cfg := innerConfig{NetNS: ns, Dir: dir, NodeImage: nodeImage, Viosim: viosimBin, Deadline: innerDeadline(t)}
	cfgJSON, _ := json.Marshal(cfg)
	args := []string{"netns", "exec", ns, self, "-test.run", "^TestControlPlane$", "-test.v", "-test.count", "1",
		"-test.timeout", time.Until(cfg.Deadline.Add(2 * time.Minute)).Round(time.Second).String()}
	env := append(os.Environ(), innerEnv+"="+string(cfgJSON))
	inner, err := proc.Start(proc.Spec{Name: "inner", Dir: dir, Path: "ip", Args: args, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inner.Stop(time.Minute) })
	stop := make(chan struct{})
	streamed := make(chan struct{})
	go func() { follow(inner.LogPath, os.Stdout, stop); close(streamed) }()
	<-inner.Done()
	close(stop)
	<-streamed
	if err := inner.Err(); err != nil {
		t.Errorf("the part in the network namespace failed: %v", err)
	}
	t.Logf("total %s", time.Since(t0).Round(time.Second))
}

// innerEnv carries the inner half's configuration (JSON of innerConfig).
const innerEnv = "EPKS_BOOT_CONTROL_PLANE"

// innerConfig is what the outer half hands the inner one.
type innerConfig struct {
	NetNS, Dir, NodeImage, Viosim string
	// Deadline is when the inner half must have failed by, cleaned up.
	Deadline time.Time
}

// innerDeadline leaves the outer half five minutes after the inner one
// to clean up (go test's own timeout runs no cleanup).
func innerDeadline(t *testing.T) time.Time {
	if d, ok := t.Deadline(); ok {
		return d.Add(-5 * time.Minute)
	}
	return time.Now().Add(100 * time.Minute)
}

// The addresses of the test's networks: the defaults of epks cluster create
// (mgmt 10.0.0.0/24, pod 10.0.2.0/24), gateways at host 1.
const (
	cpGateway  = "10.0.0.1"
	podGateway = "10.0.2.1"
)

// vioHostnames are viosim --hostnames' names (sim.VIOHostnames).
var vioHostnames = []string{"keystone.openstack.svc.cluster.local", "nova.vio.local", "cinder.vio.local", "neutron.vio.local", "octavia.vio.local"}

// phases prints the time of each phase as it ends.
type phases struct{ t *testing.T }

type phase struct {
	name  string
	start time.Time
}

func (p *phases) start(name string) phase {
	p.t.Helper()
	p.t.Logf("phase %s ...", name)
	return phase{name, time.Now()}
}

func (p *phases) done(ph phase, what string) {
	p.t.Helper()
	p.t.Logf("phase %-32s %7.1fs %s", ph.name, time.Since(ph.start).Seconds(), what)
}

// script runs a hack/ script whose last output line is a path.
// script runs one of hack's build scripts, its progress on the test's
// output, and returns the last line it prints: the path of what it built.
func script(t *testing.T, path string, args ...string) string {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Stderr = os.Stdout // the scripts' progress
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v", path, strings.Join(args, " "), err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// runLogged runs a command with its output in a log, printed when it fails.
func runLogged(t *testing.T, log, name string, args ...string) {
	t.Helper()
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v; last lines:\n%s", name, strings.Join(args, " "), err, proc.LogTail(log, 40))
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, data) {
		return
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
}

// follow copies what is appended to a file to w until stop is closed, then
// the rest.
func follow(path string, w io.Writer, stop <-chan struct{}) {
	var off int64
	for {
		f, err := os.Open(path)
		if err == nil {
			_, _ = f.Seek(off, io.SeekStart)
			n, _ := io.Copy(w, f)
			off += n
			f.Close()
		}
		select {
		case <-stop:
			if f, err := os.Open(path); err == nil {
				_, _ = f.Seek(off, io.SeekStart)
				_, _ = io.Copy(w, f)
				f.Close()
			}
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// paramsOf reads a parameters file's map.
func paramsOf(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Parameters map[string]any `json:"parameters"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f.Parameters
}

var stepLine = regexp.MustCompile(`epks ([a-z-]+): (ok \((\d+)s\)|failed.*)`)
