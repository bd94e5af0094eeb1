//go:build integration

package tagger_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/fault"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/chartconf"
	"github.com/epks/epks/test/localcluster"
	"github.com/epks/epks/test/localcluster/clustertest"
	"github.com/epks/epks/test/simtest"
	"github.com/epks/epks/test/syncbuf"
)

// env is a local control plane, a simulated cloud with the same node
// names, and the files a tagger reads.
type env struct {
	t       testing.TB
	cluster *clustertest.Cluster
	sim     *sim.Server
	dir     string
	bin     string
}

// newEnvWith starts the environment with a cluster, a seed, a resync period
// and NSX client limits of its own.
func newEnvWith(t testing.TB, api string, clusterOpts localcluster.Options, seed *model.Seed, resync string, rateLimit float64, concurrency int) *env {
	t.Helper()
	c := clustertest.Start(t, clusterOpts)
	s, err := sim.New(sim.Options{Transition: 10 * time.Millisecond, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	e := &env{t: t, cluster: c, sim: s, dir: t.TempDir()}
	user, password := s.NSXCredentials()
	creds := filepath.Join(e.dir, "nsx")
	must(t, os.MkdirAll(creds, 0o700))
	must(t, os.WriteFile(filepath.Join(creds, "username"), []byte(user), 0o600))
	must(t, os.WriteFile(filepath.Join(creds, "password"), []byte(password), 0o600))
	must(t, os.WriteFile(filepath.Join(creds, "ca.crt"), s.CACertPEM(), 0o600))
	e.writeConfig(api, resync, rateLimit, concurrency)
	v, err := simtest.OpenStackValues(s, "")
	must(t, err)
	_, err = chartconf.Write(context.Background(), chartconf.Values(v), e.dir)
	must(t, err)
	e.bin = buildTagger(t)
	return e
}

// writeConfig writes the tagger's configuration file.
func (e *env) writeConfig(api, resync string, rateLimit float64, concurrency int) {
	e.t.Helper()
	must(e.t, os.WriteFile(filepath.Join(e.dir, "config.yaml"), []byte(fmt.Sprintf(`clusterName: k8scluster
nsx:
  managers: [%q]
  apiMode: %s
  credentialsDir: %s
  rateLimit: %v
  maxConcurrency: %d
podNetwork: k8scluster-pod
resyncPeriod: %s
`, e.sim.NSXAddress(), api, filepath.Join(e.dir, "nsx"), rateLimit, concurrency, resync)), 0o600))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// buildTagger builds epks-port-tagger once per test binary.
func buildTagger(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "epks-tagger-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "epks-port-tagger")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/epks/epks/cmd/epks-port-tagger").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building the tagger: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// tagger is a running tagger process.
type tagger struct {
	cmd     *exec.Cmd
	log     *syncbuf.Buffer
	metrics string
	health  string
	pprof   string
	done    chan struct{}
	// err is the process's exit error, once done is closed.
	err error
}

// chartGoMemLimit returns the chart's portTagger.goMemLimit, the
// GOMEMLIMIT of the tagger's container.
func chartGoMemLimit(t testing.TB) string {
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := ch.Values["portTagger"].(map[string]any)
	s, _ := pt["goMemLimit"].(string)
	return s
}

// freePort returns a loopback address nothing listens on now; whoever
// binds it must handle "address already in use" (startTagger does).
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startTagger runs the tagger binary as the chart runs it, with short
// leader election times, and waits until it serves. Its ports are free
// when chosen, not reserved: a tagger that could not bind one (another
// process took it) is started again on others.
func (e *env) startTagger(identity string) *tagger {
	t := e.t
	t.Helper()
	for attempt := 1; ; attempt++ {
		tg := e.runTagger(identity)
		deadline := time.Now().Add(2 * time.Minute)
		for !tg.ready() {
			select {
			case <-tg.done:
				if strings.Contains(tg.log.String(), "address already in use") && attempt < 3 {
					t.Logf("tagger %s could not bind a port; starting it on other ports", identity)
				} else {
					t.Fatalf("tagger %s exited (%v) before it served:\n%s", identity, tg.err, lastLines(tg.log.String(), 40))
				}
			case <-time.After(50 * time.Millisecond):
				if time.Now().After(deadline) {
					t.Fatalf("tagger %s does not serve /readyz after 2 minutes:\n%s", identity, lastLines(tg.log.String(), 40))
				}
				continue
			}
			break
		}
		select {
		case <-tg.done: // could not bind: again
		default:
			return tg
		}
	}
}

// runTagger starts the tagger process on free ports.
func (e *env) runTagger(identity string) *tagger {
	t := e.t
	metrics, health, pprof := freePort(t), freePort(t), freePort(t)
	cmd := exec.Command(e.bin, "--leader-election-identity", identity,
		"--kubeconfig", e.cluster.Kubeconfig(), "--config", filepath.Join(e.dir, "config.yaml"),
		"--cloud-config", filepath.Join(e.dir, "cloud.conf"), "--leader-election-namespace", "kube-system",
		"--leader-elect-lease-duration", "3s", "--leader-elect-renew-deadline", "2s", "--leader-elect-retry-period", "500ms",
		"--metrics-bind-address", metrics, "--health-probe-bind-address", health, "--pprof-bind-address", pprof)
	log := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// The chart's GOMEMLIMIT, as in the pod.
	if limit := chartGoMemLimit(t); limit != "" {
		cmd.Env = append(os.Environ(), "GOMEMLIMIT="+limit)
	}
	must(t, cmd.Start())
	tg := &tagger{cmd: cmd, log: log, metrics: metrics, health: health, pprof: pprof, done: make(chan struct{})}
	go func() { tg.err = cmd.Wait(); close(tg.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-tg.done
		if t.Failed() {
			t.Logf("tagger pid %d log:\n%s", cmd.Process.Pid, lastLines(log.String(), 40))
		}
	})
	return tg
}

// metricValue reads an unlabelled metric from Prometheus text output.
func metricValue(text, name string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return -1
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ready reports whether the tagger answers /readyz.
func (tg *tagger) ready() bool {
	resp, err := http.Get("http://" + tg.health + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop ends the tagger by its process group and waits for it.
func (tg *tagger) stop() {
	_ = syscall.Kill(-tg.cmd.Process.Pid, syscall.SIGTERM)
	<-tg.done
}

// podPort returns the NSX port info of a server's pod NIC.
func (e *env) podPort(api model.PortAPI, serverID string) sim.NSXPortInfo {
	pod := e.sim.Seeded.Networks["k8scluster-pod"].ID
	for _, p := range e.sim.World.PortsOfDevice(serverID) {
		if p.NetworkID != pod {
			continue
		}
		for _, info := range e.sim.NSXPorts(api) {
			if info.AttachmentID == p.ID {
				return info
			}
		}
	}
	e.t.Fatalf("server %s has no pod NSX port", serverID)
	return sim.NSXPortInfo{}
}

// scopes counts the tags of a scope and returns the last value.
func scopes(tags []model.Tag, scope string) (int, string) {
	n, v := 0, ""
	for _, t := range tags {
		if t.Scope == scope {
			n++
			v = t.Tag
		}
	}
	return n, v
}

// tagged reports whether a server's pod port carries exactly one
// ncp/node_name=node and one ncp/cluster=cluster.
func (e *env) tagged(api model.PortAPI, serverID, node, cluster string) bool {
	p := e.podPort(api, serverID)
	n1, v1 := scopes(p.Tags, "ncp/node_name")
	n2, v2 := scopes(p.Tags, "ncp/cluster")
	return n1 == 1 && v1 == node && n2 == 1 && v2 == cluster
}

func (e *env) untagged(api model.PortAPI, serverID string) bool {
	p := e.podPort(api, serverID)
	n1, _ := scopes(p.Tags, "ncp/node_name")
	n2, _ := scopes(p.Tags, "ncp/cluster")
	return n1 == 0 && n2 == 0
}

func (e *env) eventually(what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		e.t.Fatalf("%s: not within %s", what, timeout)
	}
}

func (e *env) server(name string) model.Server {
	s, ok := e.sim.ServerByName(name)
	if !ok {
		e.t.Fatalf("no server %s", name)
	}
	return s
}

func (e *env) createNode(name, providerID string) {
	e.t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{ProviderID: providerID}}
	if _, err := e.cluster.Client.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) deleteNode(name string) {
	e.t.Helper()
	if err := e.cluster.Client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// TestTagger runs the tagger's whole list in both NSX API modes.
func TestTagger(t *testing.T) {
	for _, m := range []struct {
		mode string
		api  model.PortAPI
	}{{"manager", model.ManagerAPI}, {"policy", model.PolicyAPI}} {
		t.Run(m.mode, func(t *testing.T) { testTagger(t, m.mode, m.api) })
	}
}

func testTagger(t *testing.T, mode string, api model.PortAPI) {
	// No periodic resync during the first part: a deleted node's port is
	// untagged by the delete handler alone.
	e := newEnvWith(t, mode, localcluster.Options{}, nil, "10m", 80, 10)
	first := e.startTagger("tagger-a")
	nodes := []string{"k8scluster-master-0", "k8scluster-minion-0", "k8scluster-minion-1"}

	t.Run("existing nodes are tagged, nothing else changes", func(t *testing.T) {
		e.eventually("every node tagged", 30*time.Second, func() bool {
			for _, n := range nodes {
				if !e.tagged(api, e.server(n).ID, n, "k8scluster") {
					return false
				}
			}
			return true
		})
		for _, n := range nodes {
			p := e.podPort(api, e.server(n).ID)
			if c, _ := scopes(p.Tags, "os-instance-uuid"); api == model.ManagerAPI && c != 1 {
				t.Errorf("%s: VIO's tags were not kept: %v", n, p.Tags)
			}
			// The management NIC's port is not the pod network's.
			for _, info := range e.sim.NSXPorts(api) {
				if info.ServerID == e.server(n).ID && info.ID != p.ID {
					if c, _ := scopes(info.Tags, "ncp/node_name"); c != 0 {
						t.Errorf("%s: the management port was tagged", n)
					}
				}
			}
		}
		if h := e.leaseHolder(); h != "tagger-a" {
			t.Errorf("the Lease holder is %q, want the only replica tagger-a", h)
		}
	})

	t.Run("node added", func(t *testing.T) {
		srv, err := e.sim.AddServer("k8scluster-minion-2", "k8scluster-mgmt", "k8scluster-pod")
		must(t, err)
		e.createNode("k8scluster-minion-2", "openstack:///"+srv.ID)
		e.eventually("the new node tagged", 15*time.Second, func() bool {
			return e.tagged(api, srv.ID, "k8scluster-minion-2", "k8scluster")
		})
	})

	t.Run("node renamed", func(t *testing.T) {
		srv := e.server("k8scluster-minion-2")
		e.deleteNode("k8scluster-minion-2")
		e.createNode("k8scluster-renamed", "openstack://RegionOne/"+srv.ID)
		e.eventually("the port tagged with the new name", 15*time.Second, func() bool {
			return e.tagged(api, srv.ID, "k8scluster-renamed", "k8scluster")
		})
	})

	t.Run("node deleted: the delete handler", func(t *testing.T) {
		srv := e.server("k8scluster-minion-2")
		e.deleteNode("k8scluster-renamed")
		e.eventually("the deleted node's port untagged", 15*time.Second, func() bool { return e.untagged(api, srv.ID) })
	})

	t.Run("another cluster's port is left and reported", func(t *testing.T) {
		srv, err := e.sim.AddServer("k8scluster-minion-3", "k8scluster-mgmt", "k8scluster-pod")
		must(t, err)
		e.setTags(api, srv.ID, "their-node", "other")
		e.createNode("k8scluster-minion-3", "openstack:///"+srv.ID)
		e.eventuallyEvent("k8scluster-minion-3", "PortOfAnotherCluster")
		if !e.tagged(api, srv.ID, "their-node", "other") {
			t.Errorf("another cluster's port was retagged: %v", e.podPort(api, srv.ID).Tags)
		}
		e.deleteNode("k8scluster-minion-3")
	})

	t.Run("a node without a server gets an event", func(t *testing.T) {
		e.createNode("k8scluster-ghost", "")
		e.eventuallyEvent("k8scluster-ghost", "ServerNotFound")
		e.deleteNode("k8scluster-ghost")
	})

	t.Run("NSX faults converge", func(t *testing.T) {
		for _, r := range []fault.Rule{
			{Service: sim.NSX, Method: http.MethodPut, Status: 503, Count: 3},
			{Service: sim.NSX, Method: http.MethodPut, Status: 503, Probability: 0.2},
			{Service: sim.NSX, Status: 429, Count: 15},
			{Service: sim.NSX, Method: http.MethodPut, Drop: true, Count: 2},
		} {
			if _, err := e.sim.Faults.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		// Random races on reads, and three writes that certainly meet one.
		e.sim.NSXManager.SetRevisionRace(0.5)
		e.sim.NSXManager.RaceWrites(3)
		defer func() { e.sim.Faults.Clear(); e.sim.NSXManager.SetRevisionRace(0); e.sim.NSXManager.RaceWrites(0) }()
		var added []string
		for i := 4; i < 9; i++ {
			name := fmt.Sprintf("k8scluster-minion-%d", i)
			srv, err := e.sim.AddServer(name, "k8scluster-mgmt", "k8scluster-pod")
			must(t, err)
			e.createNode(name, "openstack:///"+srv.ID)
			added = append(added, name)
		}
		e.eventually("every node tagged despite 5xx, 429 and revision races", 60*time.Second, func() bool {
			for _, n := range append(nodes, added...) {
				if !e.tagged(api, e.server(n).ID, n, "k8scluster") {
					return false
				}
			}
			return true
		})
		if counts := e.sim.RequestCounts(); counts["nsx status 412"] < 3 || counts["nsx status 503"] < 3 || counts["nsx status 429"] < 15 {
			t.Errorf("the faults did not happen: %v", e.sim.RequestCounts())
		}
	})

	t.Run("metrics", func(t *testing.T) {
		resp, err := http.Get("http://" + first.metrics + "/metrics")
		must(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if metricValue(string(body), "epks_port_tagger_ports_untagged_total") < 1 {
			t.Error("no untagged port counted")
		}
		if metricValue(string(body), "epks_port_tagger_ports_tagged_total") < 3 {
			t.Error("fewer tagged ports counted than nodes")
		}
		for _, want := range []string{
			`epks_port_tagger_api_requests_total{api="nsx",status="200",verb="PUT"}`, "controller_runtime_reconcile_time_seconds",
			`epks_port_tagger_errors_total{reason="port_of_another_cluster"}`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if strings.Contains(string(body), "viosim-nsx-password") || strings.Contains(first.log.String(), "viosim-nsx-password") ||
			strings.Contains(first.log.String(), "viosim-password") {
			t.Error("a password reached the metrics or the log")
		}
	})

	// Nodes deleted while no tagger ran: the next tagger's first sweep.
	var second *tagger
	t.Run("start-up sweep", func(t *testing.T) {
		// SIGTERM: the leader stops its work, releases the Lease and
		// exits 0 (package signals, as the other binaries).
		first.stop()
		if first.err != nil {
			t.Errorf("the leader after SIGTERM: %v, want exit code 0\n%s", first.err, lastLines(first.log.String(), 20))
		}
		if h := e.leaseHolder(); h != "" {
			t.Errorf("the Lease is still held by %q after its holder's SIGTERM: not released", h)
		}
		srv := e.server("k8scluster-minion-4")
		e.deleteNode("k8scluster-minion-4")
		e.writeConfig(mode, "3s", 80, 10)
		second = e.startTagger("tagger-b")
		e.eventually("the port of a node deleted while no tagger ran untagged", 30*time.Second, func() bool { return e.untagged(api, srv.ID) })
	})

	t.Run("tags changed behind its back are restored by the periodic resync; unknown fields survive", func(t *testing.T) {
		id := e.podPort(api, e.server("k8scluster-minion-1").ID).ID
		body, _ := e.sim.World.GetPort(api, id)
		body["vendor_field"] = map[string]any{"kept": true}
		body["tags"] = []any{} // and our tags removed out of band
		if _, err := e.sim.World.UpdateNSXPort(api, id, body, "someone", true); err != nil {
			t.Fatal(err)
		}
		e.eventually("tags restored within a resync period", 15*time.Second, func() bool {
			return e.tagged(api, e.server("k8scluster-minion-1").ID, "k8scluster-minion-1", "k8scluster")
		})
		after, _ := e.sim.World.GetPort(api, id)
		if after["vendor_field"] == nil {
			t.Error("a field the tagger does not know was lost")
		}
	})

	t.Run("leader killed", func(t *testing.T) {
		e.eventually("tagger-b holds the Lease", 20*time.Second, func() bool { return e.leaseHolder() == "tagger-b" })
		third := e.startTagger("tagger-c")
		// tagger-c serves (its manager, and so its election, started);
		// tagger-b renews the Lease after that.
		e.eventually("tagger-c serves", 20*time.Second, third.ready)
		serving := time.Now()
		e.eventually("tagger-b renews the Lease while tagger-c runs", 20*time.Second, func() bool {
			l := e.lease()
			return l != nil && l.Spec.RenewTime != nil && l.Spec.RenewTime.After(serving.Add(time.Second))
		})
		if h := e.leaseHolder(); h != "tagger-b" {
			t.Fatalf("the Lease holder is %q while the leader runs, want tagger-b", h)
		}
		_ = syscall.Kill(-second.cmd.Process.Pid, syscall.SIGKILL)
		e.eventually("the standby takes the Lease over", 30*time.Second, func() bool { return e.leaseHolder() == "tagger-c" })
		srv, err := e.sim.AddServer("k8scluster-minion-9", "k8scluster-mgmt", "k8scluster-pod")
		must(t, err)
		e.createNode("k8scluster-minion-9", "")
		e.eventually("the new leader tags a new node (found by name)", 20*time.Second, func() bool {
			return e.tagged(api, srv.ID, "k8scluster-minion-9", "k8scluster")
		})
	})
}

// lease returns the tagger's leader election Lease, or nil.
func (e *env) lease() *coordinationv1.Lease {
	l, err := e.cluster.Client.CoordinationV1().Leases("kube-system").Get(context.Background(), "epks-port-tagger", metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return l
}

// leaseHolder returns the holder identity of the Lease, "" when none.
func (e *env) leaseHolder() string {
	if l := e.lease(); l != nil && l.Spec.HolderIdentity != nil {
		return *l.Spec.HolderIdentity
	}
	return ""
}

// setTags sets our two tags on a server's pod port out of band.
func (e *env) setTags(api model.PortAPI, serverID, node, cluster string) {
	e.t.Helper()
	id := e.podPort(api, serverID).ID
	body, err := e.sim.World.GetPort(api, id)
	must(e.t, err)
	tags := []any{map[string]any{"scope": "ncp/node_name", "tag": node}, map[string]any{"scope": "ncp/cluster", "tag": cluster}}
	for _, t := range model.TagsOf(body) {
		if t.Scope != "ncp/node_name" && t.Scope != "ncp/cluster" {
			tags = append(tags, map[string]any{"scope": t.Scope, "tag": t.Tag})
		}
	}
	body["tags"] = tags
	_, err = e.sim.World.UpdateNSXPort(api, id, body, "someone", true)
	must(e.t, err)
}

// eventuallyEvent waits for a Warning event of a reason on a node.
func (e *env) eventuallyEvent(node, reason string) {
	e.t.Helper()
	e.eventually("a "+reason+" event on "+node, 15*time.Second, func() bool {
		evs, err := e.cluster.Client.CoreV1().Events("").List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + node})
		if err != nil {
			return false
		}
		for _, ev := range evs.Items {
			if ev.Reason == reason && ev.Type == corev1.EventTypeWarning {
				return true
			}
		}
		return false
	})
}

func TestTaggerBadConfig(t *testing.T) {
	bin := buildTagger(t)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("nsx:\n  apiMode: simplified\n  rateLimit: 500\n"), 0o600))
	out, err := exec.Command(bin, "--config", filepath.Join(dir, "config.yaml")).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, out)
	}
	for _, want := range []string{"clusterName is required", "nsx.managers is required", `nsx.apiMode "simplified"`, "nsx.rateLimit 500", "podNetwork or podNetworkCIDR"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
