package params

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func parseFor(t *testing.T, m map[string]any, purpose Purpose) (*Params, error) {
	t.Helper()
	data, err := yaml.Marshal(map[string]any{"parameters": m})
	if err != nil {
		t.Fatal(err)
	}
	return Parse(data, Source{Name: "params.yaml", Dir: fixture(t), Now: testNow, Purpose: purpose})
}

func TestClusterDefaults(t *testing.T) {
	p, err := parseFor(t, seed(), ForCluster)
	if err != nil {
		t.Fatal(err)
	}
	if p.Flavor != "m1.medium" || p.ControlPlaneCount != 1 || p.FloatingIPs != FloatingIPsAll {
		t.Errorf("flavor %q, control planes %d, floating IPs %q", p.Flavor, p.ControlPlaneCount, p.FloatingIPs)
	}
	if p.MgmtNetCIDR.String() != DefaultMgmtNetCIDR || p.APINetCIDR.String() != DefaultAPINetCIDR || p.NSXPodNetCIDR.String() != DefaultNSXPodNetCIDR {
		t.Errorf("networks %s %s %s", p.MgmtNetCIDR, p.APINetCIDR, p.NSXPodNetCIDR)
	}
	if p.ControlPlaneEndpoint != "10.0.0.10:6443" {
		t.Errorf("control_plane_endpoint %q, want the first control-plane node's management address", p.ControlPlaneEndpoint)
	}
	// The add-ons read the file as it is: no node networks made up.
	p, err = parseFor(t, seed(), ForAddons)
	if err != nil {
		t.Fatal(err)
	}
	if p.NSXPodNetCIDR.IsValid() || p.ControlPlaneEndpoint != "" {
		t.Errorf("ForAddons got nsx_pod_net_cidr %s, control_plane_endpoint %q", p.NSXPodNetCIDR, p.ControlPlaneEndpoint)
	}
}

func TestClusterRules(t *testing.T) {
	type edit func(m map[string]any)
	set := func(k string, v any) edit { return func(m map[string]any) { m[k] = v } }
	del := func(k string) edit { return func(m map[string]any) { delete(m, k) } }
	tests := []struct {
		name   string
		edits  []edit
		key    string
		reason string
	}{
		{"even control planes", []edit{set("control_plane_count", 2)}, "control_plane_count", "must be odd"},
		{"too many control planes", []edit{set("control_plane_count", 9)}, "control_plane_count", "1 to 7"},
		{"floating ips", []edit{set("floating_ips", "some")}, "floating_ips", `"some" is not one of all, control-plane`},
		{"api cidr host bits", []edit{set("api_access_cidr", "192.0.2.1/24")}, "api_access_cidr", "did you mean 192.0.2.0/24"},
		{"no image", []edit{del("image")}, "image", "is required to create"},
		{"no key", []edit{del("key_name")}, "key_name", "is required to create"},
		{"small mgmt", []edit{set("mgmt_net_cidr", "10.0.0.0/28")}, "mgmt_net_cidr", "room for 14 hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := seed()
			for _, e := range tt.edits {
				e(m)
			}
			_, err := parseFor(t, m, ForCluster)
			if err == nil {
				t.Fatalf("want a problem with %s, got none", tt.key)
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 || ps[0].Key != tt.key || !strings.Contains(ps[0].Reason, tt.reason) {
				t.Errorf("got %v\nwant %s: ...%s...", err, tt.key, tt.reason)
			}
		})
	}
}
