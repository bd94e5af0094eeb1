//go:build csisanity

// Package csisanity runs the CSI spec's own tests, csi-sanity
// (github.com/kubernetes-csi/csi-test), against the real cinder CSI
// plugin's identity and controller services, configured as the chart
// configures them, with viosim as the cloud.
package csisanity

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/inputs"
	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/pkg/render"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/proc"
	"github.com/epks/epks/test/toolbin"
)

// needsNode are the controller tests that ask the Node service for the
// node's ID (NodeGetInfo), which cinder-csi's node plugin reads from the
// node's metadata (config drive or metadata service): they need a booted
// node, as the Node tests do.
var needsNode = map[string]string{
	"Controller Service [Controller Server] volume lifecycle should work":                                                                 "NodeGetInfo: the node's instance ID from its metadata",
	"Controller Service [Controller Server] volume lifecycle should be idempotent":                                                        "NodeGetInfo: the node's instance ID from its metadata",
	"CreateSnapshot [Controller Server] should succeed when creating a snapshot with accessibility requirements":                          "NodeGetInfo: the node's topology from its metadata",
	"Controller Service [Controller Server] ControllerPublishVolume should fail when the volume is already published but is incompatible": "NodeGetInfo: the node's instance ID from its metadata",
}

// TestCSISanity runs csi-sanity's identity and controller tests against
// cinder-csi-plugin in controller mode (the chart's arguments and
// cloud.conf, rendered from viosim's parameters file) on a unix socket.
// Every one of them must pass but those named in needsNode; the Node
// tests are not run (they need a booted node).
func TestCSISanity(t *testing.T) {
	plugin, err := toolbin.Path("cinder-csi-plugin")
	if err != nil {
		t.Fatal(err)
	}
	sanity, err := toolbin.Path("csi-sanity")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "csi-") // short: a unix socket lives here
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)

	seed := model.ClusterSeed("k8scluster", 1, 1)
	s, err := sim.New(sim.Options{Seed: &seed, Transition: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	paramsFile, err := s.WriteFiles(filepath.Join(dir, "viosim"), sim.ParamsOptions{ClusterName: "k8scluster"})
	if err != nil {
		t.Fatal(err)
	}

	// The plugin as the chart runs it: its containers' arguments, its
	// Secret's cloud.conf and CA, the mount paths made local. The
	// controller (--provide-node-service=false) is what is tested. csi-sanity
	// also sends its cleanup's NodeUnpublishVolume and NodeUnstageVolume to
	// its node endpoint, and the controller, which registers the Node
	// service without a server, crashes on them (a nil dereference in
	// cinder-csi v1.36.0): the node endpoint is the chart's node plugin,
	// in a mount and network namespace of its own (nothing it does reaches
	// the host's mounts or the network; it has no node to act on).
	chart := renderChart(t, paramsFile, dir)
	controller := chart.plugin(t, "Deployment", names.Release+"-cinder-csi-controller", filepath.Join(dir, "controller"))
	if !slices.Contains(controller, "--provide-node-service=false") {
		t.Fatalf("the chart's controller plugin serves the Node service too: %v", controller)
	}
	node := chart.plugin(t, "DaemonSet", names.Release+"-cinder-csi-node", filepath.Join(dir, "node"))
	p := startPlugin(t, dir, "cinder-csi-controller", plugin, nil, controller)
	defer func() { _ = p.Stop(10 * time.Second) }()
	np := startPlugin(t, dir, "cinder-csi-node", "unshare", []string{"--mount", "--net", "--propagation", "private", plugin}, node)
	defer func() { _ = np.Stop(10 * time.Second) }()
	sock := filepath.Join(dir, "controller", "csi.sock")
	nodeSock := filepath.Join(dir, "node", "csi.sock")

	var skip []string
	for name := range needsNode {
		skip = append(skip, regexp.QuoteMeta(name))
	}
	slices.Sort(skip)
	report := filepath.Join(dir, "sanity.json")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sanity,
		"--csi.endpoint=unix://"+nodeSock, "--csi.controllerendpoint=unix://"+sock,
		"--csi.mountdir="+filepath.Join(dir, "mnt"), "--csi.stagingdir="+filepath.Join(dir, "staging"),
		"--csi.testvolumesize=1073741824", "--csi.testvolumeexpandsize=2147483648",
		"--ginkgo.skip=Node Service", "--ginkgo.skip="+strings.Join(skip, "|"),
		"--ginkgo.json-report="+report, "--ginkgo.no-color", "--ginkgo.timeout=4m")
	out, runErr := cmd.CombinedOutput()
	if err := os.WriteFile(filepath.Join(dir, "csi-sanity.log"), out, 0o644); err != nil {
		t.Fatal(err)
	}

	results := specs(t, report)
	passed, skipped := 0, 0
	for _, r := range results {
		switch {
		case r.state == "passed":
			passed++
		case r.state == "skipped" && (strings.HasPrefix(r.name, "Node Service") || needsNode[r.name] != ""):
			skipped++
		case r.state == "skipped":
			// csi-sanity skips what the plugin says it cannot do
			// (capabilities): reported, not failed.
			t.Logf("skipped by csi-sanity: %s", r.name)
		default:
			t.Errorf("%s: %s\n%s", r.state, r.name, r.failure)
		}
	}
	for name, why := range needsNode {
		if !slices.ContainsFunc(results, func(r spec) bool { return r.name == name }) {
			t.Errorf("csi-sanity has no test %q any more: remove it from needsNode (%s)", name, why)
		}
	}
	t.Logf("csi-sanity %s: %d controller and identity tests passed, %d skipped (Node tests, and %d that need NodeGetInfo)", toolbinVersion(t), passed, skipped, len(needsNode))
	if runErr != nil && !t.Failed() {
		t.Errorf("csi-sanity: %v\n%s", runErr, tail(string(out), 60))
	}
	if t.Failed() {
		t.Logf("the controller plugin's log:\n%s", proc.LogTail(p.LogPath, 60))
	}
	if passed < 40 {
		t.Errorf("only %d tests passed: csi-sanity ran less than its controller suite", passed)
	}
}

// rendered is the chart rendered from a parameters file, its cloud.conf
// and CA written where a plugin reads them.
type rendered struct {
	objs   []*unstructured.Unstructured
	config string
}

// renderChart renders the chart from the parameters file and writes its
// cloud-config Secret's cloud.conf and CA under dir/config.
func renderChart(t *testing.T, paramsFile, dir string) rendered {
	t.Helper()
	in, err := inputs.Load(inputs.Options{ParamsFile: paramsFile})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := render.Render(context.Background(), ch, in.Values, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Objects(manifest)
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "config")
	if err := os.MkdirAll(config, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := render.Find(objs, "Secret", names.Release+"-cloud-config")
	if secret == nil {
		t.Fatal("the chart renders no cloud-config Secret")
	}
	for _, key := range []string{"cloud.conf", "ca.crt"} {
		data, err := render.SecretData(secret, key)
		if err != nil {
			t.Fatal(err)
		}
		// As kubelet mounts the Secret at /etc/config: the paths in it are
		// the mount's.
		data = []byte(strings.ReplaceAll(string(data), "/etc/config/", config+"/"))
		if err := os.WriteFile(filepath.Join(config, key), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return rendered{objs: objs, config: config}
}

// plugin returns the arguments of the cinder-csi-plugin container of a
// workload, with its socket in socketDir.
func (r rendered) plugin(t *testing.T, kind, name, socketDir string) []string {
	t.Helper()
	if err := os.MkdirAll(socketDir, 0o700); err != nil {
		t.Fatal(err)
	}
	w := render.Find(r.objs, kind, name)
	if w == nil {
		t.Fatalf("the chart renders no %s %s", kind, name)
	}
	containers, _, _ := unstructuredSlice(w.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		if c["name"] != "cinder-csi-plugin" {
			continue
		}
		var args []string
		for _, a := range c["args"].([]any) {
			a := strings.ReplaceAll(a.(string), "/etc/config/", r.config+"/")
			args = append(args, strings.ReplaceAll(a, "unix:///csi/", "unix://"+socketDir+"/"))
		}
		return args
	}
	t.Fatalf("%s %s has no cinder-csi-plugin container", kind, name)
	return nil
}

// startPlugin starts a plugin (path, with args before the plugin's own)
// and waits for its socket.
func startPlugin(t *testing.T, dir, name, path string, wrapper, args []string) *proc.Process {
	t.Helper()
	if path == "unshare" {
		var err error
		if path, err = exec.LookPath(path); err != nil {
			t.Fatal(err)
		}
	}
	p, err := proc.Start(proc.Spec{Name: name, Dir: dir, Path: path, Args: append(wrapper, args...)})
	if err != nil {
		t.Fatal(err)
	}
	var sock string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--endpoint=unix://"); ok {
			sock = v
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			return p
		}
		if p.Exited() || time.Now().After(deadline) {
			_ = p.Stop(time.Second)
			t.Fatalf("%s does not serve %s: %v\n%s", name, sock, p.Err(), proc.LogTail(p.LogPath, 40))
		}
	}
}

func unstructuredSlice(obj map[string]any, path ...string) ([]map[string]any, bool, error) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, fmt.Errorf("%v is not an object", path)
		}
		cur = m[p]
	}
	list, ok := cur.([]any)
	if !ok {
		return nil, false, nil
	}
	var out []map[string]any
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out, true, nil
}

// spec is one test of csi-sanity's JSON report.
type spec struct {
	name, state, failure string
}

// specs reads ginkgo's JSON report: each spec's full name (its
// containers' texts and its own), state and failure.
func specs(t *testing.T, path string) []spec {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("csi-sanity wrote no report: %v", err)
	}
	var suites []struct {
		SpecReports []struct {
			ContainerHierarchyTexts []string
			LeafNodeText            string
			LeafNodeType            string
			State                   string
			Failure                 *struct{ Message string }
		}
	}
	if err := json.Unmarshal(data, &suites); err != nil {
		t.Fatal(err)
	}
	var out []spec
	for _, s := range suites {
		for _, r := range s.SpecReports {
			if r.LeafNodeType != "It" {
				continue
			}
			sp := spec{name: strings.Join(append(r.ContainerHierarchyTexts, r.LeafNodeText), " "), state: r.State}
			if r.Failure != nil {
				sp.failure = r.Failure.Message
			}
			out = append(out, sp)
		}
	}
	return out
}

func toolbinVersion(t *testing.T) string {
	v, err := toolbin.Version("csi-sanity")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
