package epks

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/fault"
	"github.com/epks/epks/pkg/sim/model"
)

// emptyCloud is a viosim project with only what an operator starts from:
// the public network, the m1.medium flavor, the seed's image and key pair.
func emptyCloud(t *testing.T) *sim.Server {
	t.Helper()
	seed := model.ClusterSeed("unused", 0, 0)
	var nets []model.SeedNetwork
	for _, n := range seed.Networks {
		if n.External {
			nets = append(nets, n)
		}
	}
	seed.Networks, seed.Routers, seed.Servers = nets, nil, nil
	s, err := sim.New(sim.Options{Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	// Neutron makes a project's default security group on its first
	// request; the "before" of every test has it.
	s.World.EnsureDefaultSecurityGroup(s.Seeded.Project.ID)
	if _, err := s.World.CreateKeyPair(model.KeyPair{Name: "test", UserID: s.Seeded.Users["admin"].ID,
		PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test"}); err != nil {
		t.Fatal(err)
	}
	return s
}

// seedParamsFor is the seed's parameters file plus a flavor and a
// nameserver, with its endpoints and credentials pointed at viosim.
func seedParamsFor(t *testing.T, s *sim.Server, edits map[string]any) string {
	t.Helper()
	data, err := os.ReadFile(seedParams)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Parameters map[string]any `yaml:"parameters"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	p := file.Parameters
	simp := s.Params(sim.ParamsOptions{})
	for _, k := range []string{"os_auth_url", "os_region", "os_username", "os_password", "os_tenant_id", "os_domain_id",
		"ip_access", "keystone_ip", "nsx_api_manager", "nsx_username", "nsx_password", "os_ca_file", "nsx_ca_file", "public_network"} {
		p[k] = simp[k]
	}
	for _, k := range []string{"keystone_hostname", "nova_ip", "nova_hostnames", "cinder_ip", "cinder_hostnames"} {
		delete(p, k)
	}
	p["flavor"] = "m1.medium"
	p["nameserver"] = "192.0.2.53"
	for k, v := range edits {
		if v == nil {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "viosim-ca.crt"), s.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(map[string]any{"parameters": p})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "params.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// topology lists what viosim holds, a line per resource, names instead of
// IDs, sorted.
func topology(s *sim.Server) []string {
	w := s.World
	netName, subName, devName := map[string]string{}, map[string]string{}, map[string]string{}
	for _, n := range w.Networks(nil) {
		netName[n.ID] = n.Name
	}
	for _, sub := range w.Subnets(nil) {
		subName[sub.ID] = sub.Name
	}
	for _, r := range w.Routers(nil) {
		devName[r.ID] = r.Name
	}
	for _, sv := range w.Servers(nil) {
		devName[sv.ID] = sv.Name
	}
	sgName := map[string]string{}
	for _, g := range w.SecurityGroups(nil) {
		sgName[g.ID] = g.Name
	}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, n := range w.Networks(nil) {
		add("network %s external=%v", n.Name, n.External)
	}
	for _, sub := range w.Subnets(nil) {
		add("subnet %s of %s %s dns=%v", sub.Name, netName[sub.NetworkID], sub.CIDR, sub.DNSNameservers)
	}
	for _, r := range w.Routers(nil) {
		var ifs []string
		for _, id := range r.InterfaceSubnets {
			ifs = append(ifs, subName[id])
		}
		add("router %s gateway=%s snat=%v interfaces=%v", r.Name, netName[r.GatewayNetworkID], r.EnableSNAT, ifs)
	}
	for _, g := range w.SecurityGroups(nil) {
		add("security-group %s", g.Name)
	}
	for _, r := range w.SecurityGroupRules(nil) {
		if r.Direction == "ingress" {
			add("rule %s %s %s %d-%d from %s", sgName[r.SecurityGroupID], r.Direction, r.Protocol, r.PortRangeMin, r.PortRangeMax, r.RemoteIPPrefix)
		}
	}
	portName := map[string]string{}
	for _, p := range w.Ports(nil) {
		portName[p.ID] = p.Name
		var ips, sgs []string
		for _, ip := range p.FixedIPs {
			ips = append(ips, ip.IPAddress)
		}
		for _, id := range p.SecurityGroups {
			sgs = append(sgs, sgName[id])
		}
		add("port %q on %s %v owner=%s device=%s sg=%v", p.Name, netName[p.NetworkID], ips, p.DeviceOwner, devName[p.DeviceID], sgs)
	}
	for _, f := range w.FloatingIPs(nil) {
		add("floating-ip on %s to %q %s", netName[f.FloatingNetworkID], portName[f.PortID], f.FixedIPAddress)
	}
	for _, sv := range w.Servers(nil) {
		fl, _ := w.Flavor(sv.FlavorID)
		add("server %s flavor=%s key=%s status=%s cluster=%s role=%s", sv.Name, fl.Name, sv.KeyName, sv.Status, sv.Metadata["epks-cluster"], sv.Metadata["epks-role"])
	}
	for _, g := range w.ServerGroups(s.Seeded.Project.ID) {
		add("server-group %s %s members=%d", g.Name, g.Policy, len(g.Members))
	}
	for _, v := range w.Volumes(nil) {
		add("volume %s", v.Name)
	}
	for _, lb := range w.LoadBalancers(nil) {
		add("load-balancer %s", lb.Name)
	}
	sort.Strings(out)
	return out
}

// seedTopology is what the seed's stack made for k8scluster with three
// workers, written out by hand.
func seedTopology() []string {
	out := []string{
		"network k8scluster-api external=false",
		"network k8scluster-mgmt external=false",
		"network k8scluster-pod external=false",
		"subnet k8scluster-api-subnet of k8scluster-api 10.0.1.0/24 dns=[192.0.2.53]",
		"subnet k8scluster-mgmt-subnet of k8scluster-mgmt 10.0.0.0/24 dns=[192.0.2.53]",
		"subnet k8scluster-pod-subnet of k8scluster-pod 10.0.2.0/24 dns=[192.0.2.53]",
		"router k8scluster-router gateway=public snat=true interfaces=[k8scluster-mgmt-subnet]",
		"router k8scluster-container-router gateway=public snat=false interfaces=[k8scluster-api-subnet]",
		"security-group k8scluster-nodes",
		`port "" on k8scluster-mgmt [10.0.0.1] owner=network:router_interface device=k8scluster-router sg=[]`,
		`port "" on k8scluster-api [10.0.1.1] owner=network:router_interface device=k8scluster-container-router sg=[]`,
	}
	for _, ports := range [][2]int{{6443, 6443}, {2379, 2380}, {10250, 10250}, {10257, 10257}, {10259, 10259}, {30000, 32767}} {
		for _, cidr := range []string{"10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"} {
			out = append(out, fmt.Sprintf("rule k8scluster-nodes ingress tcp %d-%d from %s", ports[0], ports[1], cidr))
		}
	}
	nodes := []struct {
		name, role string
		host       int
	}{{"k8scluster-master-0", "control-plane", 10}, {"k8scluster-minion-0", "worker", 20}, {"k8scluster-minion-1", "worker", 21}, {"k8scluster-minion-2", "worker", 22}}
	for _, n := range nodes {
		out = append(out,
			fmt.Sprintf(`port "%s-mgmt" on k8scluster-mgmt [10.0.0.%d] owner=compute:nova device=%s sg=[k8scluster-nodes]`, n.name, n.host, n.name),
			fmt.Sprintf(`port "%s-pod" on k8scluster-pod [10.0.2.%d] owner=compute:nova device=%s sg=[k8scluster-nodes]`, n.name, n.host, n.name),
			fmt.Sprintf(`floating-ip on public to "%s-mgmt" 10.0.0.%d`, n.name, n.host),
			fmt.Sprintf("server %s flavor=m1.medium key=test status=ACTIVE cluster=k8scluster role=%s", n.name, n.role),
		)
	}
	sort.Strings(out)
	return out
}

// added returns the lines of after that before does not have.
func added(before, after []string) []string {
	have := map[string]int{}
	for _, l := range before {
		have[l]++
	}
	var out []string
	for _, l := range after {
		if have[l] > 0 {
			have[l]--
			continue
		}
		out = append(out, l)
	}
	return out
}

func diff(t *testing.T, got, want []string) {
	t.Helper()
	if extra, missing := added(want, got), added(got, want); len(extra) > 0 || len(missing) > 0 {
		t.Errorf("topology differs:\nunexpected:\n  %s\nmissing:\n  %s", strings.Join(extra, "\n  "), strings.Join(missing, "\n  "))
	}
}

// writes counts the requests that change something, Keystone's tokens
// aside.
func writes(s *sim.Server) int {
	n := 0
	for route, c := range s.RequestCounts() {
		if strings.HasPrefix(route, "keystone") || strings.Contains(route, " status ") {
			continue
		}
		for _, m := range []string{" POST ", " PUT ", " DELETE ", " PATCH "} {
			if strings.Contains(route, m) {
				n += c
			}
		}
	}
	return n
}

func TestClusterCreateBuildsTheSeedTopology(t *testing.T) {
	s := emptyCloud(t)
	path := seedParamsFor(t, s, nil)
	before := topology(s)
	cli := newOpenStackCLI(t, s)
	cliBefore, _ := cliTopology(t, cli)
	code, out, errOut := run(t, "cluster", "create", "-p", path)
	if code != 0 {
		t.Fatalf("create: exit %d\n%s\n%s", code, out, errOut)
	}
	diff(t, added(before, topology(s)), seedTopology())
	// What an operator lists with the openstack CLI is the seed's
	// topology too.
	cliAfter, cliUserData := cliTopology(t, cli)
	diff(t, added(cliBefore, cliAfter), seedTopology())
	for _, want := range []string{"created     network         k8scluster-mgmt", "created     server          k8scluster-minion-2", "Cluster k8scluster is built"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress lacks %q:\n%s", want, out)
		}
	}

	// Each server's user data is what epks cloud-init renders for it,
	// with its pod port's MAC.
	pki := filepath.Join(filepath.Dir(path), "k8scluster-pki")
	for _, sv := range s.World.Servers(nil) {
		var podMAC string
		for _, p := range s.World.PortsOfDevice(sv.ID) {
			if strings.HasSuffix(p.Name, "-pod") {
				podMAC = p.MACAddress
			}
		}
		role := sv.Metadata["epks-role"]
		nodeParams := seedParamsFor(t, s, map[string]any{"control_plane_endpoint": "10.0.0.10:6443", "pod_interface_mac": podMAC,
			"mgmt_net_cidr": "10.0.0.0/24", "api_net_cidr": "10.0.1.0/24", "nsx_pod_net_cidr": "10.0.2.0/24"})
		code, want, errOut := run(t, "cloud-init", "-p", nodeParams, "--role", role, "--pki-dir", pki)
		if code != 0 {
			t.Fatalf("cloud-init: exit %d: %s", code, errOut)
		}
		if got := userDataOf(t, s, sv.ID); got != want {
			t.Errorf("user data of %s differs from epks cloud-init --role %s (%d vs %d bytes)", sv.Name, role, len(got), len(want))
		}
		if got := gunzipped(t, cliUserData[sv.Name]); got != want {
			t.Errorf("user data of %s as openstack server show gives it differs from epks cloud-init --role %s (%d vs %d bytes)", sv.Name, role, len(got), len(want))
		}
		if !strings.Contains(want, podMAC) {
			t.Errorf("user data of %s lacks its pod MAC %s", sv.Name, podMAC)
		}
	}

	// A second run finds everything and changes nothing.
	s.ResetRequestCounts()
	code, out, errOut = run(t, "cluster", "create", "-p", path)
	if code != 0 {
		t.Fatalf("second create: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := writes(s); n != 0 {
		t.Errorf("second create made %d writes, want 0: %v", n, s.RequestCounts())
	}
	if strings.Contains(out, "created ") {
		t.Errorf("second create created something:\n%s", out)
	}
	diff(t, added(before, topology(s)), seedTopology())

	// plan says there is nothing to do, and writes nothing.
	code, out, errOut = run(t, "cluster", "plan", "-p", path)
	if code != 0 || strings.Contains(out, "+ create") || !strings.Contains(out, "Plan: ") || writes(s) != 0 {
		t.Errorf("plan after create: exit %d, %d writes\n%s\n%s", code, writes(s), out, errOut)
	}
}

func userDataOf(t *testing.T, s *sim.Server, id string) string {
	t.Helper()
	sv, err := s.World.Server(id)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(sv.UserData)
	if err != nil {
		t.Fatalf("user data of %s is not base64: %v", id, err)
	}
	return gunzipped(t, string(raw))
}

// gunzipped returns the user data, gunzipped when it is gzipped.
func gunzipped(t *testing.T, s string) string {
	t.Helper()
	raw := []byte(s)
	if bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return string(raw)
}

func TestClusterPlanOnAnEmptyProject(t *testing.T) {
	s := emptyCloud(t)
	path := seedParamsFor(t, s, map[string]any{"control_plane_count": 3, "floating_ips": "control-plane"})
	before := topology(s)
	code, out, errOut := run(t, "cluster", "plan", "-p", path)
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"+ create    network         k8scluster-pod",
		"+ create    router          k8scluster-container-router",
		"+ create    server-group    k8scluster-control-plane",
		"+ create    server          k8scluster-master-2",
		"+ create    floating-ip     k8scluster-master-2",
		"+ create    port            k8scluster-minion-2-pod",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "floating-ip     k8scluster-minion") {
		t.Errorf("floating_ips: control-plane, yet the plan gives a worker one:\n%s", out)
	}
	if n := writes(s); n != 0 {
		t.Errorf("plan made %d writes", n)
	}
	diff(t, topology(s), before)
}

func TestClusterCreateContinuesAfterAFault(t *testing.T) {
	s := emptyCloud(t)
	path := seedParamsFor(t, s, map[string]any{"control_plane_count": 3})
	before := topology(s)
	// Halfway: the networks, routers and ports exist when the second
	// floating IP fails.
	if _, err := s.Faults.Add(fault.Rule{Service: sim.Neutron, Method: "POST", Path: "^/v2.0/floatingips$", Status: 500, Count: 1}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "cluster", "create", "-p", path)
	if code != 1 || !strings.Contains(errOut, "run epks cluster create again") {
		t.Fatalf("create with a fault: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, "cluster", "create", "-p", path)
	if code != 0 {
		t.Fatalf("second create: exit %d\n%s\n%s", code, out, errOut)
	}
	got := added(before, topology(s))
	if n := count(got, "server "); n != 6 {
		t.Errorf("%d servers, want 6:\n%s", n, strings.Join(got, "\n"))
	}
	if n := count(got, "floating-ip "); n != 6 {
		t.Errorf("%d floating IPs, want 6:\n%s", n, strings.Join(got, "\n"))
	}
	if n := count(got, "network "); n != 3 {
		t.Errorf("%d networks, want 3", n)
	}
	if !contains(got, "server-group k8scluster-control-plane anti-affinity members=3") {
		t.Errorf("the control plane is not in its anti-affinity group:\n%s", strings.Join(got, "\n"))
	}
}

func TestClusterDeleteLeavesTheCloudAsItWas(t *testing.T) {
	s := emptyCloud(t)
	path := seedParamsFor(t, s, map[string]any{"control_plane_count": 3})
	before := topology(s)
	if code, out, errOut := run(t, "cluster", "create", "-p", path); code != 0 {
		t.Fatalf("create: exit %d\n%s\n%s", code, out, errOut)
	}
	// What the cluster made on its own: a Service's load balancer with a
	// floating IP (the OCCM), a volume and its snapshot (cinder-csi).
	mgmt := s.World.Subnets(func(x *model.Subnet) bool { return x.Name == "k8scluster-mgmt-subnet" })[0]
	lb, err := s.World.CreateLoadBalancer(model.LoadBalancer{Name: "kube_service_k8scluster_default_web", ProjectID: s.Seeded.Project.ID, VipSubnetID: mgmt.ID})
	if err != nil {
		t.Fatal(err)
	}
	lb, _ = s.World.LoadBalancer(lb.ID)
	public := s.World.Networks(func(n *model.Network) bool { return n.External })[0]
	if _, err := s.World.CreateFloatingIP(model.FloatingIP{FloatingNetworkID: public.ID, PortID: lb.VipPortID, ProjectID: s.Seeded.Project.ID}); err != nil {
		t.Fatal(err)
	}
	vol, err := s.World.CreateVolume(model.Volume{Name: "pvc-1", Size: 1, ProjectID: s.Seeded.Project.ID,
		Metadata: map[string]string{"cinder.csi.openstack.org/cluster": "k8scluster"}})
	if err != nil {
		t.Fatal(err)
	}
	// Not the cluster's: kept.
	if _, err := s.World.CreateVolume(model.Volume{Name: "someone-elses", Size: 1, ProjectID: s.Seeded.Project.ID}); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, s, vol.ID)
	snap, err := s.World.CreateSnapshot(model.Snapshot{Name: "snapshot-1", VolumeID: vol.ID, ProjectID: s.Seeded.Project.ID,
		Metadata: map[string]string{"cinder.csi.openstack.org/cluster": "k8scluster"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if sn, err := s.World.Snapshot(snap.ID); err == nil && sn.Status == "available" {
			break
		}
		if i == 200 {
			t.Fatal("the snapshot never became available")
		}
		sleep()
	}

	// Without --delete-volumes the volume and snapshot stay, and are listed.
	code, out, errOut := run(t, "cluster", "delete", "-p", path)
	if code != 1 || !strings.Contains(errOut, "volume pvc-1") || !strings.Contains(errOut, "snapshot snapshot-1") {
		t.Fatalf("delete without --delete-volumes: exit %d, want 1 listing the volume\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, "cluster", "delete", "-p", path, "--delete-volumes")
	if code != 0 {
		t.Fatalf("delete: exit %d\n%s\n%s", code, out, errOut)
	}
	diff(t, topology(s), append(before, "volume someone-elses"))
	if n := len(s.World.FloatingIPs(nil)); n != 0 {
		t.Errorf("%d floating IPs left", n)
	}
	// A second delete finds nothing and succeeds.
	if code, out, errOut := run(t, "cluster", "delete", "-p", path); code != 0 {
		t.Errorf("second delete: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestClusterDeleteAfterScaleDown deletes a cluster whose parameters now
// count fewer workers than create made: the nodes the parameters no longer
// name (their servers, ports and floating IPs, found by the cluster's tag)
// go too, so that the networks and routers can.
func TestClusterDeleteAfterScaleDown(t *testing.T) {
	s := emptyCloud(t)
	before := topology(s)
	if code, out, errOut := run(t, "cluster", "create", "-p", seedParamsFor(t, s, map[string]any{"node_count": 3})); code != 0 {
		t.Fatalf("create: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := run(t, "cluster", "delete", "-p", seedParamsFor(t, s, map[string]any{"node_count": 1}))
	if code != 0 {
		t.Fatalf("delete with node_count 1: exit %d\n%s\n%s", code, out, errOut)
	}
	diff(t, topology(s), before)
	if n := len(s.World.FloatingIPs(nil)); n != 0 {
		t.Errorf("%d floating IPs left", n)
	}
}

// TestClusterCreateTimeout: with servers stuck in BUILD, create gives up
// after --timeout naming the servers it waited for, and a run after the
// cloud recovered completes.
func TestClusterCreateTimeout(t *testing.T) {
	s := emptyCloud(t)
	path := seedParamsFor(t, s, map[string]any{"node_count": 1})
	f, err := s.World.AddLifecycleFault(model.LifecycleFault{Kind: model.KindServer, From: "BUILD"})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "cluster", "create", "-p", path, "--timeout", "3s")
	if code != 1 {
		t.Fatalf("create with servers stuck in BUILD: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"not done after --timeout 3s", "k8scluster-master-0 (BUILD)", "k8scluster-minion-0 (BUILD)", "run epks cluster create again"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	s.World.RemoveLifecycleFault(f.ID)
	if code, out, errOut := run(t, "cluster", "create", "-p", path); code != 0 {
		t.Fatalf("create after the cloud recovered: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := run(t, "cluster", "delete", "-p", path, "--timeout", "0s"); code != ExitBadInput || !strings.Contains(errOut, "--timeout 0s") {
		t.Errorf("delete --timeout 0s: exit %d, want %d naming the flag\n%s", code, ExitBadInput, errOut)
	}
}

func waitVolume(t *testing.T, s *sim.Server, id string) {
	t.Helper()
	for range 200 {
		if v, err := s.World.Volume(id); err == nil && v.Status == "available" {
			return
		}
		sleep()
	}
	t.Fatalf("volume %s never became available", id)
}

func TestClusterPreflightReportsEveryProblem(t *testing.T) {
	s := emptyCloud(t)
	if _, err := s.World.SetQuotas(s.Seeded.Project.ID, "compute", map[string]int{"instances": 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.World.SetQuotas(s.Seeded.Project.ID, "network", map[string]int{"floatingip": 1}); err != nil {
		t.Fatal(err)
	}
	path := seedParamsFor(t, s, map[string]any{"image": "no-such-image", "key_name": "nobody", "flavor": "m9.huge"})
	code, out, errOut := run(t, "cluster", "create", "-p", path)
	if code != ExitBadInput {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitBadInput, out, errOut)
	}
	for _, want := range []string{`image: no image "no-such-image"`, `flavor: no flavor "m9.huge"`, `key_name: no key pair "nobody"`,
		"quota: instances: the cluster needs 4 more, the project uses 0 of 2", "quota: floating IPs: the cluster needs 4 more"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("preflight lacks %q:\n%s", want, errOut)
		}
	}
	if n := writes(s); n != 0 {
		t.Errorf("the preflight failed, yet %d writes were made", n)
	}
}

func count(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func contains(lines []string, l string) bool {
	for _, x := range lines {
		if x == l {
			return true
		}
	}
	return false
}

func sleep() { time.Sleep(20 * time.Millisecond) }
