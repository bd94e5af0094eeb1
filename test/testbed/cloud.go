package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/proc"
)

// Before the cluster: what a VIO project has before `epks cluster create`
// (the image, the flavor, the external network, a key pair; the NSX objects
// NCP's configuration names), and the cluster's networks it creates.
const (
	// KeyName is the key pair of the nodes.
	KeyName = "epks"
	// MgmtCIDR, APICIDR and PodCIDR are the cluster's networks, the seed's
	// defaults: the control-plane node is host 10, workers 20 and up.
	MgmtCIDR = "10.0.0.0/24"
	APICIDR  = "10.0.1.0/24"
	PodCIDR  = "10.0.2.0/24"
)

// cloudSeed is viosim's world before the cluster: the seed's project,
// users, flavor, image, external network and NSX names, and no cluster
// network, router or server.
func cloudSeed() model.Seed {
	seed := model.ClusterSeed(ClusterName, 0, 0)
	var nets []model.SeedNetwork
	for _, n := range seed.Networks {
		if n.External {
			nets = append(nets, n)
		}
	}
	seed.Networks, seed.Routers, seed.Servers = nets, nil, nil
	return seed
}

// prepareCloud adds what an operator has made before the cluster: the key
// pair, and the project's default security group, which Neutron makes on
// the project's first request.
func (tb *Testbed) prepareCloud() error {
	tb.Sim.World.EnsureDefaultSecurityGroup(tb.Sim.Seeded.Project.ID)
	_, err := tb.Sim.World.CreateKeyPair(model.KeyPair{Name: KeyName, UserID: tb.Sim.Seeded.Users["admin"].ID,
		PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl epks-testbed"})
	return err
}

// writeParams writes viosim's CA and the parameters file of the cluster:
// viosim's endpoints and credentials, the seed's image, flavor and key
// pair, the node count and the networks epks cluster create makes.
func (tb *Testbed) writeParams(dir string, o sim.ParamsOptions) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "viosim-ca.crt"), tb.Sim.CACertPEM(), 0o644); err != nil {
		return "", err
	}
	p := tb.Sim.Params(o)
	for k, v := range map[string]any{
		"node_count": tb.opts.Workers, "image": "ubuntu_dual_nic", "flavor": "m1.medium", "key_name": KeyName,
		"nsx_package_path": "/opt/nsx/nsx-container.zip",
		"mgmt_net_cidr":    MgmtCIDR, "api_net_cidr": APICIDR, "nsx_pod_net_cidr": PodCIDR,
		"mgmt_network": ClusterName + "-mgmt", "pod_network": ClusterName + "-pod",
	} {
		p[k] = v
	}
	data, err := yaml.Marshal(map[string]any{"parameters": p})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "params.yaml")
	header := "# The testbed's parameters: viosim's endpoints, the seed's image, flavor and key pair.\n"
	return path, os.WriteFile(path, append([]byte(header), data...), 0o600)
}

// Created is what `epks cluster create` made.
type Created struct {
	// Resources counts the resources created, by kind (network, port, ...).
	Resources map[string]int
	// Servers are the nodes' servers, the control plane's first.
	Servers []model.Server
	// Took is how long create took.
	Took time.Duration
}

// Total is the number of resources created.
func (c Created) Total() int {
	n := 0
	for _, v := range c.Resources {
		n += v
	}
	return n
}

// Summary lists the resources created by kind, e.g. "3 networks, 6 ports".
func (c Created) Summary() string {
	kinds := make([]string, 0, len(c.Resources))
	for k := range c.Resources {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kindOrder(kinds[i]) < kindOrder(kinds[j]) })
	var parts []string
	for _, k := range kinds {
		n := c.Resources[k]
		name := k
		for _, kn := range kindNames {
			if kn.kind == k {
				name = kn.one
				if n != 1 {
					name = kn.many
				}
			}
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, name))
	}
	return strings.Join(parts, ", ")
}

// kindNames are the kinds of epks cluster's progress lines, in the order
// they are built, as a reader names them.
var kindNames = []struct{ kind, one, many string }{
	{"network", "network", "networks"}, {"subnet", "subnet", "subnets"}, {"router", "router", "routers"},
	{"router-interface", "router interface", "router interfaces"}, {"security-group", "security group", "security groups"},
	{"rule", "rule", "rules"}, {"server-group", "server group", "server groups"}, {"port", "port", "ports"},
	{"floating-ip", "floating IP", "floating IPs"}, {"server", "server", "servers"},
}

func kindOrder(k string) int {
	for i, kn := range kindNames {
		if kn.kind == k {
			return i
		}
	}
	return len(kindNames)
}

// epksCLI runs the epks binary with args as an operator would on a
// machine that resolves VIO's names as the nodes do (the parameters' host
// aliases, then the nodes' name server; IP access needs neither), stopped
// by its pid with ctx. Its output is dir/<name>.log.
func (tb *Testbed) epksCLI(ctx context.Context, name string, args ...string) (string, error) {
	spec := proc.Spec{Name: name, Dir: tb.opts.Dir, Path: tb.epks, Args: args}
	if !tb.opts.IPAccess {
		binds, err := tb.operatorNames()
		if err != nil {
			return "", err
		}
		spec.BindFiles = binds
	}
	p, err := proc.Start(spec)
	if err != nil {
		return "", err
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		_ = p.Stop(5 * time.Second)
	}
	log, rerr := os.ReadFile(p.LogPath)
	if err := p.Err(); err != nil || ctx.Err() != nil {
		return string(log), fmt.Errorf("epks %s: %v %v\n%s", strings.Join(args, " "), err, ctx.Err(), log)
	}
	return string(log), rerr
}

// operatorNames writes the /etc/hosts (the parameters' host aliases, as
// the pods get them) and /etc/resolv.conf (the nodes' name server) of the
// operator's machine, for proc.Spec.BindFiles.
func (tb *Testbed) operatorNames() (map[string]string, error) {
	in, err := tb.inputs(nil)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(in.Values["hostAliases"])
	if err != nil {
		return nil, err
	}
	var aliases []struct {
		IP        string   `json:"ip"`
		Hostnames []string `json:"hostnames"`
	}
	if err := json.Unmarshal(raw, &aliases); err != nil {
		return nil, err
	}
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	for _, a := range aliases {
		hosts += a.IP + "\t" + strings.Join(a.Hostnames, " ") + "\n"
	}
	dir := filepath.Join(tb.opts.Dir, "operator")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	binds := map[string]string{"/etc/hosts": filepath.Join(dir, "hosts"), "/etc/resolv.conf": filepath.Join(dir, "resolv.conf")}
	if err := os.WriteFile(binds["/etc/hosts"], []byte(hosts), 0o644); err != nil {
		return nil, err
	}
	return binds, os.WriteFile(binds["/etc/resolv.conf"], []byte("nameserver "+tb.DNS.Address()+"\n"), 0o644)
}

// BuildEPKS builds the epks binary into dir.
func BuildEPKS(ctx context.Context, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "epks")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, "github.com/epks/epks/cmd/epks")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building epks: %v\n%s", err, out)
	}
	return path, nil
}

// createCluster runs `epks cluster create` on the parameters file and
// returns what it made, as its progress lines and viosim say.
func (tb *Testbed) createCluster(ctx context.Context) (Created, error) {
	start := time.Now()
	out, err := tb.epksCLI(ctx, "cluster-create", "cluster", "create", "-p", tb.ParamsFile)
	if err != nil {
		return Created{}, err
	}
	c := Created{Resources: map[string]int{}, Took: time.Since(start)}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "created" {
			c.Resources[f[1]]++
		}
	}
	servers := tb.Sim.World.Servers(func(s *model.Server) bool { return s.Metadata["epks-cluster"] == ClusterName })
	sort.SliceStable(servers, func(i, j int) bool {
		ci, cj := servers[i].Metadata["epks-role"] != "worker", servers[j].Metadata["epks-role"] != "worker"
		if ci != cj {
			return ci
		}
		return servers[i].Name < servers[j].Name
	})
	c.Servers = servers
	return c, nil
}

// DeleteCluster runs `epks cluster delete --delete-volumes` on the
// parameters file and checks that viosim holds what it held before create.
func (tb *Testbed) DeleteCluster(ctx context.Context) (deleted int, err error) {
	out, err := tb.epksCLI(ctx, "cluster-delete", "cluster", "delete", "-p", tb.ParamsFile, "--delete-volumes")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "deleted ") {
			deleted++
		}
	}
	if extra, missing := diffLines(tb.beforeCreate, Topology(tb.Sim)); len(extra)+len(missing) > 0 {
		return deleted, fmt.Errorf("viosim after epks cluster delete differs from before create:\n  left: %s\n  gone: %s",
			strings.Join(extra, "\n        "), strings.Join(missing, "\n        "))
	}
	return deleted, nil
}

// Topology lists what viosim's project holds, a line per resource, names
// for IDs, sorted: networks, subnets, routers, security groups and rules,
// ports, floating IPs, servers, server groups, volumes,
// snapshots and load balancers.
func Topology(s *sim.Server) []string {
	w := s.World
	netName := map[string]string{}
	for _, n := range w.Networks(nil) {
		netName[n.ID] = n.Name
	}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, n := range w.Networks(nil) {
		add("network %s", n.Name)
	}
	for _, sub := range w.Subnets(nil) {
		add("subnet %s of %s %s", sub.Name, netName[sub.NetworkID], sub.CIDR)
	}
	for _, r := range w.Routers(nil) {
		add("router %s", r.Name)
	}
	for _, g := range w.SecurityGroups(nil) {
		add("security-group %s", g.Name)
	}
	for _, r := range w.SecurityGroupRules(nil) {
		add("rule %s %s %s %d-%d %s", r.SecurityGroupID, r.Direction, r.Protocol, r.PortRangeMin, r.PortRangeMax, r.RemoteIPPrefix)
	}
	for _, p := range w.Ports(nil) {
		add("port %q on %s owner %s", p.Name, netName[p.NetworkID], p.DeviceOwner)
	}
	for _, f := range w.FloatingIPs(nil) {
		add("floating-ip %s", f.FloatingIPAddress)
	}
	for _, sv := range w.Servers(nil) {
		add("server %s", sv.Name)
	}
	for _, g := range w.ServerGroups(s.Seeded.Project.ID) {
		add("server-group %s", g.Name)
	}
	for _, v := range w.Volumes(nil) {
		add("volume %s", v.Name)
	}
	for _, sn := range w.Snapshots(nil) {
		add("snapshot %s", sn.Name)
	}
	for _, lb := range w.LoadBalancers(nil) {
		add("load-balancer %s", lb.Name)
	}
	sort.Strings(out)
	return out
}

// diffLines returns the lines only in after and only in before.
func diffLines(before, after []string) (extra, missing []string) {
	have := map[string]int{}
	for _, l := range before {
		have[l]++
	}
	for _, l := range after {
		if have[l] > 0 {
			have[l]--
			continue
		}
		extra = append(extra, l)
	}
	for l, n := range have {
		for range n {
			missing = append(missing, l)
		}
	}
	sort.Strings(missing)
	return extra, missing
}

// Network returns viosim's network named name.
func (tb *Testbed) Network(name string) (model.Network, bool) {
	for _, n := range tb.Sim.World.Networks(func(n *model.Network) bool { return n.Name == name }) {
		return n, true
	}
	return model.Network{}, false
}
