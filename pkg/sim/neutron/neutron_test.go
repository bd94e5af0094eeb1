package neutron_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/attributestags"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/quotas"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/test/simtest"
)

func client(t *testing.T, pc *gophercloud.ProviderClient) *gophercloud.ServiceClient {
	t.Helper()
	c, err := openstack.NewNetworkV2(pc, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fatal(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantCode checks that err is an HTTP error with a status code.
func wantCode(t *testing.T, what string, err error, code int) {
	t.Helper()
	if !gophercloud.ResponseCodeIs(err, code) {
		t.Errorf("%s: got %v, want HTTP %d", what, err, code)
	}
}

func TestRoutersAndFloatingIPs(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		c := client(t, pc)
		public := s.Seeded.Networks["public"]
		net, err := networks.Create(ctx, c, networks.CreateOpts{Name: "api"}).Extract()
		fatal(t, "network", err)
		sub, err := subnets.Create(ctx, c, subnets.CreateOpts{NetworkID: net.ID, CIDR: "10.20.0.0/24", IPVersion: gophercloud.IPv4}).Extract()
		fatal(t, "subnet", err)
		port, err := ports.Create(ctx, c, ports.CreateOpts{NetworkID: net.ID}).Extract()
		fatal(t, "port", err)

		// No router yet: the floating IP cannot reach the port.
		_, err = floatingips.Create(ctx, c, floatingips.CreateOpts{FloatingNetworkID: public.ID, PortID: port.ID}).Extract()
		wantCode(t, "floating IP without a router", err, http.StatusNotFound)
		if err != nil && !strings.Contains(err.Error(), "is not reachable from subnet "+sub.ID) {
			t.Errorf("floating IP without a router: %v, want Neutron's message", err)
		}

		snat := false
		rt, err := routers.Create(ctx, c, routers.CreateOpts{Name: "container",
			GatewayInfo: &routers.GatewayInfo{NetworkID: public.ID, EnableSNAT: &snat}}).Extract()
		fatal(t, "router", err)
		if rt.GatewayInfo.NetworkID != public.ID || rt.GatewayInfo.EnableSNAT == nil || *rt.GatewayInfo.EnableSNAT ||
			len(rt.GatewayInfo.ExternalFixedIPs) != 1 {
			t.Errorf("router gateway: %+v, want on public without SNAT with an address", rt.GatewayInfo)
		}
		// SNAT is on unless said otherwise, as in Neutron.
		other, err := routers.Create(ctx, c, routers.CreateOpts{Name: "mgmt", GatewayInfo: &routers.GatewayInfo{NetworkID: public.ID}}).Extract()
		fatal(t, "router", err)
		if other.GatewayInfo.EnableSNAT == nil || !*other.GatewayInfo.EnableSNAT {
			t.Errorf("default SNAT: %+v", other.GatewayInfo)
		}
		_, err = routers.Create(ctx, c, routers.CreateOpts{Name: "bad", GatewayInfo: &routers.GatewayInfo{NetworkID: net.ID}}).Extract()
		wantCode(t, "gateway on an internal network", err, http.StatusBadRequest)

		iface, err := routers.AddInterface(ctx, c, rt.ID, routers.AddInterfaceOpts{SubnetID: sub.ID}).Extract()
		fatal(t, "interface", err)
		ifport, err := ports.Get(ctx, c, iface.PortID).Extract()
		fatal(t, "interface port", err)
		if ifport.DeviceOwner != "network:router_interface" || ifport.DeviceID != rt.ID || ifport.FixedIPs[0].IPAddress != sub.GatewayIP {
			t.Errorf("interface port: %+v", ifport)
		}
		_, err = routers.AddInterface(ctx, c, rt.ID, routers.AddInterfaceOpts{SubnetID: sub.ID}).Extract()
		wantCode(t, "a second interface on the subnet", err, http.StatusBadRequest)
		wantCode(t, "deleting the interface port", ports.Delete(ctx, c, iface.PortID).ExtractErr(), http.StatusConflict)
		wantCode(t, "deleting a router with an interface", routers.Delete(ctx, c, rt.ID).ExtractErr(), http.StatusConflict)

		fip, err := floatingips.Create(ctx, c, floatingips.CreateOpts{FloatingNetworkID: public.ID, PortID: port.ID}).Extract()
		fatal(t, "floating IP", err)
		if fip.RouterID != rt.ID || fip.FixedIP != port.FixedIPs[0].IPAddress || fip.Status != "ACTIVE" {
			t.Errorf("floating IP: %+v, want router %s", fip, rt.ID)
		}
		wantCode(t, "removing the interface a floating IP needs",
			routers.RemoveInterface(ctx, c, rt.ID, routers.RemoveInterfaceOpts{SubnetID: sub.ID}).Err, http.StatusConflict)
		fatal(t, "disassociating", floatingips.Update(ctx, c, fip.ID, floatingips.UpdateOpts{PortID: new(string)}).Err)
		got, err := floatingips.Get(ctx, c, fip.ID).Extract()
		fatal(t, "floating IP", err)
		if got.RouterID != "" || got.PortID != "" {
			t.Errorf("disassociated floating IP: %+v", got)
		}

		// Update: SNAT on, then the gateway removed.
		on := true
		up, err := routers.Update(ctx, c, rt.ID, routers.UpdateOpts{GatewayInfo: &routers.GatewayInfo{NetworkID: public.ID, EnableSNAT: &on}}).Extract()
		fatal(t, "router update", err)
		if !*up.GatewayInfo.EnableSNAT {
			t.Errorf("SNAT after update: %+v", up.GatewayInfo)
		}
		fatal(t, "remove interface", routers.RemoveInterface(ctx, c, rt.ID, routers.RemoveInterfaceOpts{SubnetID: sub.ID}).Err)
		wantCode(t, "interface port after removal", ports.Get(ctx, c, iface.PortID).Err, http.StatusNotFound)
		fatal(t, "floating IP delete", floatingips.Delete(ctx, c, fip.ID).ExtractErr())
		fatal(t, "router delete", routers.Delete(ctx, c, rt.ID).ExtractErr())
		wantCode(t, "deleted router", routers.Get(ctx, c, rt.ID).Err, http.StatusNotFound)
	})
}

func TestNetworksAndSubnetsUpdateAndDelete(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		c := client(t, pc)
		net, err := networks.Create(ctx, c, networks.CreateOpts{Name: "mgmt"}).Extract()
		fatal(t, "network", err)
		name := "mgmt-renamed"
		up, err := networks.Update(ctx, c, net.ID, networks.UpdateOpts{Name: &name}).Extract()
		fatal(t, "network update", err)
		if up.Name != name {
			t.Errorf("network name after update: %q", up.Name)
		}
		sub, err := subnets.Create(ctx, c, subnets.CreateOpts{NetworkID: net.ID, CIDR: "10.30.0.0/24", IPVersion: gophercloud.IPv4,
			DNSNameservers: []string{"10.0.0.53"}, AllocationPools: []subnets.AllocationPool{{Start: "10.30.0.100", End: "10.30.0.101"}}}).Extract()
		fatal(t, "subnet", err)
		if len(sub.AllocationPools) != 1 || sub.AllocationPools[0].Start != "10.30.0.100" || sub.GatewayIP != "10.30.0.1" {
			t.Errorf("subnet: %+v", sub)
		}
		// Ports take their addresses from the pool, and no more than it holds.
		var got []string
		for range 2 {
			p, err := ports.Create(ctx, c, ports.CreateOpts{NetworkID: net.ID}).Extract()
			fatal(t, "port", err)
			got = append(got, p.FixedIPs[0].IPAddress)
		}
		if !slices.Equal(got, []string{"10.30.0.100", "10.30.0.101"}) {
			t.Errorf("addresses %v, want the pool's", got)
		}
		_, err = ports.Create(ctx, c, ports.CreateOpts{NetworkID: net.ID}).Extract()
		wantCode(t, "a port beyond the pool", err, http.StatusConflict)
		_, err = subnets.Create(ctx, c, subnets.CreateOpts{NetworkID: net.ID, CIDR: "10.31.0.0/24", IPVersion: gophercloud.IPv4,
			AllocationPools: []subnets.AllocationPool{{Start: "10.30.0.2", End: "10.30.0.9"}}}).Extract()
		wantCode(t, "a pool outside the CIDR", err, http.StatusBadRequest)

		// Default pools are the CIDR without network, gateway and broadcast.
		sub2, err := subnets.Create(ctx, c, subnets.CreateOpts{NetworkID: net.ID, CIDR: "10.32.0.0/24", IPVersion: gophercloud.IPv4}).Extract()
		fatal(t, "subnet", err)
		if len(sub2.AllocationPools) != 1 || sub2.AllocationPools[0] != (subnets.AllocationPool{Start: "10.32.0.2", End: "10.32.0.254"}) {
			t.Errorf("default pools %+v", sub2.AllocationPools)
		}
		dns := []string{"10.0.0.54"}
		upd, err := subnets.Update(ctx, c, sub.ID, subnets.UpdateOpts{DNSNameservers: &dns,
			AllocationPools: []subnets.AllocationPool{{Start: "10.30.0.100", End: "10.30.0.120"}}}).Extract()
		fatal(t, "subnet update", err)
		if !slices.Equal(upd.DNSNameservers, dns) || upd.AllocationPools[0].End != "10.30.0.120" {
			t.Errorf("subnet after update: %+v", upd)
		}
		wantCode(t, "deleting a subnet with ports", subnets.Delete(ctx, c, sub.ID).ExtractErr(), http.StatusConflict)
		fatal(t, "empty subnet delete", subnets.Delete(ctx, c, sub2.ID).ExtractErr())
		wantCode(t, "deleted subnet", subnets.Get(ctx, c, sub2.ID).Err, http.StatusNotFound)
		wantCode(t, "deleting a network with ports", networks.Delete(ctx, c, net.ID).ExtractErr(), http.StatusConflict)
		all, _ := ports.List(c, ports.ListOpts{NetworkID: net.ID}).AllPages(ctx)
		list, _ := ports.ExtractPorts(all)
		for _, p := range list {
			fatal(t, "port delete", ports.Delete(ctx, c, p.ID).ExtractErr())
		}
		fatal(t, "network delete", networks.Delete(ctx, c, net.ID).ExtractErr())
		wantCode(t, "subnet of a deleted network", subnets.Get(ctx, c, sub.ID).Err, http.StatusNotFound)
	})
}

func TestSecurityGroups(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		c := client(t, pc)
		// Every project has a "default" group, on every new port.
		page, err := groups.List(c, groups.ListOpts{Name: "default"}).AllPages(ctx)
		fatal(t, "groups", err)
		defaults, _ := groups.ExtractGroups(page)
		if len(defaults) != 1 || len(defaults[0].Rules) != 4 {
			t.Fatalf("default groups %+v, want one with 4 rules", defaults)
		}
		net := s.Seeded.Networks["k8scluster-mgmt"]
		p, err := ports.Create(ctx, c, ports.CreateOpts{NetworkID: net.ID}).Extract()
		fatal(t, "port", err)
		if !slices.Equal(p.SecurityGroups, []string{defaults[0].ID}) {
			t.Errorf("new port's groups %v, want the default %s", p.SecurityGroups, defaults[0].ID)
		}
		none := []string{}
		p2, err := ports.Create(ctx, c, ports.CreateOpts{NetworkID: net.ID, SecurityGroups: &none}).Extract()
		fatal(t, "port", err)
		if len(p2.SecurityGroups) != 0 {
			t.Errorf("port asked with no groups has %v", p2.SecurityGroups)
		}
		wantCode(t, "deleting the default group", groups.Delete(ctx, c, defaults[0].ID).ExtractErr(), http.StatusConflict)

		g, err := groups.Create(ctx, c, groups.CreateOpts{Name: "k8s"}).Extract()
		fatal(t, "group", err)
		rule := rules.CreateOpts{SecGroupID: g.ID, Direction: rules.DirIngress, EtherType: rules.EtherType4, Protocol: rules.ProtocolTCP,
			PortRangeMin: 6443, PortRangeMax: 6443, RemoteIPPrefix: "10.10.0.0/16"}
		r1, err := rules.Create(ctx, c, rule).Extract()
		fatal(t, "rule", err)
		_, err = rules.Create(ctx, c, rule).Extract()
		wantCode(t, "a duplicate rule", err, http.StatusConflict)
		if err != nil && !strings.Contains(err.Error(), "Rule id is "+r1.ID) {
			t.Errorf("duplicate rule: %v, want Neutron's message naming %s", err, r1.ID)
		}
		rule.RemoteIPPrefix = "10.11.0.0/16"
		_, err = rules.Create(ctx, c, rule).Extract()
		fatal(t, "a rule from another prefix", err)
	})
}

func TestTags(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		c := client(t, pc)
		net, err := networks.Create(ctx, c, networks.CreateOpts{Name: "tagged"}).Extract()
		fatal(t, "network", err)
		sub, err := subnets.Create(ctx, c, subnets.CreateOpts{NetworkID: net.ID, CIDR: "10.40.0.0/24", IPVersion: gophercloud.IPv4}).Extract()
		fatal(t, "subnet", err)
		port, err := ports.Create(ctx, c, ports.CreateOpts{NetworkID: net.ID}).Extract()
		fatal(t, "port", err)
		rt, err := routers.Create(ctx, c, routers.CreateOpts{Name: "tagged"}).Extract()
		fatal(t, "router", err)
		g, err := groups.Create(ctx, c, groups.CreateOpts{Name: "tagged"}).Extract()
		fatal(t, "group", err)
		fip, err := floatingips.Create(ctx, c, floatingips.CreateOpts{FloatingNetworkID: s.Seeded.Networks["public"].ID}).Extract()
		fatal(t, "floating IP", err)

		for _, tc := range []struct{ kind, id string }{
			{"networks", net.ID}, {"subnets", sub.ID}, {"ports", port.ID}, {"routers", rt.ID}, {"security-groups", g.ID}, {"floatingips", fip.ID},
		} {
			t.Run(tc.kind, func(t *testing.T) {
				tags, err := attributestags.ReplaceAll(ctx, c, tc.kind, tc.id, attributestags.ReplaceAllOpts{Tags: []string{"cluster=demo", "b"}}).Extract()
				fatal(t, "replace", err)
				if !slices.Equal(tags, []string{"b", "cluster=demo"}) {
					t.Errorf("tags %v", tags)
				}
				fatal(t, "add", attributestags.Add(ctx, c, tc.kind, tc.id, "c").ExtractErr())
				fatal(t, "delete", attributestags.Delete(ctx, c, tc.kind, tc.id, "b").ExtractErr())
				ok, err := attributestags.Confirm(ctx, c, tc.kind, tc.id, "c").Extract()
				if err != nil || !ok {
					t.Errorf("confirm c: %v %v", ok, err)
				}
				ok, _ = attributestags.Confirm(ctx, c, tc.kind, tc.id, "b").Extract()
				if ok {
					t.Error("b is still there")
				}
				tags, err = attributestags.List(ctx, c, tc.kind, tc.id).Extract()
				if err != nil || !slices.Equal(tags, []string{"c", "cluster=demo"}) {
					t.Errorf("list: %v %v", tags, err)
				}
				// Filters: tags (all of), tags-any, not-tags, not-tags-any.
				for q, want := range map[string]bool{
					"tags=cluster%3Ddemo,c": true, "tags=cluster%3Ddemo,x": false, "tags-any=x,c": true,
					"not-tags=cluster%3Ddemo,c": false, "not-tags=x,c": true, "not-tags-any=x,c": false,
				} {
					var body map[string][]map[string]any
					_, err := c.Get(ctx, c.ServiceURL(tc.kind)+"?id="+tc.id+"&"+q, &body, nil)
					fatal(t, q, err)
					for _, v := range body {
						if (len(v) == 1) != want {
							t.Errorf("%s: %d hits, want found=%v", q, len(v), want)
						}
					}
				}
				fatal(t, "delete all", attributestags.DeleteAll(ctx, c, tc.kind, tc.id).ExtractErr())
				tags, _ = attributestags.List(ctx, c, tc.kind, tc.id).Extract()
				if len(tags) != 0 {
					t.Errorf("after delete all: %v", tags)
				}
			})
		}
	})
}

func TestQuotas(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		c := client(t, pc)
		project := s.Seeded.Project.ID
		q, err := quotas.Get(ctx, c, project).Extract()
		fatal(t, "quota", err)
		if q.Port != 500 || q.FloatingIP != 50 || q.SecurityGroup != 10 {
			t.Errorf("default quotas %+v, want Neutron's", q)
		}
		d, err := quotas.GetDetail(ctx, c, project).Extract()
		fatal(t, "quota details", err)
		if d.Port.Used != len(s.World.Ports(nil)) || d.Network.Used != 3 {
			t.Errorf("usage %+v %+v", d.Port, d.Network)
		}
		one := d.FloatingIP.Used + 1
		_, err = quotas.Update(ctx, c, project, quotas.UpdateOpts{FloatingIP: &one}).Extract()
		fatal(t, "quota update", err)
		public := s.Seeded.Networks["public"].ID
		_, err = floatingips.Create(ctx, c, floatingips.CreateOpts{FloatingNetworkID: public}).Extract()
		fatal(t, "the last floating IP the quota allows", err)
		_, err = floatingips.Create(ctx, c, floatingips.CreateOpts{FloatingNetworkID: public}).Extract()
		wantCode(t, "a floating IP over quota", err, http.StatusConflict)
		fatal(t, "quota reset", quotas.Delete(ctx, c, project).ExtractErr())
		_, err = floatingips.Create(ctx, c, floatingips.CreateOpts{FloatingNetworkID: public}).Extract()
		fatal(t, "after the reset", err)
	})
}

// TestAnswers asks Neutron's handlers, in order, what clients ask of them
// and what they refuse, and checks each status and the error in Neutron's
// format ({"NeutronError": {"type", "message", "detail"}}, the type naming
// Neutron's exception). A step's save names the id of the object it
// answers, for the steps after it ({name} in paths and bodies).
func TestAnswers(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		project := s.Seeded.Project.ID
		ids := map[string]string{"{public}": s.Seeded.Networks["public"].ID, "{project}": project}
		fill := func(x string) string {
			for k, v := range ids {
				x = strings.ReplaceAll(x, k, v)
			}
			return x
		}
		for _, tc := range []struct {
			method, path, body string
			status             int
			want               []string // substrings of the body
			errType            string   // NeutronError's type
			save               string
		}{
			{method: "GET", path: "/", status: 200, want: []string{`"id":"v2.0"`}},
			{method: "GET", path: "/v2.0/extensions", status: 200, want: []string{`"alias":"tag-ext"`}},
			{method: "POST", path: "/v2.0/networks", body: `{"network":`, status: 400, errType: "BadRequest"},
			{method: "POST", path: "/v2.0/networks", body: `{"network":{"name":"n1","tags":["a"]}}`, status: 201, want: []string{`"name":"n1"`, `"tags":["a"]`}, save: "net"},
			{method: "GET", path: "/v2.0/networks/nope", status: 404, errType: "NotFound", want: []string{`"message":"Network nope could not be found."`}},
			{method: "GET", path: "/v2.0/networks?name=n1&fields=id&fields=name", status: 200, want: []string{`"networks":[{"id":"{net}","name":"n1"}]`}},
			{method: "POST", path: "/v2.0/subnets", body: `{"subnet":{"network_id":"nope","cidr":"10.70.0.0/24","ip_version":4}}`, status: 404, errType: "NetworkNotFound"},
			{method: "POST", path: "/v2.0/subnets", body: `{"subnet":{"network_id":"{net}","cidr":"10.70.0.0/24","ip_version":4,"gateway_ip":5}}`, status: 400, errType: "BadRequest",
				want: []string{`"message":"Invalid input for gateway_ip. Reason: 5 is not a valid IP address."`}},
			{method: "POST", path: "/v2.0/subnets", body: `{"subnet":{"network_id":"{net}","cidr":"10.70.0.0/24","ip_version":4,"gateway_ip":null,"tags":["s"]}}`, status: 201,
				want: []string{`"gateway_ip":null`, `"tags":["s"]`}, save: "sub"},
			{method: "POST", path: "/v2.0/ports", body: `{"port":{"network_id":"nope"}}`, status: 404, errType: "NetworkNotFound"},
			{method: "POST", path: "/v2.0/ports", body: `{"port":{"network_id":"{net}","name":"p1","tags":["t1"]}}`, status: 201, want: []string{`"name":"p1"`, `"tags":["t1"]`, `"ip_address":"10.70.0.`}, save: "port"},
			{method: "PUT", path: "/v2.0/ports/{port}", body: `{"port":{"name":"p2"}}`, status: 200, want: []string{`"name":"p2"`}},
			{method: "PUT", path: "/v2.0/ports/nope", body: `{"port":{"name":"p2"}}`, status: 404, errType: "PortNotFound"},
			{method: "PUT", path: "/v2.0/ports/{port}", body: `{"port":[]}`, status: 400, errType: "BadRequest"},
			{method: "GET", path: "/v2.0/ports?limit=x", status: 400, errType: "BadRequest"},
			{method: "GET", path: "/v2.0/ports?marker=nope", status: 400, errType: "BadRequest", want: []string{`"message":"marker [nope] not found"`}},
			{method: "GET", path: "/v2.0/ports/nope", status: 404, errType: "NotFound", want: []string{`"message":"Port nope could not be found."`}},
			{method: "POST", path: "/v2.0/floatingips", body: `{"floatingip":{"floating_network_id":"{public}","port_id":"{port}"}}`, status: 404, errType: "ExternalGatewayForFloatingIPNotFound"},
			{method: "POST", path: "/v2.0/floatingips", body: `{"floatingip":{"floating_network_id":"{public}","tags":["f"]}}`, status: 201, want: []string{`"port_id":null`, `"tags":["f"]`}, save: "fip"},
			{method: "PUT", path: "/v2.0/floatingips/{fip}", body: `{"floatingip":{"port_id":null}}`, status: 200, want: []string{`"id":"{fip}"`}},
			{method: "PUT", path: "/v2.0/floatingips/nope", body: `{"floatingip":{"port_id":null}}`, status: 404, errType: "FloatingipNotFound"},
			{method: "POST", path: "/v2.0/security-groups", body: `{"security_group":{"name":"sg","tags":["g"]}}`, status: 201, want: []string{`"name":"sg"`, `"tags":["g"]`}, save: "sg"},
			{method: "POST", path: "/v2.0/security-group-rules", body: `{"security_group_rule":{"security_group_id":"{sg}","direction":"sideways"}}`, status: 400, errType: "BadRequest",
				want: []string{`"message":"Invalid input for direction. Reason: \"sideways\" is not in [ingress, egress]."`}},
			{method: "POST", path: "/v2.0/security-group-rules", body: `{"security_group_rule":{"security_group_id":"{sg}","direction":"ingress","protocol":"tcp","port_range_min":22,"port_range_max":22}}`,
				status: 201, want: []string{`"ethertype":"IPv4"`, `"port_range_max":22`}, save: "rule"},
			{method: "POST", path: "/v2.0/security-group-rules", body: `{"security_group_rule":{"security_group_id":"{sg}","direction":"ingress","protocol":"tcp","port_range_min":22,"port_range_max":22}}`,
				status: 409, errType: "SecurityGroupRuleExists"},
			{method: "DELETE", path: "/v2.0/security-group-rules/{rule}", status: 204},
			{method: "DELETE", path: "/v2.0/security-group-rules/{rule}", status: 404, errType: "SecurityGroupRuleNotFound"},
			{method: "DELETE", path: "/v2.0/networks/{net}", status: 409, errType: "Conflict", want: []string{`one or more ports still in use`}},
			{method: "DELETE", path: "/v2.0/ports/{port}", status: 204},
			{method: "DELETE", path: "/v2.0/ports/{port}", status: 404, errType: "PortNotFound"},
			{method: "DELETE", path: "/v2.0/floatingips/{fip}", status: 204},
			{method: "DELETE", path: "/v2.0/subnets/{sub}", status: 204},
			{method: "DELETE", path: "/v2.0/networks/{net}", status: 204},
			{method: "DELETE", path: "/v2.0/security-groups/{sg}", status: 204},
			// Quotas.
			{method: "GET", path: "/v2.0/quotas", status: 200, want: []string{`"project_id":"{project}"`}},
			{method: "GET", path: "/v2.0/quotas/{project}/default", status: 200, want: []string{`"network":100`}},
			{method: "PUT", path: "/v2.0/quotas/{project}", body: `{"quota":{"network":"x"}}`, status: 400, errType: "BadRequest",
				want: []string{`"message":"Invalid input for network. Reason: 'x' is not an integer."`}},
			{method: "PUT", path: "/v2.0/quotas/{project}", body: `{"quota":{"network":5}}`, status: 200, want: []string{`"network":5`}},
			{method: "GET", path: "/v2.0/quotas/{project}/details.json", status: 200, want: []string{`"network":{"limit":5,`}},
			{method: "DELETE", path: "/v2.0/quotas/{project}", status: 204},
			{method: "GET", path: "/v2.0/quotas/{project}.json", status: 200, want: []string{`"network":100`}},
		} {
			name := tc.method + " " + tc.path
			got := simtest.Do(t, s, pc, simtest.Call{Method: tc.method, URL: s.URL(sim.Neutron) + fill(tc.path), Body: fill(tc.body)})
			if got.Status != tc.status {
				t.Errorf("%s: %d %s, want %d", name, got.Status, got.Body, tc.status)
				continue
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Body, fill(w)) {
					t.Errorf("%s: %s, want %s", name, got.Body, fill(w))
				}
			}
			if tc.status >= 400 {
				var e struct {
					NeutronError *struct {
						Type    string  `json:"type"`
						Message string  `json:"message"`
						Detail  *string `json:"detail"`
					}
				}
				if err := json.Unmarshal([]byte(got.Body), &e); err != nil || e.NeutronError == nil || e.NeutronError.Message == "" || e.NeutronError.Detail == nil {
					t.Errorf("%s: not Neutron's error body: %s", name, got.Body)
				} else if e.NeutronError.Type != tc.errType {
					t.Errorf("%s: type %s, want %s", name, e.NeutronError.Type, tc.errType)
				}
			}
			if tc.save != "" {
				var v map[string]map[string]any
				if err := json.Unmarshal([]byte(got.Body), &v); err != nil || len(v) != 1 {
					t.Fatalf("%s: %s: %v", name, got.Body, err)
				}
				for _, obj := range v {
					ids["{"+tc.save+"}"] = obj["id"].(string)
				}
			}
		}
	})
}
