package epks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/epks/epks/pkg/sim"
)

// openstackCLI runs the official OpenStack CLI (python3-openstackclient,
// as hack/ci-setup.sh installs it) against viosim as the project's admin.
type openstackCLI struct {
	t   *testing.T
	bin string
	env []string
}

func newOpenStackCLI(t *testing.T, s *sim.Server) *openstackCLI {
	t.Helper()
	bin, err := exec.LookPath("openstack")
	if err != nil {
		t.Fatalf("the openstack CLI is not installed (hack/ci-setup.sh installs it): %v", err)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, s.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"OS_AUTH_URL="+s.URL(sim.Keystone), "OS_IDENTITY_API_VERSION=3", "OS_USERNAME=admin", "OS_PASSWORD=viosim-password",
		"OS_USER_DOMAIN_ID=default", "OS_PROJECT_ID="+s.Seeded.Project.ID, "OS_REGION_NAME=RegionOne", "OS_INTERFACE=public",
		"OS_CACERT="+ca, "HOME="+dir, "OS_CLOUD=")
	return &openstackCLI{t: t, bin: bin, env: env}
}

// json runs one command with -f json and decodes its output into v.
func (c *openstackCLI) json(v any, args ...string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append(args, "-f", "json")...)
	cmd.Env = c.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("openstack %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		c.t.Fatalf("openstack %s printed %q: %v", strings.Join(args, " "), out, err)
	}
}

type cliRow map[string]any

func (r cliRow) s(k string) string {
	v, ok := r[k]
	if !ok {
		panic(fmt.Sprintf("no column %q in %v", k, r))
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// cliTopology lists what viosim holds with the openstack CLI, in the lines
// of topology() (which reads viosim's model): what an operator sees.
// It returns the lines and each server's user data.
func cliTopology(t *testing.T, c *openstackCLI) ([]string, map[string]string) {
	t.Helper()
	var nets, subs, routers, groups, rules, ports, fips, servers, serverGroups []cliRow
	c.json(&nets, "network", "list", "--long")
	c.json(&subs, "subnet", "list", "--long")
	c.json(&routers, "router", "list", "--long")
	c.json(&groups, "security", "group", "list")
	c.json(&rules, "security", "group", "rule", "list", "--long", "--ingress")
	c.json(&ports, "port", "list", "--long")
	c.json(&fips, "floating", "ip", "list", "--long")
	c.json(&servers, "server", "list")
	c.json(&serverGroups, "server", "group", "list", "--long")
	netName, subName, sgName := map[string]string{}, map[string]string{}, map[string]string{}
	for _, n := range nets {
		netName[n.s("ID")] = n.s("Name")
	}
	netOfSubnet, routerOfPort := map[string]string{}, map[string]string{}
	for _, s := range subs {
		subName[s.s("ID")] = s.s("Name")
		netOfSubnet[s.s("ID")] = netName[s.s("Network")]
	}
	for _, g := range groups {
		sgName[g.s("ID")] = g.s("Name")
	}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, n := range nets {
		add("network %s external=%v", n.s("Name"), n.s("Router Type") == "External")
	}
	for _, s := range subs {
		var dns []string
		for _, d := range anyList(s["Name Servers"]) {
			dns = append(dns, fmt.Sprint(d))
		}
		add("subnet %s of %s %s dns=%v", s.s("Name"), netName[s.s("Network")], s.s("Subnet"), dns)
	}
	for _, r := range routers {
		var show map[string]any
		c.json(&show, "router", "show", r.s("ID"))
		var ifs []string
		for _, i := range anyList(show["interfaces_info"]) {
			ifs = append(ifs, subName[i.(map[string]any)["subnet_id"].(string)])
			routerOfPort[i.(map[string]any)["port_id"].(string)] = r.s("Name")
		}
		gw := r["External gateway info"].(map[string]any)
		add("router %s gateway=%s snat=%v interfaces=%v", r.s("Name"), netName[gw["network_id"].(string)], gw["enable_snat"], ifs)
	}
	for _, g := range groups {
		add("security-group %s", g.s("Name"))
	}
	for _, r := range rules {
		lo, hi, _ := strings.Cut(r.s("Port Range"), ":")
		add("rule %s ingress %s %s-%s from %s", sgName[r.s("Security Group")], r.s("IP Protocol"), lo, hi, r.s("IP Range"))
	}
	// Servers: their key pair, metadata and addresses, and the user data
	// (an admin's, microversion 2.3).
	serverOfIP := map[string]string{}
	userData := map[string]string{}
	for _, sv := range servers {
		var show map[string]any
		c.json(&show, "--os-compute-api-version", "2.3", "server", "show", sv.s("ID"))
		for _, ips := range show["addresses"].(map[string]any) {
			for _, ip := range ips.([]any) {
				serverOfIP[fmt.Sprint(ip)] = sv.s("Name")
			}
		}
		md := show["properties"].(map[string]any)
		add("server %s flavor=%s key=%s status=%s cluster=%s role=%s", show["name"], strings.SplitN(fmt.Sprint(show["flavor"]), " (", 2)[0], show["key_name"], show["status"], md["epks-cluster"], md["epks-role"])
		raw, err := base64.StdEncoding.DecodeString(fmt.Sprint(show["OS-EXT-SRV-ATTR:user_data"]))
		if err != nil {
			t.Fatalf("user data of %s: %v", sv.s("Name"), err)
		}
		userData[sv.s("Name")] = string(raw)
	}
	portName := map[string]string{}
	for _, p := range ports {
		portName[p.s("ID")] = p.s("Name")
		var ips []string
		for _, ip := range anyList(p["Fixed IP Addresses"]) {
			ips = append(ips, ip.(map[string]any)["ip_address"].(string))
		}
		// port list --long asks Neutron for a field it does not have
		// (fields=security_group_ids): port show has the groups.
		var sgs []string
		if p.s("Device Owner") != "network:router_interface" {
			var show map[string]any
			c.json(&show, "port", "show", p.s("ID"))
			for _, id := range anyList(show["security_group_ids"]) {
				sgs = append(sgs, sgName[fmt.Sprint(id)])
			}
		}
		device, network := routerOfPort[p.s("ID")], ""
		if fixed := anyList(p["Fixed IP Addresses"]); len(fixed) > 0 {
			network = netOfSubnet[fixed[0].(map[string]any)["subnet_id"].(string)]
			if device == "" {
				device = serverOfIP[ips[0]]
			}
		}
		add("port %q on %s %v owner=%s device=%s sg=%v", p.s("Name"), network, ips, p.s("Device Owner"), device, sgs)
	}
	for _, f := range fips {
		add("floating-ip on %s to %q %s", netName[f.s("Floating Network")], portName[f.s("Port")], f.s("Fixed IP Address"))
	}
	for _, g := range serverGroups {
		add("server-group %s %s members=%d", g.s("Name"), g.s("Policy"), len(anyList(g["Members"])))
	}
	sort.Strings(out)
	return out, userData
}

// anyList is a JSON list, empty for null.
// The CLI prints some lists of IDs as one string, comma-separated.
func anyList(v any) []any {
	switch v := v.(type) {
	case []any:
		return v
	case string:
		var out []any
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
			out = append(out, f)
		}
		return out
	}
	return nil
}
