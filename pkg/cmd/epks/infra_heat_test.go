package epks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/limits"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions"
	"go.yaml.in/yaml/v3"

	"github.com/epks/epks/pkg/cluster"
	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/model"
)

// heatResult is what testdata/heat-validate.py prints: Heat's own parse
// and validation of a template.
type heatResult struct {
	OK        bool                    `json:"ok"`
	Error     string                  `json:"error"`
	Resources map[string]heatResource `json:"resources"`
	Files     []string                `json:"files"`
}

type heatResource struct {
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
	DependsOn  []string       `json:"depends_on"`
}

// heatCloud describes what Heat's look-ups find, read from viosim through
// its APIs: images, flavors, key pairs, networks, Neutron's extensions and
// Nova's absolute limits.
func heatCloud(t *testing.T, s *sim.Server, paramsFile string) string {
	t.Helper()
	c := map[string]any{}
	var images, flavors []map[string]any
	var keypairs, networks, exts []string
	for _, im := range s.World.Images(nil) {
		images = append(images, map[string]any{"name": im.Name, "status": im.Status, "min_ram": im.MinRAM, "min_disk": im.MinDisk})
	}
	for _, f := range s.World.Flavors() {
		flavors = append(flavors, map[string]any{"name": f.Name, "ram": f.RAM, "disk": f.Disk})
	}
	for _, k := range s.World.KeyPairs(s.Seeded.Users["admin"].ID) {
		keypairs = append(keypairs, k.Name)
	}
	for _, n := range s.World.Networks(nil) {
		networks = append(networks, n.Name)
	}
	p, err := params.LoadFor(paramsFile, params.ForCluster)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clients, err := cluster.Connect(ctx, p, s.CACertPEM())
	if err != nil {
		t.Fatal(err)
	}
	pages, err := extensions.List(clients.Network).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := extensions.ExtractExtensions(pages)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		exts = append(exts, e.Alias)
	}
	lim, err := limits.Get(ctx, clients.Compute, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	// The newest microversion Nova serves, from its version document.
	var doc struct {
		Version struct {
			Version string `json:"version"`
		} `json:"version"`
	}
	if _, err := clients.Compute.Get(ctx, clients.Compute.Endpoint, &doc, nil); err != nil || doc.Version.Version == "" {
		t.Fatalf("Nova's version document: %v %+v", err, doc)
	}
	c["nova_max_microversion"] = doc.Version.Version
	c["images"], c["flavors"], c["keypairs"], c["networks"], c["neutron_extensions"] = images, flavors, keypairs, networks, exts
	c["limits"] = map[string]int{"maxServerMeta": lim.Absolute.MaxServerMeta, "maxPersonality": lim.Absolute.MaxPersonality}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cloud.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// validateHeat runs Heat's template parser and stack validation on the
// template with each list of environments, as openstack stack create
// sends them, in one run of testdata/heat-validate.py.
func validateHeat(t *testing.T, cloud, template string, cases ...[]string) []heatResult {
	t.Helper()
	data, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	casesFile := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(casesFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "testdata/heat-validate.py", cloud, template, "--cases", casesFile)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("heat-validate.py (python3-heat and python3-heatclient, see hack/ci-setup.sh): %v\n%s\n%s", err, out, stderr.String())
	}
	var r []heatResult
	if err := json.Unmarshal(out, &r); err != nil || len(r) != len(cases) {
		t.Fatalf("heat-validate.py printed %q: %v", out, err)
	}
	return r
}

// heatTemplate runs epks cluster heat-template and returns the template's
// path.
func heatTemplate(t *testing.T, paramsFile string) (dir, template string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "heat")
	code, out, errOut := run(t, "cluster", "heat-template", "-p", paramsFile, "-o", dir)
	if code != 0 {
		t.Fatalf("heat-template: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "openstack stack create -e "+paramsFile+" --template "+filepath.Join(dir, "k8scluster.yaml")+" k8scluster") {
		t.Errorf("heat-template does not say how to create the stack:\n%s", out)
	}
	return dir, filepath.Join(dir, "k8scluster.yaml")
}

// editParams writes a copy of a parameters file with some keys changed.
func editParams(t *testing.T, path string, edits map[string]any) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]map[string]any
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	for k, v := range edits {
		file["parameters"][k] = v
	}
	out, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(t.TempDir(), "params.yaml")
	if err := os.WriteFile(edited, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return edited
}

func TestClusterHeatTemplateValidatesWithHeat(t *testing.T) {
	s := emptyCloud(t)
	path := seedParamsFor(t, s, map[string]any{"control_plane_count": 3, "api_access_cidr": "198.51.100.0/24"})
	dir, tmpl := heatTemplate(t, path)
	cloud := heatCloud(t, s, path)

	// The parameters file itself is the environment, as the seed's was;
	// so is the environment heat-template writes, and so is none.
	good := [][]string{{path}, {filepath.Join(dir, "k8scluster-env.yaml")}, {}}
	// Heat's own checks run: what the cloud lacks, and a parameter the
	// template's resources were not derived from, are refused.
	bad := []struct {
		edits map[string]any
		want  string
	}{
		{map[string]any{"image": "no-such-image"}, "no-such-image"},
		{map[string]any{"flavor": "m9.huge"}, "m9.huge"},
		{map[string]any{"key_name": "nobody"}, "nobody"},
		{map[string]any{"public_network": "nowhere"}, "nowhere"},
		{map[string]any{"node_count": 4}, "the template was written for node_count 3: run epks cluster heat-template again"},
		{map[string]any{"mgmt_net_cidr": "10.9.0.0/24"}, `mgmt_net_cidr "10.0.0.0/24"`},
		{map[string]any{"no_such_parameter": "x"}, "no_such_parameter"},
	}
	cases := good
	for _, b := range bad {
		cases = append(cases, []string{editParams(t, path, b.edits)})
	}
	results := validateHeat(t, cloud, tmpl, cases...)
	for i, envs := range good {
		r := results[i]
		if !r.OK {
			t.Fatalf("Heat rejects the template with environment %v: %s", envs, r.Error)
		}
		if len(r.Files) != 6 {
			t.Errorf("Heat got %d files, want the 6 nodes' user data: %v", len(r.Files), r.Files)
		}
	}
	for i, b := range bad {
		r := results[len(good)+i]
		if r.OK || !strings.Contains(r.Error, b.want) {
			t.Errorf("with %v: Heat says ok=%v %q, want a failure naming %q", b.edits, r.OK, r.Error, b.want)
		}
	}
	// No secret is in the template or its environment.
	for _, f := range []string{tmpl, filepath.Join(dir, "k8scluster-env.yaml")} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"viosim-password", "yad31n.pil3w87thsvo9img", "Admin!23Admin"} {
			if strings.Contains(string(data), secret) {
				t.Errorf("%s holds a secret", f)
			}
		}
	}
}

// heatTopology is what the template would build, as Heat parsed it, in
// the lines of topology(): names for references, Neutron's gateway (the
// first address) for the routers' interfaces.
func heatTopology(t *testing.T, r heatResult) []string {
	t.Helper()
	res := r.Resources
	name := func(v any) string {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("not a reference: %v", v)
		}
		ref := m["get_resource"].(string)
		return res[ref].Properties["name"].(string)
	}
	str := func(v any) string { return fmt.Sprint(v) }
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	subnetOf := map[string]heatResource{}
	ifaces := map[string][]string{}
	serverOfPort, fixedIP := map[string]string{}, map[string]string{}
	members := map[string]int{}
	for logical, x := range res {
		p := x.Properties
		switch x.Type {
		case "OS::Neutron::Subnet":
			subnetOf[logical] = x
		case "OS::Neutron::RouterInterface":
			rt := name(p["router"])
			ifaces[rt] = append(ifaces[rt], name(p["subnet"]))
		case "OS::Nova::Server":
			for _, n := range p["networks"].([]any) {
				serverOfPort[name(n.(map[string]any)["port"])] = str(p["name"])
			}
			if h, ok := p["scheduler_hints"].(map[string]any); ok {
				members[name(h["group"])]++
			}
		case "OS::Neutron::Port":
			fixedIP[str(p["name"])] = str(p["fixed_ips"].([]any)[0].(map[string]any)["ip_address"])
		}
	}
	for _, x := range res {
		p := x.Properties
		switch x.Type {
		case "OS::Neutron::Net":
			add("network %s external=false", p["name"])
		case "OS::Neutron::Subnet":
			add("subnet %s of %s %s dns=%v", p["name"], name(p["network"]), p["cidr"], p["dns_nameservers"])
		case "OS::Neutron::Router":
			gw := p["external_gateway_info"].(map[string]any)
			sort.Strings(ifaces[str(p["name"])])
			add("router %s gateway=%s snat=%v interfaces=%v", p["name"], gw["network"], gw["enable_snat"], ifaces[str(p["name"])])
		case "OS::Neutron::RouterInterface":
			sub := subnetOf[p["subnet"].(map[string]any)["get_resource"].(string)]
			gw := netip.MustParsePrefix(str(sub.Properties["cidr"])).Addr().Next()
			add(`port "" on %s [%s] owner=network:router_interface device=%s sg=[]`, name(sub.Properties["network"]), gw, name(p["router"]))
		case "OS::Neutron::SecurityGroup":
			add("security-group %s", p["name"])
		case "OS::Neutron::SecurityGroupRule":
			add("rule %s %s %s %v-%v from %s", name(p["security_group"]), p["direction"], p["protocol"], p["port_range_min"], p["port_range_max"], p["remote_ip_prefix"])
		case "OS::Neutron::Port":
			var sgs []string
			for _, g := range p["security_groups"].([]any) {
				sgs = append(sgs, name(g))
			}
			add("port %q on %s [%s] owner=compute:nova device=%s sg=%v", p["name"], name(p["network"]), fixedIP[str(p["name"])], serverOfPort[str(p["name"])], sgs)
		case "OS::Neutron::FloatingIP":
			port := name(p["port_id"])
			add("floating-ip on %s to %q %s", p["floating_network"], port, fixedIP[port])
		case "OS::Nova::Server":
			md := p["metadata"].(map[string]any)
			add("server %s flavor=%s key=%s status=ACTIVE cluster=%s role=%s", p["name"], p["flavor"], p["key_name"], md["epks-cluster"], md["epks-role"])
		case "OS::Nova::ServerGroup":
			add("server-group %s %s members=%d", p["name"], p["policies"].([]any)[0], members[str(p["name"])])
		default:
			t.Errorf("unexpected resource type %s", x.Type)
		}
	}
	sort.Strings(out)
	return out
}

func TestClusterHeatTemplateMatchesCreate(t *testing.T) {
	s := emptyCloud(t)
	for _, c := range []struct {
		name  string
		edits map[string]any
	}{
		{"seed", nil},
		{"HA, control-plane floating IPs, API access", map[string]any{"control_plane_count": 3, "floating_ips": "control-plane", "api_access_cidr": "198.51.100.0/24"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := seedParamsFor(t, s, c.edits)
			_, tmpl := heatTemplate(t, path)
			r := validateHeat(t, heatCloud(t, s, path), tmpl, []string{path})[0]
			if !r.OK {
				t.Fatalf("Heat rejects the template: %s", r.Error)
			}
			want := heatTopology(t, r)
			if c.edits == nil {
				diff(t, want, seedTopology())
			}
			before := topology(s)
			if code, out, errOut := run(t, "cluster", "create", "-p", path); code != 0 {
				t.Fatalf("create: exit %d\n%s\n%s", code, out, errOut)
			}
			diff(t, added(before, topology(s)), want)

			// The properties create sets that the lines above do not show.
			for _, x := range r.Resources {
				p := x.Properties
				switch x.Type {
				case "OS::Nova::Server":
					sv := s.World.Servers(func(v *model.Server) bool { return v.Name == p["name"] })
					if len(sv) != 1 {
						t.Fatalf("create made %d servers named %s", len(sv), p["name"])
					}
					if p["config_drive"] != true || p["user_data_format"] != "RAW" || !sv[0].ConfigDrive {
						t.Errorf("%s: config drive %v / %v, user data format %v", p["name"], p["config_drive"], sv[0].ConfigDrive, p["user_data_format"])
					}
					// The user data HEAT passes, with the pod port's MAC
					// put in, is what create passed.
					rep := p["user_data"].(map[string]any)["str_replace"].(map[string]any)
					tpl := rep["template"].(string)
					mac := ""
					for _, port := range s.World.PortsOfDevice(sv[0].ID) {
						if strings.HasSuffix(port.Name, "-pod") {
							mac = port.MACAddress
						}
					}
					for k, v := range rep["params"].(map[string]any) {
						if k != cluster.PodMACPlaceholder || fmt.Sprint(v) != fmt.Sprint(map[string]any{"get_attr": []any{sv[0].Name + "-pod", "mac_address"}}) {
							t.Errorf("%s: str_replace params %s: %v", sv[0].Name, k, v)
						}
						tpl = strings.ReplaceAll(tpl, k, mac)
					}
					if got := userDataOf(t, s, sv[0].ID); got != tpl {
						t.Errorf("%s: the template's user data differs from what create passed (%d vs %d bytes)", sv[0].Name, len(tpl), len(got))
					}
				case "OS::Neutron::FloatingIP":
					if len(x.DependsOn) == 0 {
						t.Errorf("floating IP on %v does not wait for the routers' interfaces", p["port_id"])
					}
				}
			}
			if code, out, errOut := run(t, "cluster", "delete", "-p", path); code != 0 {
				t.Fatalf("delete: exit %d\n%s\n%s", code, out, errOut)
			}
		})
	}
}
