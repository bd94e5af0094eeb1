//go:build integration

package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/epks/epks/pkg/cloudinit"
	"github.com/epks/epks/pkg/cluster"
	"github.com/epks/epks/pkg/cluster/scope"
	"github.com/epks/epks/pkg/inputs"
	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/fault"
	"github.com/epks/epks/pkg/sim/model"
)

// benchWorkers is how many workers the benchmark's cluster has besides one
// control-plane node; BENCH_WORKERS overrides it.
func benchWorkers() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_WORKERS")); err == nil && n > 0 {
		return n
	}
	return 50
}

// build is how long a server takes from BUILD to ACTIVE: a VM cloned and
// powered on in vSphere (half a minute to a minute on VIO).
const build = 30 * time.Second

// op is what one kind of request costs: the time the cloud takes to answer
// it. Reads take anyOther. A request matches the first op that names its
// service, method and path (a regular expression, with IDs as in viosim's
// request counts, "{id}", or real ones).
type op struct {
	name            string
	service, method string
	path            string
	delay           time.Duration
}

// ops are the delays of the operations a cluster's create and delete make,
// of the order VIO with NSX-T shows: Neutron's writes go through NSX, a
// server's delete destroys a VM (Nova answers it at once and deletes
// after; viosim deletes in the call, so the delay sits there).
var ops = []op{
	{"token", sim.Keystone, "POST", `^/v3/auth/tokens$`, 100 * time.Millisecond},
	{"network", sim.Neutron, "POST", `^/v2\.0/networks$`, 300 * time.Millisecond},
	{"subnet", sim.Neutron, "POST", `^/v2\.0/subnets$`, 300 * time.Millisecond},
	{"router", sim.Neutron, "POST", `^/v2\.0/routers$`, 500 * time.Millisecond},
	{"router interface", sim.Neutron, "PUT", `^/v2\.0/routers/[^/]+/add_router_interface$`, 700 * time.Millisecond},
	{"security group", sim.Neutron, "POST", `^/v2\.0/security-groups$`, 200 * time.Millisecond},
	{"rule", sim.Neutron, "POST", `^/v2\.0/security-group-rules$`, 100 * time.Millisecond},
	{"port", sim.Neutron, "POST", `^/v2\.0/ports$`, 400 * time.Millisecond},
	{"floating IP", sim.Neutron, "POST", `^/v2\.0/floatingips$`, 600 * time.Millisecond},
	{"server group", sim.Nova, "POST", `^/os-server-groups$`, 200 * time.Millisecond},
	{"server", sim.Nova, "POST", `^/servers$`, time.Second},
	{"server delete", sim.Nova, "DELETE", `^/servers/[^/]+$`, 4 * time.Second},
	{"port delete", sim.Neutron, "DELETE", `^/v2\.0/ports/[^/]+$`, 300 * time.Millisecond},
	{"floating IP delete", sim.Neutron, "DELETE", `^/v2\.0/floatingips/[^/]+$`, 400 * time.Millisecond},
	{"router interface removal", sim.Neutron, "PUT", `^/v2\.0/routers/[^/]+/remove_router_interface$`, 600 * time.Millisecond},
	{"router delete", sim.Neutron, "DELETE", `^/v2\.0/routers/[^/]+$`, 400 * time.Millisecond},
	{"security group delete", sim.Neutron, "DELETE", `^/v2\.0/security-groups/[^/]+$`, 200 * time.Millisecond},
	{"network delete", sim.Neutron, "DELETE", `^/v2\.0/networks/[^/]+$`, 500 * time.Millisecond},
	{"server group delete", sim.Nova, "DELETE", `^/os-server-groups/[^/]+$`, 200 * time.Millisecond},
}

// anyOther is every other request: reads, mostly.
const anyOther = 20 * time.Millisecond

func delayOf(name string) time.Duration {
	for _, o := range ops {
		if o.name == name {
			return o.delay
		}
	}
	panic("no op " + name)
}

// delayOfRoute is the delay of a counted route ("neutron POST /v2.0/ports").
func delayOfRoute(route string) time.Duration {
	parts := strings.SplitN(route, " ", 3)
	for _, o := range ops {
		if o.service == parts[0] && o.method == parts[1] && regexp.MustCompile(o.path).MatchString(parts[2]) {
			return o.delay
		}
	}
	return anyOther
}

// step is an operation of the dependency graph, for the critical path.
type step struct {
	d    time.Duration
	deps []string
}

// longest is the longest chain of dependent steps.
func longest(steps map[string]step) time.Duration {
	memo := map[string]time.Duration{}
	var end func(string) time.Duration
	end = func(name string) time.Duration {
		if d, ok := memo[name]; ok {
			return d
		}
		s := steps[name]
		var start time.Duration
		for _, d := range s.deps {
			start = max(start, end(d))
		}
		memo[name] = start + s.d
		return memo[name]
	}
	var out time.Duration
	for name := range steps {
		out = max(out, end(name))
	}
	return out
}

// createPath and deletePath are the dependency graphs of create and delete
// with one control-plane node (no server group): what must exist before
// what, or be gone before what. Reads are left out: a run's reads are its
// overhead.
func createPath() time.Duration {
	return longest(map[string]step{
		"token":            {delayOf("token"), nil},
		"network":          {delayOf("network"), []string{"token"}},
		"subnet":           {delayOf("subnet"), []string{"network"}},
		"router":           {delayOf("router"), []string{"token"}},
		"router interface": {delayOf("router interface"), []string{"router", "subnet"}},
		"security group":   {delayOf("security group"), []string{"token"}},
		"rule":             {delayOf("rule"), []string{"security group"}},
		"port":             {delayOf("port"), []string{"subnet", "security group"}},
		"server":           {delayOf("server"), []string{"port"}},
		"ACTIVE":           {build, []string{"server"}},
		"floating IP":      {delayOf("floating IP"), []string{"port", "router interface"}},
	})
}

func deletePath() time.Duration {
	return longest(map[string]step{
		"token":                    {delayOf("token"), nil},
		"server delete":            {delayOf("server delete"), []string{"token"}},
		"floating IP delete":       {delayOf("floating IP delete"), []string{"token"}},
		"port delete":              {delayOf("port delete"), []string{"server delete"}},
		"router interface removal": {delayOf("router interface removal"), []string{"floating IP delete"}},
		"router delete":            {delayOf("router delete"), []string{"router interface removal"}},
		"security group delete":    {delayOf("security group delete"), []string{"port delete"}},
		"network delete":           {delayOf("network delete"), []string{"port delete", "router interface removal"}},
	})
}

// run is one measured verb.
type run struct {
	took      time.Duration
	calls     int
	resources int
	counts    map[string]int
	// sequential is what the same requests take one at a time, each
	// server waited for before the next: a script of CLI calls.
	sequential time.Duration
}

func measure(s *sim.Server, took time.Duration, actions []scope.Action, verb scope.Verb, servers int) run {
	r := run{took: took, counts: s.RequestCounts()}
	for route, n := range r.counts {
		if strings.Contains(route, " status ") {
			continue
		}
		r.calls += n
		r.sequential += time.Duration(n) * delayOfRoute(route)
	}
	r.sequential += time.Duration(servers) * build
	for _, a := range actions {
		if a.Verb == verb {
			r.resources++
		}
	}
	return r
}

func (r run) perResource() float64 { return float64(r.calls) / float64(r.resources) }

// BenchmarkClusterCreateDelete creates a cluster of one control-plane node
// and BENCH_WORKERS workers against viosim with the delays of ops and a
// build time of 30s per server, then deletes it, and compares each with its
// critical path (the longest chain of dependent operations) and with doing
// the same requests one at a time. Run it with `make bench`.
func BenchmarkClusterCreateDelete(b *testing.B) {
	workers := benchWorkers()
	seed := model.ClusterSeed("unused", 0, 0)
	var nets []model.SeedNetwork
	for _, n := range seed.Networks {
		if n.External {
			nets = append(nets, n)
		}
	}
	seed.Networks, seed.Routers, seed.Servers = nets, nil, nil
	s, err := sim.New(sim.Options{Seed: &seed, Transition: build})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.World.EnsureDefaultSecurityGroup(s.Seeded.Project.ID)
	if _, err := s.World.CreateKeyPair(model.KeyPair{Name: "bench", UserID: s.Seeded.Users["admin"].ID,
		PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench"}); err != nil {
		b.Fatal(err)
	}
	// A project sized for the cluster, as an operator asks for one.
	nodes := 1 + workers
	if _, err := s.World.SetQuotas(s.Seeded.Project.ID, "compute", map[string]int{"instances": nodes, "cores": 2 * nodes, "ram": 4096 * nodes}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.World.SetQuotas(s.Seeded.Project.ID, "network", map[string]int{"floatingip": nodes, "port": 2*nodes + 10}); err != nil {
		b.Fatal(err)
	}
	for _, o := range ops {
		if _, err := s.Faults.Add(fault.Rule{Service: o.service, Method: o.method, Path: o.path, Latency: fault.Duration(o.delay)}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.Faults.Add(fault.Rule{Latency: fault.Duration(anyOther)}); err != nil {
		b.Fatal(err)
	}
	in, pki := benchInputs(b, s, workers)
	spec, err := cluster.NewSpec(in.Params)
	if err != nil {
		b.Fatal(err)
	}
	before := s.Snapshot()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	b.ResetTimer()
	s.ResetRequestCounts()
	t0 := time.Now()
	sc := connect(ctx, b, in, spec)
	trace(sc, t0)
	if err := cluster.Create(ctx, sc, spec, cluster.FitNova(cluster.CloudInitUserData(in.Params, in.Values, pki, cloudinit.DefaultOS))); err != nil {
		b.Fatalf("create: %v", err)
	}
	create := measure(s, time.Since(t0), sc.Actions(), scope.Create, len(spec.Nodes))
	b.StopTimer()
	active := 0
	for _, sv := range s.World.Servers(nil) {
		if sv.Status == "ACTIVE" {
			active++
		}
	}
	if active != len(spec.Nodes) || len(s.World.FloatingIPs(nil)) != len(spec.Nodes) {
		b.Fatalf("create made %d ACTIVE servers and %d floating IPs, want %d of each", active, len(s.World.FloatingIPs(nil)), len(spec.Nodes))
	}

	b.StartTimer()
	s.ResetRequestCounts()
	t0 = time.Now()
	sc = connect(ctx, b, in, spec)
	trace(sc, t0)
	if err := cluster.Delete(ctx, sc, spec, cluster.DeleteOptions{}); err != nil {
		b.Fatalf("delete: %v", err)
	}
	del := measure(s, time.Since(t0), sc.Actions(), scope.Delete, 0)
	b.StopTimer()
	if after := s.Snapshot(); fmt.Sprint(after) != fmt.Sprint(before) || len(s.World.Ports(nil)) != 0 || len(s.World.Networks(nil)) != 1 {
		b.Fatalf("delete left %d ports and %d networks (want 0 and the external one)", len(s.World.Ports(nil)), len(s.World.Networks(nil)))
	}

	cpCreate, cpDelete := createPath(), deletePath()
	b.ReportMetric(create.took.Seconds(), "s-create")
	b.ReportMetric(create.took.Seconds()/cpCreate.Seconds(), "x-create-critical-path")
	b.ReportMetric(create.perResource(), "calls/resource-created")
	b.ReportMetric(del.took.Seconds(), "s-delete")
	b.ReportMetric(del.took.Seconds()/cpDelete.Seconds(), "x-delete-critical-path")
	b.ReportMetric(del.perResource(), "calls/resource-deleted")
	fmt.Printf(`
epks cluster create and delete: 1 control-plane node and %d workers against viosim, a server's build %s, requests delayed as ops says (reads %s)
  create   %6.1fs  = %.2fx its critical path %.1fs (token, network, subnet, port, server, build)
                    %.1fx faster than the same %d requests one at a time, each server waited for (%s)
           %d requests for %d resources created: %.2f per resource
  delete   %6.1fs  = %.2fx its critical path %.1fs (token, server delete, port delete, network delete)
                    %.1fx faster than the same %d requests one at a time (%s)
           %d requests for %d resources deleted: %.2f per resource
`, workers, build, anyOther,
		create.took.Seconds(), create.took.Seconds()/cpCreate.Seconds(), cpCreate.Seconds(),
		create.sequential.Seconds()/create.took.Seconds(), create.calls, create.sequential.Round(time.Second),
		create.calls, create.resources, create.perResource(),
		del.took.Seconds(), del.took.Seconds()/cpDelete.Seconds(), cpDelete.Seconds(),
		del.sequential.Seconds()/del.took.Seconds(), del.calls, del.sequential.Round(time.Second),
		del.calls, del.resources, del.perResource())
	fmt.Printf("  requests of create: %s\n  requests of delete: %s\n", routes(create.counts), routes(del.counts))
	// The time targets depend on the machine's load: enforced by make bench,
	// reported only by make bench-small, CI's run (timeTargetsEnv).
	enforceTime := timeTargetsEnforced()
	targets := []struct {
		line  string
		ok    bool
		timed bool
	}{
		{fmt.Sprintf("create time       %.2fx the critical path (target <= 1.2)", create.took.Seconds()/cpCreate.Seconds()), create.took <= cpCreate*12/10, true},
		{fmt.Sprintf("create requests   %.2f per resource created (target <= 1.5)", create.perResource()), create.perResource() <= 1.5, false},
		{fmt.Sprintf("delete time       %.2fx the critical path (target <= 1.2)", del.took.Seconds()/cpDelete.Seconds()), del.took <= cpDelete*12/10, true},
		{fmt.Sprintf("delete requests   %.2f per resource deleted (target <= 1.5)", del.perResource()), del.perResource() <= 1.5, false},
	}
	for _, t := range targets {
		mark := "ok  "
		switch {
		case !t.ok && t.timed && !enforceTime:
			mark = "miss (reported only, " + timeTargetsEnv + "=report)"
		case !t.ok:
			mark = "MISS"
			b.Errorf("target missed: %s", t.line)
		}
		fmt.Printf("  %s %s\n", mark, t.line)
	}
	if !enforceTime {
		fmt.Printf("  (time targets reported, not enforced: %s=report)\n", timeTargetsEnv)
	}
}

// timeTargetsEnv set to "report" makes the time targets (time against the
// critical path) printed with their ratios but not enforced: make
// bench-small, part of make test, runs so on CI's loaded machines, where
// time is measured, never asserted. make bench enforces every target.
const timeTargetsEnv = "BENCH_TIME_TARGETS"

func timeTargetsEnforced() bool { return os.Getenv(timeTargetsEnv) != "report" }

// routes lists the counted requests, most frequent first.
func routes(counts map[string]int) string {
	type rc struct {
		route string
		n     int
	}
	var list []rc
	for r, n := range counts {
		if !strings.Contains(r, " status ") {
			list = append(list, rc{r, n})
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].route < list[j].route
	})
	var parts []string
	for _, x := range list {
		parts = append(parts, fmt.Sprintf("%d %s", x.n, x.route))
	}
	return strings.Join(parts, ", ")
}

// benchInputs writes viosim's parameters for a cluster of workers (the
// seed's image, flavor and a key pair) and loads them as epks cluster
// create does, with the cluster's PKI.
func benchInputs(b *testing.B, s *sim.Server, workers int) (*inputs.Inputs, *cloudinit.PKI) {
	b.Helper()
	dir := b.TempDir()
	p := s.Params(sim.ParamsOptions{ClusterName: "k8scluster"})
	p["node_count"] = workers
	p["image"], p["flavor"], p["key_name"] = "ubuntu_dual_nic", "m1.medium", "bench"
	p["nsx_package_path"] = "/opt/nsx/ncp.zip"
	data, err := yaml.Marshal(map[string]any{"parameters": p})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "params.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "viosim-ca.crt"), s.CACertPEM(), 0o644); err != nil {
		b.Fatal(err)
	}
	in, err := inputs.Load(inputs.Options{ParamsFile: path, Purpose: params.ForCluster})
	if err != nil {
		b.Fatal(err)
	}
	pki, _, err := cloudinit.LoadOrCreatePKI(filepath.Join(dir, "pki"), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return in, pki
}

// connect authenticates as epks cluster create and delete do.
func connect(ctx context.Context, b *testing.B, in *inputs.Inputs, spec *cluster.Spec) *scope.Scope {
	b.Helper()
	clients, err := cluster.Connect(ctx, in.Params, in.CA)
	if err != nil {
		b.Fatal(err)
	}
	return &scope.Scope{Cluster: spec.Name, Clients: clients}
}

// trace prints each resource as it is done, with the time since t0, when
// BENCH_TRACE is set.
func trace(sc *scope.Scope, t0 time.Time) {
	if os.Getenv("BENCH_TRACE") != "" {
		sc.Out = tsWriter{t0}
	}
}

type tsWriter struct{ t0 time.Time }

func (w tsWriter) Write(p []byte) (int, error) {
	fmt.Printf("%6.3f %s", time.Since(w.t0).Seconds(), p)
	return len(p), nil
}
