package tagger

import (
	"context"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/epks/epks/pkg/nsx"
	"github.com/epks/epks/pkg/openstack"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/fault"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/chartconf"
	"github.com/epks/epks/test/simtest"
)

// unit is a Reconciler over controller-runtime's fake client and an
// in-process viosim, reached over HTTP by the real NSX and OpenStack
// clients: no cluster, no tagger process.
type unit struct {
	t    *testing.T
	ctx  context.Context
	sim  *sim.Server
	api  model.PortAPI
	c    client.Client
	rec  *record.FakeRecorder
	reg  *prometheus.Registry
	r    *Reconciler
	base time.Time
}

var modes = []struct {
	name string
	api  model.PortAPI
}{{nsx.ManagerMode, model.ManagerAPI}, {nsx.PolicyMode, model.PolicyAPI}}

// forEachMode runs a test in both NSX API modes.
func forEachMode(t *testing.T, fn func(u *unit)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { fn(newUnit(t, m.name, m.api)) })
	}
}

func newUnit(t *testing.T, mode string, api model.PortAPI) *unit {
	t.Helper()
	s, err := sim.New(sim.Options{Transition: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)

	v, err := simtest.OpenStackValues(s, "")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := chartconf.Write(ctx, chartconf.Values(v), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	osClient, err := openstack.FromCloudConf(ctx, conf, "epks-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CACertPEM())
	user, password := s.NSXCredentials()
	nc, err := nsx.New(nsx.Config{Managers: []string{s.NSXAddress()}, Username: user, Password: password, RootCAs: pool,
		Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ports, err := nsx.NewPorts(nc, mode)
	if err != nil {
		t.Fatal(err)
	}
	network, err := osClient.ResolveNetwork(ctx, "k8scluster-pod", "")
	if err != nil {
		t.Fatal(err)
	}
	scope, err := ports.Scope(ctx, network)
	if err != nil {
		t.Fatal(err)
	}
	u := &unit{t: t, ctx: ctx, sim: s, api: api, rec: record.NewFakeRecorder(1000), reg: prometheus.NewRegistry(),
		base: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	u.c = fake.NewClientBuilder().WithScheme(scheme.Scheme).WithIndex(&corev1.Node{}, ServerIDField, IndexServerID).Build()
	u.r = NewReconciler(u.c, osClient, ports, ReconcilerOptions{Cluster: "k8scluster", NetworkID: network, Scope: scope,
		Recorder: u.rec, Metrics: NewMetrics(u.reg)})
	return u
}

// node creates a Node created minute minutes after a fixed time.
func (u *unit) node(name, providerID string, minute int) {
	u.t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(u.base.Add(time.Duration(minute) * time.Minute))},
		Spec: corev1.NodeSpec{ProviderID: providerID}}
	if err := u.c.Create(u.ctx, n); err != nil {
		u.t.Fatal(err)
	}
}

func (u *unit) deleteNode(name string) {
	u.t.Helper()
	if err := u.c.Delete(u.ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		u.t.Fatal(err)
	}
}

func (u *unit) providerID(server string) string {
	u.t.Helper()
	s, ok := u.sim.ServerByName(server)
	if !ok {
		u.t.Fatalf("no server %s", server)
	}
	return "openstack:///" + s.ID
}

// reconcile runs one reconcile of a node, failing the test on an error.
func (u *unit) reconcile(name string) {
	u.t.Helper()
	if _, err := u.r.Reconcile(u.ctx, ctrl.Request{NamespacedName: types.NamespacedName{Name: name}}); err != nil {
		u.t.Fatalf("reconcile %s: %v", name, err)
	}
}

// sweep runs the resync's sweep alone (cache refresh and untagging of
// ports whose node is gone) and returns the nodes it would reconcile.
func (u *unit) sweep() []string {
	u.t.Helper()
	events := make(chan event.GenericEvent, 100)
	if err := (&resync{r: u.r, events: events}).once(u.ctx); err != nil {
		u.t.Fatalf("sweep: %v", err)
	}
	close(events)
	var names []string
	for ev := range events {
		names = append(names, ev.Object.GetName())
	}
	return names
}

// resync is a whole resync: the sweep, then every node reconciled.
func (u *unit) resync() {
	u.t.Helper()
	for _, n := range u.sweep() {
		u.reconcile(n)
	}
}

// pod returns the NSX port of a server's pod NIC.
func (u *unit) pod(server string) sim.NSXPortInfo {
	u.t.Helper()
	s, ok := u.sim.ServerByName(server)
	if !ok {
		u.t.Fatalf("no server %s", server)
	}
	network := u.sim.Seeded.Networks["k8scluster-pod"].ID
	for _, p := range u.sim.World.PortsOfDevice(s.ID) {
		if p.NetworkID != network {
			continue
		}
		for _, info := range u.sim.NSXPorts(u.api) {
			if info.AttachmentID == p.ID {
				return info
			}
		}
	}
	u.t.Fatalf("server %s has no pod NSX port", server)
	return sim.NSXPortInfo{}
}

// tags returns the values of our scopes on a server's pod port ("" when
// absent; "a,b" when duplicated).
func (u *unit) tags(server string) (node, cluster string) {
	var nodes, clusters []string
	for _, t := range u.pod(server).Tags {
		switch t.Scope {
		case ScopeNodeName:
			nodes = append(nodes, t.Tag)
		case ScopeCluster:
			clusters = append(clusters, t.Tag)
		}
	}
	return strings.Join(nodes, ","), strings.Join(clusters, ",")
}

func (u *unit) wantTags(server, node, cluster string) {
	u.t.Helper()
	if n, c := u.tags(server); n != node || c != cluster {
		u.t.Errorf("%s's pod port: %s=%q %s=%q, want %q %q", server, ScopeNodeName, n, ScopeCluster, c, node, cluster)
	}
}

// setTags replaces a server's pod port's tags of our scopes out of band.
func (u *unit) setTags(server string, want map[string]string) {
	u.t.Helper()
	id := u.pod(server).ID
	body, err := u.sim.World.GetPort(u.api, id)
	if err != nil {
		u.t.Fatal(err)
	}
	var tags []any
	for _, t := range model.TagsOf(body) {
		if t.Scope != ScopeNodeName && t.Scope != ScopeCluster {
			tags = append(tags, map[string]any{"scope": t.Scope, "tag": t.Tag})
		}
	}
	for _, s := range []string{ScopeNodeName, ScopeCluster} {
		if v, ok := want[s]; ok {
			tags = append(tags, map[string]any{"scope": s, "tag": v})
		}
	}
	body["tags"] = tags
	if _, err := u.sim.World.UpdateNSXPort(u.api, id, body, "someone", true); err != nil {
		u.t.Fatal(err)
	}
}

// events drains the recorder, returning the events of a reason.
func (u *unit) events(reason string) []string {
	var out []string
	for {
		select {
		case e := <-u.rec.Events:
			if strings.Contains(e, " "+reason+" ") {
				out = append(out, e)
			}
		default:
			return out
		}
	}
}

func (u *unit) errorsOf(reason string) float64 {
	return testutil.ToFloat64(u.r.Metrics.Errors.WithLabelValues(reason))
}

func (u *unit) writes() int { return u.sim.CountsWithPrefix(sim.NSX + " PUT ") }

var seeded = []string{"k8scluster-master-0", "k8scluster-minion-0", "k8scluster-minion-1"}

func (u *unit) seedNodes() {
	for i, n := range seeded {
		u.node(n, u.providerID(n), i)
	}
}

func TestReconcileTags(t *testing.T) {
	forEachMode(t, func(u *unit) {
		u.seedNodes()
		u.node("k8scluster-minion-2", "", 5) // found by name before the CCM sets a provider ID
		if _, err := u.sim.AddServer("k8scluster-minion-2", "k8scluster-mgmt", "k8scluster-pod"); err != nil {
			t.Fatal(err)
		}
		u.resync()
		for _, n := range append(seeded, "k8scluster-minion-2") {
			u.wantTags(n, n, "k8scluster")
		}
		if c := testutil.ToFloat64(u.r.Metrics.PortsTagged); c != 4 {
			t.Errorf("ports tagged metric %v, want 4", c)
		}
		if n := len(u.events("Tagged")); n != 4 {
			t.Errorf("%d Tagged events, want 4", n)
		}
		// A second resync of a tagged cluster writes nothing.
		before := u.writes()
		u.resync()
		if w := u.writes() - before; w != 0 {
			t.Errorf("a resync of a tagged cluster wrote %d ports", w)
		}
		// Tags changed behind our back (a stale value, a duplicate) are
		// restored by the next resync; other tags stay.
		u.setTags("k8scluster-minion-0", map[string]string{ScopeNodeName: "stale"})
		u.resync()
		u.wantTags("k8scluster-minion-0", "k8scluster-minion-0", "k8scluster")
		if c, _ := scopeCount(u.pod("k8scluster-minion-0").Tags, "os-instance-uuid"); u.api == model.ManagerAPI && c != 1 {
			t.Errorf("VIO's tags were not kept: %v", u.pod("k8scluster-minion-0").Tags)
		}
	})
}

func scopeCount(tags []model.Tag, scope string) (int, string) {
	n, v := 0, ""
	for _, t := range tags {
		if t.Scope == scope {
			n++
			v = t.Tag
		}
	}
	return n, v
}

func TestReconcileRename(t *testing.T) {
	forEachMode(t, func(u *unit) {
		u.seedNodes()
		u.resync()
		pid := u.providerID("k8scluster-minion-1")
		u.deleteNode("k8scluster-minion-1")
		u.node("k8scluster-renamed", strings.Replace(pid, ":///", "://RegionOne/", 1), 10)
		u.reconcile("k8scluster-renamed")
		u.wantTags("k8scluster-minion-1", "k8scluster-renamed", "k8scluster")
		// The old name's deletion, seen after, does not untag the new one.
		u.reconcile("k8scluster-minion-1")
		u.sweep()
		u.wantTags("k8scluster-minion-1", "k8scluster-renamed", "k8scluster")
	})
}

// Each path that untags a deleted node's port, alone.
func TestUntagDeletedNode(t *testing.T) {
	t.Run("delete handler", func(t *testing.T) {
		forEachMode(t, func(u *unit) {
			u.seedNodes()
			u.resync()
			u.deleteNode("k8scluster-minion-0")
			u.reconcile("k8scluster-minion-0") // the deletion seen: no sweep
			u.wantTags("k8scluster-minion-0", "", "")
			u.wantTags("k8scluster-minion-1", "k8scluster-minion-1", "k8scluster")
			if c := testutil.ToFloat64(u.r.Metrics.PortsUntagged); c != 1 {
				t.Errorf("ports untagged metric %v, want 1", c)
			}
		})
	})
	t.Run("resync sweep", func(t *testing.T) {
		forEachMode(t, func(u *unit) {
			u.seedNodes()
			u.resync()
			u.deleteNode("k8scluster-minion-0")
			names := u.sweep() // the deletion missed: no reconcile of it
			for _, n := range names {
				if n == "k8scluster-minion-0" {
					t.Error("the sweep enqueued a deleted node")
				}
			}
			u.wantTags("k8scluster-minion-0", "", "")
			u.wantTags("k8scluster-minion-1", "k8scluster-minion-1", "k8scluster")
		})
	})
	t.Run("start-up sweep", func(t *testing.T) {
		forEachMode(t, func(u *unit) {
			// Ports tagged by an earlier tagger for nodes deleted while no
			// tagger ran: this reconciler has never seen them.
			u.node("k8scluster-master-0", u.providerID("k8scluster-master-0"), 0)
			u.setTags("k8scluster-minion-0", map[string]string{ScopeNodeName: "k8scluster-minion-0", ScopeCluster: "k8scluster"})
			u.setTags("k8scluster-minion-1", map[string]string{ScopeNodeName: "k8scluster-minion-1", ScopeCluster: "other"})
			u.sweep()
			u.wantTags("k8scluster-minion-0", "", "")
			u.wantTags("k8scluster-minion-1", "k8scluster-minion-1", "other") // another cluster's
		})
	})
}

func TestPortOfAnotherCluster(t *testing.T) {
	forEachMode(t, func(u *unit) {
		u.seedNodes()
		u.setTags("k8scluster-minion-0", map[string]string{ScopeNodeName: "their-node", ScopeCluster: "other"})
		u.setTags("k8scluster-minion-1", map[string]string{ScopeCluster: "other"})
		before := u.writes()
		u.resync()
		u.resync()
		u.wantTags("k8scluster-minion-0", "their-node", "other")
		u.wantTags("k8scluster-minion-1", "", "other")
		u.wantTags("k8scluster-master-0", "k8scluster-master-0", "k8scluster")
		if w := u.writes() - before; w != 1 {
			t.Errorf("%d writes, want 1 (master-0 only)", w)
		}
		evs := u.events("PortOfAnotherCluster")
		if len(evs) != 4 || !strings.Contains(evs[0], "ncp/cluster=other") {
			t.Errorf("PortOfAnotherCluster events: %q, want 4 naming ncp/cluster=other", evs)
		}
		if c := u.errorsOf("port_of_another_cluster"); c != 4 {
			t.Errorf("errors{reason=port_of_another_cluster} = %v, want 4", c)
		}
		// Deleting a node of ours whose name the other cluster's port
		// carries leaves that port too.
		u.node("their-node", "", 20)
		u.deleteNode("their-node")
		u.reconcile("their-node")
		u.wantTags("k8scluster-minion-0", "their-node", "other")
	})
}

func TestDuplicateProviderID(t *testing.T) {
	forEachMode(t, func(u *unit) {
		pid := u.providerID("k8scluster-minion-0")
		// b is older than a: it wins whatever the order of reconciles.
		u.node("k8scluster-b", pid, 1)
		u.node("k8scluster-a", pid, 2)
		for i := 0; i < 3; i++ {
			u.resync()
			u.reconcile("k8scluster-a")
			u.reconcile("k8scluster-b")
			u.reconcile("k8scluster-a")
			u.wantTags("k8scluster-minion-0", "k8scluster-b", "k8scluster")
		}
		evs := u.events("DuplicateProviderID")
		if len(evs) == 0 || !strings.Contains(evs[0], "k8scluster-b") {
			t.Errorf("DuplicateProviderID events: %q", evs)
		}
		if u.errorsOf("duplicate_provider_id") == 0 {
			t.Error("no duplicate_provider_id error counted")
		}
		// Same age: the first name wins.
		u.node("k8scluster-d", u.providerID("k8scluster-minion-1"), 3)
		u.node("k8scluster-c", u.providerID("k8scluster-minion-1"), 3)
		u.reconcile("k8scluster-c")
		u.reconcile("k8scluster-d")
		u.wantTags("k8scluster-minion-1", "k8scluster-c", "k8scluster")
		// The owner deleted: the other node takes the port over.
		u.deleteNode("k8scluster-b")
		u.reconcile("k8scluster-b")
		reqs := u.r.sameServer(u.ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "k8scluster-b"}, Spec: corev1.NodeSpec{ProviderID: pid}})
		if len(reqs) != 1 || reqs[0].Name != "k8scluster-a" {
			t.Fatalf("the deletion enqueues %v, want k8scluster-a", reqs)
		}
		u.reconcile("k8scluster-a")
		u.wantTags("k8scluster-minion-0", "k8scluster-a", "k8scluster")
	})
}

func TestWriteFaults(t *testing.T) {
	forEachMode(t, func(u *unit) {
		u.seedNodes()
		u.sweep()
		// Stale revisions: the port is read again and written.
		u.sim.NSXManager.RaceWrites(2)
		u.reconcile("k8scluster-minion-0")
		u.sim.NSXManager.RaceWrites(0)
		u.wantTags("k8scluster-minion-0", "k8scluster-minion-0", "k8scluster")
		if c := u.sim.RequestCounts()[sim.NSX+" status 412"]; c != 2 {
			t.Errorf("%d stale revisions met, want 2", c)
		}
		// A port that keeps changing: the reconcile fails after
		// maxWriteAttempts and says why; the next one succeeds.
		u.sim.NSXManager.RaceWrites(maxWriteAttempts)
		_, err := u.r.Reconcile(u.ctx, ctrl.Request{NamespacedName: types.NamespacedName{Name: "k8scluster-minion-1"}})
		if err == nil || !nsx.IsStaleRevision(err) {
			t.Errorf("reconcile of a port that keeps changing: %v", err)
		}
		if len(u.events("TaggingFailed")) != 1 || u.errorsOf("tagging_failed") != 1 {
			t.Error("a failed write was not reported")
		}
		u.sim.NSXManager.RaceWrites(0)
		u.reconcile("k8scluster-minion-1")
		u.wantTags("k8scluster-minion-1", "k8scluster-minion-1", "k8scluster")
		// 503s and 429s are retried by the client.
		for _, r := range []fault.Rule{{Service: sim.NSX, Method: http.MethodPut, Status: 503, Count: 2}, {Service: sim.NSX, Status: 429, Count: 2}} {
			if _, err := u.sim.Faults.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		u.reconcile("k8scluster-master-0")
		u.wantTags("k8scluster-master-0", "k8scluster-master-0", "k8scluster")
	})
}
