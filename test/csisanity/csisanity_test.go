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
	"net/http"
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
	"github.com/epks/epks/pkg/sim/boot"
	"github.com/epks/epks/pkg/sim/fault"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/proc"
	"github.com/epks/epks/test/toolbin"
)

// upstreamImpossible are the controller tests that no cloud can make pass
// against cinder-csi-plugin v1.36.0: the test skips them, naming why.
var upstreamImpossible = map[string]string{
	"Controller Service [Controller Server] ListVolumes should fail when an invalid starting_token is passed": "cinder-csi v1.36.0's ListVolumes ignores starting_token " +
		"when max_entries is 0 (openstack.ListVolumes lists every page without a marker when the limit is 0), and csi-sanity sends the token " +
		"with max_entries 0: the token never reaches Cinder and nothing can answer Aborted (with a limit, Cinder's 404 for an unknown marker " +
		"would come back as Internal, as cinder-csi maps only a 400 to Aborted)",
}

// skippedByCSISanity are the tests csi-sanity itself skips, with its
// message: cinder-csi v1.36.0 does not offer what they test (its
// capabilities say so: they test no cloud), or csi-sanity runs them only
// when asked. Any other skip fails the test, and so does an entry
// csi-sanity no longer skips.
var skippedByCSISanity = map[string]string{
	// No GET_CAPACITY, GET_VOLUME, VOLUME_CONDITION, LIST_VOLUMES_PUBLISHED_NODES,
	// MODIFY_VOLUME, PUBLISH_READONLY nor GET_SNAPSHOT controller capability.
	"Controller Service [Controller Server] GetCapacity should return capacity (no optional values added)":                                                        "GetCapacity not supported",
	"ControllerGetVolumeHealth [Controller Server] should fail when no volume id is provided":                                                                     "ControllerGetVolumeHealth not supported",
	"ControllerGetVolumeHealth [Controller Server] should return health for a valid volume":                                                                       "ControllerGetVolumeHealth not supported",
	"ControllerListVolumeHealth [Controller Server] should return appropriate response":                                                                           "ControllerListVolumeHealth not supported",
	"Controller Service [Controller Server] CreateVolume should create volume with a volume attribute class":                                                      "Modify volume not supported",
	"Controller Service [Controller Server] CreateVolume should not create volume with an invalid volume attribute class":                                         "Modify Volume not supported",
	"Controller Service [Controller Server] ControllerPublishVolume should fail when the volume is already published but is incompatible":                         "ControllerPublishVolume.readonly field not supported",
	"ModifyVolume [Controller Server] should fail if no volume id is given":                                                                                       "ControllerModifyVolume not supported",
	"ModifyVolume [Controller Server] should fail if volume does not exist":                                                                                       "ControllerModifyVolume not supported",
	"ModifyVolume [Controller Server] should fail if specified mutable parameters are not supported by the volume":                                                "ControllerModifyVolume not supported",
	"ModifyVolume [Controller Server] should modify a volume created without a volume attribute class":                                                            "ControllerModifyVolume not supported",
	"ModifyVolume [Controller Server] should modify a volume created with a volume attribute class":                                                               "ControllerModifyVolume not supported",
	"ModifyVolume [Controller Server] should fail to modify a volume created with a volume attribute class if new mutable parameters are not supported by volume": "ControllerModifyVolume not supported",
	"GetSnapshot [Controller Server] should return an error":                                                                                                      "GetSnapshot not supported",
	"GetSnapshot [Controller Server] should return snapshot that match the specified snapshot id":                                                                 "GetSnapshot not supported",
	"GetSnapshot [Controller Server] should return an error when the specified snapshot id does not exist":                                                        "GetSnapshot not supported",
	// No SNAPSHOT_ACCESSIBILITY_CONSTRAINTS plugin capability.
	"CreateSnapshot [Controller Server] should succeed when creating a snapshot with accessibility requirements": "SNAPSHOT_ACCESSIBILITY_CONSTRAINTS not supported",
	// No GroupController service.
	"GroupController Service [GroupController Server] GroupControllerGetCapabilities should return appropriate capabilities":                    "GroupControllerService not supported",
	"GroupController Service [GroupController VolumeGroupSnapshots] CreateVolumeGroupSnapshot should fail when no name is provided":             "GroupControllerService not supported",
	"GroupController Service [GroupController VolumeGroupSnapshots] GetVolumeGroupSnapshot should fail when no volume id is provided":           "GroupControllerService not supported",
	"GroupController Service [GroupController VolumeGroupSnapshots] GetVolumeGroupSnapshot should fail when an invalid volume id is used":       "GroupControllerService not supported",
	"GroupController Service [GroupController VolumeGroupSnapshots] DeleteVolumeGroupSnapshot should fail when no volume id is provided":        "GroupControllerService not supported",
	"GroupController Service [GroupController VolumeGroupSnapshots] DeleteVolumeGroupSnapshot should succeed when an invalid volume id is used": "GroupControllerService not supported",
	// Run only with -csi.testnodevolumeattachlimit: it publishes the node's
	// MaxVolumesPerNode volumes (cinder-csi's node-volume-attach-limit, 256)
	// and wants the next publish refused. cinder-csi's ControllerPublishVolume
	// does not count attachments (Kubernetes' scheduler keeps the limit), so
	// only a cloud refusing exactly that attach could pass it.
	"Controller Service [Controller Server] ControllerPublishVolume should fail when publishing more volumes than the node max attach limit": "testnodevolumeattachlimit not enabled",
}

// pendingUpstream are csi-sanity's disabled tests (XIt): it runs them for
// no plugin.
var pendingUpstream = []string{
	"Controller Service [Controller Server] ListVolumes pagination should detect volumes added between pages and accept tokens when the last volume from a page is deleted",
}

// TestCSISanity runs csi-sanity's identity and controller tests against
// cinder-csi-plugin in controller mode (the chart's arguments and
// cloud.conf, rendered from viosim's parameters file) on a unix socket,
// with viosim as a fast Cinder backend. Every one of them must pass but
// those named above; the Node tests are not run (they need a booted
// node). Then, with viosim's Cinder refusing snapshots, csi-sanity's
// snapshot tests must fail, and the test must see it.
func TestCSISanity(t *testing.T) {
	plugin, err := toolbin.Path("cinder-csi-plugin")
	if err != nil {
		t.Fatal(err)
	}
	sanity, err := toolbin.Path("csi-sanity")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getuid() != 0 {
		t.Fatal("csi-sanity's node endpoint runs in a network namespace of its own: run as root")
	}
	dir, err := os.MkdirTemp("", "csi-") // short: a unix socket lives here
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// viosim as a fast Cinder backend: a create answers "creating" and the
	// volume is available by the next request, a deleted one is gone by
	// then, as Cinder with a fast backend does. cinder-csi does not wait
	// for its created volume: csi-sanity snapshots, extends and deletes it
	// at once.
	seed := model.ClusterSeed("k8scluster", 1, 1)
	s, err := sim.New(sim.Options{Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range s.World.Transitions() {
		if row.Kind == model.KindVolume || row.Kind == model.KindSnapshot {
			if err := s.World.SetTransitionDelay(row.Kind, row.From, 0); err != nil {
				t.Fatal(err)
			}
		}
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
	// controller (--provide-node-service=false) is what is tested.
	// csi-sanity asks its node endpoint for the node's ID (NodeGetInfo)
	// and sends its cleanup's NodeUnpublishVolume there: the node endpoint
	// is the chart's node plugin on a node, the seed's worker server.
	chart := renderChart(t, paramsFile, dir)
	controller := chart.plugin(t, "Deployment", names.Release+"-cinder-csi-controller", filepath.Join(dir, "controller"), chart.config)
	if !slices.Contains(controller, "--provide-node-service=false") {
		t.Fatalf("the chart's controller plugin serves the Node service too: %v", controller)
	}
	worker := s.Seeded.Servers["k8scluster-minion-0"]
	nodeConfig := chart.nodeConfig(t, filepath.Join(dir, "node-config"))
	node := chart.plugin(t, "DaemonSet", names.Release+"-cinder-csi-node", filepath.Join(dir, "node"), nodeConfig)
	ns := nodeNetwork(t, s, worker.ID, filepath.Join(dir, "metadata"))

	p := startPlugin(t, dir, "cinder-csi-controller", plugin, nil, controller)
	defer func() { _ = p.Stop(10 * time.Second) }()
	// In the node's network namespace, and a mount namespace of its own:
	// nothing it does reaches the host's mounts or network.
	np := startPlugin(t, dir, "cinder-csi-node", "ip", []string{"netns", "exec", ns, "unshare", "--mount", "--propagation", "private", plugin}, node)
	defer func() { _ = np.Stop(10 * time.Second) }()
	sockets := sockets{controller: filepath.Join(dir, "controller", "csi.sock"), node: filepath.Join(dir, "node", "csi.sock")}

	var skip []string
	for name := range upstreamImpossible {
		skip = append(skip, regexp.QuoteMeta(name))
	}
	slices.Sort(skip)
	volumesBefore := len(s.World.Volumes(nil))
	start := time.Now()
	results, out, runErr := run(t, sanity, dir, "suite", sockets, "--ginkgo.skip=Node Service", "--ginkgo.skip="+strings.Join(skip, "|"))
	passed := 0
	for _, r := range results {
		switch {
		case r.state == "passed":
			passed++
		case r.state == "skipped" && strings.HasPrefix(r.name, "Node Service"):
		case r.state == "skipped" && upstreamImpossible[r.name] != "":
		case r.state == "pending" && slices.Contains(pendingUpstream, r.name):
		case r.state == "skipped" && skippedByCSISanity[r.name] != "":
			if !strings.Contains(r.failure, skippedByCSISanity[r.name]) {
				t.Errorf("csi-sanity skipped %q saying %q, want %q", r.name, r.failure, skippedByCSISanity[r.name])
			}
		default:
			t.Errorf("%s: %s\n%s", r.state, r.name, r.failure)
		}
	}
	for _, table := range []map[string]string{upstreamImpossible, skippedByCSISanity} {
		for name := range table {
			i := slices.IndexFunc(results, func(r spec) bool { return r.name == name })
			if i < 0 || results[i].state != "skipped" {
				t.Errorf("csi-sanity runs %q (or has it no more): remove it from the skips", name)
			}
		}
	}
	t.Logf("csi-sanity %s: %d controller and identity tests passed in %s; not run: the Node tests, %d that no cloud can pass, %d that csi-sanity skips (capabilities cinder-csi lacks, an opt-in test), %d disabled upstream",
		toolbinVersion(t), passed, time.Since(start).Round(100*time.Millisecond), len(upstreamImpossible), len(skippedByCSISanity), len(pendingUpstream))
	if runErr != nil && !t.Failed() {
		t.Errorf("csi-sanity: %v\n%s", runErr, tail(string(out), 60))
	}
	if passed < 50 {
		t.Errorf("only %d tests passed: csi-sanity ran less than its controller suite", passed)
	}
	// What csi-sanity made in the cloud it deleted (its cleanup detached
	// and deleted each volume through the plugin); the lifecycle tests
	// attached volumes to the node NodeGetInfo named.
	s.World.Advance() // deletions done by the next request
	if v, sn := s.World.Volumes(nil), s.World.Snapshots(nil); len(v) != volumesBefore || len(sn) != 0 {
		t.Errorf("csi-sanity left %d volumes (%d before) and %d snapshots in viosim", len(v), volumesBefore, len(sn))
	}
	if n := s.RequestCounts()["nova POST /servers/{id}/os-volume_attachments"]; n == 0 {
		t.Errorf("no volume was attached to a server: %v", s.RequestCounts())
	}
	if t.Failed() {
		t.Logf("the controller plugin's log:\n%s", proc.LogTail(p.LogPath, 60))
		t.Logf("the node plugin's log:\n%s", proc.LogTail(np.LogPath, 30))
		return
	}

	// The harness sees a broken cloud: with Cinder refusing every snapshot
	// create, csi-sanity's snapshot tests fail, and so does its run.
	if _, err := s.Faults.Add(fault.Rule{Service: sim.Cinder, Method: http.MethodPost, Path: "/snapshots$", Status: http.StatusInternalServerError}); err != nil {
		t.Fatal(err)
	}
	results, _, runErr = run(t, sanity, dir, "broken", sockets, "--ginkgo.focus=CreateSnapshot")
	failed, ran := 0, 0
	for _, r := range results {
		if r.state == "failed" && strings.Contains(r.failure, "CreateSnapshot") {
			failed++
		}
		if r.state == "passed" || r.state == "failed" {
			ran++
		}
	}
	if runErr == nil || failed == 0 {
		t.Errorf("with Cinder refusing snapshots csi-sanity's run: %v, %d failed CreateSnapshot tests; want it to fail", runErr, failed)
	} else {
		t.Logf("with Cinder refusing snapshots, %d of the %d CreateSnapshot tests csi-sanity ran failed, as they should", failed, ran)
	}
}

// sockets are the plugins' CSI endpoints.
type sockets struct{ controller, node string }

// run runs csi-sanity against the plugins and returns its report's
// tests, its output and its exit error.
func run(t *testing.T, sanity, dir, name string, s sockets, args ...string) ([]spec, []byte, error) {
	t.Helper()
	report := filepath.Join(dir, name+".json")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sanity, append([]string{
		"--csi.endpoint=unix://" + s.node, "--csi.controllerendpoint=unix://" + s.controller,
		"--csi.mountdir=" + filepath.Join(dir, "mnt"), "--csi.stagingdir=" + filepath.Join(dir, "staging"),
		"--csi.testvolumesize=1073741824", "--csi.testvolumeexpandsize=2147483648",
		"--ginkgo.json-report=" + report, "--ginkgo.no-color", "--ginkgo.timeout=4m",
	}, args...)...)
	out, err := cmd.CombinedOutput()
	if werr := os.WriteFile(filepath.Join(dir, name+".log"), out, 0o644); werr != nil {
		t.Fatal(werr)
	}
	return specs(t, report), out, err
}

// nodeNetwork makes the node's network namespace (deleted when the test
// ends), with the metadata service on its loopback at 169.254.169.254,
// where cinder-csi's node plugin reads the node's instance ID and
// availability zone: Nova's metadata documents of server id, the ones
// viosim's Nova writes on the server's config drive (pkg/sim/boot), served
// as the metadata service serves them (/openstack/latest/meta_data.json).
// Nothing outside the namespace is dialled.
func nodeNetwork(t *testing.T, s *sim.Server, id, tree string) string {
	t.Helper()
	server, err := s.World.Server(id)
	if err != nil {
		t.Fatal(err)
	}
	cd, err := boot.ConfigDriveFor(s.World, server)
	if err != nil {
		t.Fatal(err)
	}
	if err := cd.WriteTree(tree); err != nil {
		t.Fatal(err)
	}
	ns := fmt.Sprintf("epks-csisanity-%d", os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	ip("-n", ns, "link", "set", "lo", "up")
	ip("-n", ns, "addr", "add", "169.254.169.254/32", "dev", "lo")
	ln, err := boot.ListenIn(ns, "169.254.169.254:80")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(tree)), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ns
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
	r := rendered{objs: objs, config: filepath.Join(dir, "config")}
	r.writeConfig(t, r.config, nil)
	return r
}

// writeConfig writes the cloud-config Secret's files into dir as kubelet
// mounts them at /etc/config (the paths in them are the mount's), each
// passed through edit when given.
func (r rendered) writeConfig(t *testing.T, dir string, edit func(key, data string) string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := render.Find(r.objs, "Secret", names.Release+"-cloud-config")
	if secret == nil {
		t.Fatal("the chart renders no cloud-config Secret")
	}
	for _, key := range []string{"cloud.conf", "ca.crt"} {
		data, err := render.SecretData(secret, key)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "/etc/config/", dir+"/")
		if edit != nil {
			text = edit(key, text)
		}
		if err := os.WriteFile(filepath.Join(dir, key), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// nodeConfig writes the node plugin's cloud.conf: the chart's, except that
// the node's metadata comes from the metadata service only. The chart's
// "configDrive,metadataService" would have the plugin look for a config
// drive with blkid first, and on a host that has one of its own (a CI
// machine on OpenStack) mount it and report the host's instance ID.
func (r rendered) nodeConfig(t *testing.T, dir string) string {
	t.Helper()
	const chartOrder = `search-order = "configDrive,metadataService"`
	r.writeConfig(t, dir, func(key, data string) string {
		if key != "cloud.conf" {
			return data
		}
		if !strings.Contains(data, chartOrder) {
			t.Fatalf("the chart's cloud.conf has no %s any more:\n%s", chartOrder, data)
		}
		return strings.Replace(data, chartOrder, `search-order = "metadataService"`, 1)
	})
	return dir
}

// plugin returns the arguments of the cinder-csi-plugin container of a
// workload, with its socket in socketDir and its cloud-config volume at
// config.
func (r rendered) plugin(t *testing.T, kind, name, socketDir, config string) []string {
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
			a := strings.ReplaceAll(a.(string), "/etc/config/", config+"/")
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
	if !filepath.IsAbs(path) {
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
// containers' texts and its own), state and failure (or skip) message.
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
