// Package neutron simulates the Networking v2.0 API: networks, subnets,
// ports (with Neutron's query filters and paging), floating IPs, routers,
// security groups and their rules, and the extensions list.
package neutron

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

// Handler returns the Networking API; it expects paths such as
// "/v2.0/ports" and serves version discovery at "/".
func Handler(world *model.World, base func() string) http.Handler {
	n := &neutron{world: world, base: base}
	mux := api.NewMux(api.Neutron)
	mux.HandleFunc("GET /v2.0/extensions", get(n.extensions))
	mux.HandleFunc("GET /v2.0/networks", n.list("networks", n.networkViews))
	mux.HandleFunc("GET /v2.0/networks/{id}", n.get("network", n.networkViews))
	mux.HandleFunc("POST /v2.0/networks", n.createNetwork())
	mux.HandleFunc("PUT /v2.0/networks/{id}", n.updateNetwork())
	mux.HandleFunc("DELETE /v2.0/networks/{id}", n.del(world.DeleteNetwork))
	mux.HandleFunc("GET /v2.0/subnets", n.list("subnets", n.subnetViews))
	mux.HandleFunc("GET /v2.0/subnets/{id}", n.get("subnet", n.subnetViews))
	mux.HandleFunc("POST /v2.0/subnets", n.createSubnet())
	mux.HandleFunc("PUT /v2.0/subnets/{id}", n.updateSubnet())
	mux.HandleFunc("DELETE /v2.0/subnets/{id}", n.del(world.DeleteSubnet))
	mux.HandleFunc("GET /v2.0/ports", n.list("ports", n.portViews))
	mux.HandleFunc("GET /v2.0/ports/{id}", n.get("port", n.portViews))
	mux.HandleFunc("POST /v2.0/ports", n.createPort())
	mux.HandleFunc("PUT /v2.0/ports/{id}", n.updatePort())
	mux.HandleFunc("DELETE /v2.0/ports/{id}", n.del(world.DeletePort))
	mux.HandleFunc("GET /v2.0/floatingips", n.list("floatingips", n.floatingIPViews))
	mux.HandleFunc("GET /v2.0/floatingips/{id}", n.get("floatingip", n.floatingIPViews))
	mux.HandleFunc("POST /v2.0/floatingips", n.createFloatingIP())
	mux.HandleFunc("PUT /v2.0/floatingips/{id}", n.updateFloatingIP())
	mux.HandleFunc("DELETE /v2.0/floatingips/{id}", n.del(world.DeleteFloatingIP))
	mux.HandleFunc("GET /v2.0/routers", n.list("routers", n.routerViews))
	mux.HandleFunc("GET /v2.0/routers/{id}", n.get("router", n.routerViews))
	mux.HandleFunc("POST /v2.0/routers", n.createRouter())
	mux.HandleFunc("PUT /v2.0/routers/{id}", n.updateRouter())
	mux.HandleFunc("DELETE /v2.0/routers/{id}", n.del(world.DeleteRouter))
	mux.HandleFunc("PUT /v2.0/routers/{id}/add_router_interface", n.routerInterface(world.AddRouterInterface))
	mux.HandleFunc("PUT /v2.0/routers/{id}/remove_router_interface", n.routerInterface(world.RemoveRouterInterface))
	mux.HandleFunc("GET /v2.0/security-groups", n.list("security_groups", n.securityGroupViews))
	mux.HandleFunc("GET /v2.0/security-groups/{id}", n.get("security_group", n.securityGroupViews))
	mux.HandleFunc("POST /v2.0/security-groups", n.createSecurityGroup())
	mux.HandleFunc("PUT /v2.0/security-groups/{id}", n.updateSecurityGroup())
	mux.HandleFunc("DELETE /v2.0/security-groups/{id}", n.del(world.DeleteSecurityGroup))
	mux.HandleFunc("GET /v2.0/security-group-rules", n.list("security_group_rules", n.ruleViews))
	mux.HandleFunc("GET /v2.0/security-group-rules/{id}", n.get("security_group_rule", n.ruleViews))
	mux.HandleFunc("POST /v2.0/security-group-rules", n.createRule())
	mux.HandleFunc("DELETE /v2.0/security-group-rules/{id}", n.del(world.DeleteSecurityGroupRule))
	for _, kind := range []string{model.TagNetworks, model.TagSubnets, model.TagPorts, model.TagRouters, model.TagSecurityGroups, model.TagFloatingIPs} {
		n.tagRoutes(mux, kind)
	}
	mux.HandleFunc("GET /v2.0/quotas", get(n.listQuotas))
	mux.HandleFunc("GET /v2.0/quotas/{project}", get(n.showQuota))
	mux.HandleFunc("GET /v2.0/quotas/{project}/default", get(n.showQuota))
	mux.HandleFunc("GET /v2.0/quotas/{project}/details", get(n.showQuota))
	mux.HandleFunc("GET /v2.0/quotas/{project}/details.json", get(n.showQuota))
	mux.HandleFunc("PUT /v2.0/quotas/{project}", n.updateQuota())
	mux.HandleFunc("DELETE /v2.0/quotas/{project}", n.deleteQuota())

	outer := http.NewServeMux()
	outer.HandleFunc("GET /{$}", get(n.versions))
	outer.Handle("/", api.TokenAuth(world, api.Neutron, mux))
	return outer
}

type neutron struct {
	world *model.World
	base  func() string
}

func (n *neutron) versions(*http.Request) (any, error) {
	return map[string]any{"versions": []any{map[string]any{
		"id": "v2.0", "status": "CURRENT", "links": []any{map[string]any{"rel": "self", "href": n.base() + "/v2.0/"}},
	}}}, nil
}

var extensionAliases = []string{
	"agent", "allowed-address-pairs", "availability_zone", "binding", "dns-integration", "external-net",
	"ext-gw-mode", "extra_dhcp_opt", "extraroute", "net-mtu", "network-ip-availability", "port-security",
	"project-id", "quotas", "router", "security-group", "standard-attr-description", "standard-attr-revisions",
	"standard-attr-tag", "standard-attr-timestamp", "subnet_allocation", "tag-ext",
}

func (n *neutron) extensions(*http.Request) (any, error) {
	var out []any
	for _, a := range extensionAliases {
		out = append(out, map[string]any{"alias": a, "name": a, "description": a + " (simulated)", "updated": "2024-01-01T00:00:00-00:00", "links": []any{}})
	}
	return map[string]any{"extensions": out}, nil
}

// views returns the JSON of every object of a collection the caller's
// project may see.
type views func(r *http.Request, id string) []map[string]any

// nonFilters are query parameters that are not field filters.
var nonFilters = map[string]bool{"limit": true, "marker": true, "fields": true, "sort_key": true, "sort_dir": true, "page_reverse": true}

// list serves a collection with Neutron's filters (field=value, repeatable
// as OR; fixed_ips=ip_address=... or subnet_id=...), fields and paging.
func (n *neutron) list(key string, all views) http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		q := r.URL.Query()
		var items []map[string]any
		for _, v := range all(r, "") {
			if matches(v, q) {
				items = append(items, v)
			}
		}
		limit, err := api.Limit(r)
		if err != nil {
			return nil, err
		}
		page, more, err := api.Page(items, func(v map[string]any) string { return fmt.Sprint(v["id"]) }, q.Get("marker"), limit)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(page))
		for _, v := range page {
			out = append(out, selectFields(v, q["fields"]))
		}
		body := map[string]any{key: out}
		if more {
			body[key+"_links"] = []any{map[string]any{"rel": "next", "href": api.NextLink(r, fmt.Sprint(page[len(page)-1]["id"]))}}
		}
		return body, nil
	})
}

func matches(v map[string]any, q map[string][]string) bool {
	for key, wants := range q {
		if nonFilters[key] {
			continue
		}
		if key == "fixed_ips" {
			if !matchFixedIPs(v, wants) {
				return false
			}
			continue
		}
		if key == "tags" || key == "tags-any" || key == "not-tags" || key == "not-tags-any" {
			hit := matchTags(v, wants, key == "tags" || key == "not-tags")
			if hit == strings.HasPrefix(key, "not-") {
				return false
			}
			continue
		}
		got, ok := v[key]
		if !ok {
			return false
		}
		hit := false
		for _, want := range wants {
			hit = hit || fmt.Sprint(got) == want || (want == "True" && got == true) || (want == "False" && got == false)
		}
		if !hit {
			return false
		}
	}
	return true
}

func matchFixedIPs(v map[string]any, wants []string) bool {
	ips, _ := v["fixed_ips"].([]any)
	for _, want := range wants {
		field, value, _ := strings.Cut(want, "=")
		found := false
		for _, ip := range ips {
			m := ip.(map[string]any)
			found = found || fmt.Sprint(m[field]) == value
		}
		if !found {
			return false
		}
	}
	return true
}

func matchTags(v map[string]any, wants []string, all bool) bool {
	tags := map[string]bool{}
	list, _ := v["tags"].([]string)
	for _, t := range list {
		tags[t] = true
	}
	for _, want := range wants {
		for _, t := range strings.Split(want, ",") {
			if tags[t] && !all {
				return true
			}
			if !tags[t] && all {
				return false
			}
		}
	}
	return all
}

func selectFields(v map[string]any, fields []string) map[string]any {
	if len(fields) == 0 {
		return v
	}
	out := map[string]any{}
	for _, f := range fields {
		if val, ok := v[f]; ok {
			out[f] = val
		}
	}
	return out
}

func (n *neutron) get(key string, all views) http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		list := all(r, r.PathValue("id"))
		if len(list) == 0 {
			return nil, api.Errorf(http.StatusNotFound, "%s %s could not be found.", title(key), r.PathValue("id"))
		}
		return map[string]any{key: selectFields(list[0], r.URL.Query()["fields"])}, nil
	})
}

func title(key string) string {
	parts := strings.Split(key, "_")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, " ")
}

func tagList(tags []string) []string { return append([]string{}, tags...) }

func (n *neutron) del(fn func(id string) error) http.HandlerFunc {
	return handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		return nil, fn(r.PathValue("id"))
	})
}

// visible reports whether the caller's project may see an object: its own,
// shared and external networks.
func visible(r *http.Request, projectID string) bool {
	return projectID == api.TokenOf(r.Context()).ProjectID
}

func std(id, projectID string, v map[string]any) map[string]any {
	v["id"], v["tenant_id"], v["project_id"] = id, projectID, projectID
	if _, ok := v["tags"]; !ok {
		v["tags"] = []string{}
	}
	v["revision_number"] = 1
	if _, ok := v["description"]; !ok {
		v["description"] = ""
	}
	return v
}

func (n *neutron) networkViews(r *http.Request, id string) []map[string]any {
	var out []map[string]any
	for _, net := range n.world.Networks(func(x *model.Network) bool { return id == "" || x.ID == id }) {
		if !visible(r, net.ProjectID) && !net.External && !net.Shared {
			continue
		}
		subnets := append([]string{}, net.SubnetIDs...)
		tags := append([]string{}, net.Tags...)
		out = append(out, std(net.ID, net.ProjectID, map[string]any{
			"name": net.Name, "admin_state_up": net.AdminStateUp, "status": net.Status, "subnets": subnets,
			"shared": net.Shared, "router:external": net.External, "mtu": net.MTU, "tags": tags, "description": net.Description,
			"availability_zones": []string{"nova"}, "availability_zone_hints": []string{}, "port_security_enabled": true,
			"provider:network_type": "geneve", "ipv4_address_scope": nil, "ipv6_address_scope": nil, "l2_adjacency": true,
			"created_at": api.OpenStackTime(net.CreatedAt), "updated_at": api.OpenStackTime(net.UpdatedAt),
		}))
	}
	return out
}

func (n *neutron) subnetViews(r *http.Request, id string) []map[string]any {
	var out []map[string]any
	for _, s := range n.world.Subnets(func(x *model.Subnet) bool { return id == "" || x.ID == id }) {
		net, err := n.world.Network(s.NetworkID)
		if err != nil || (!visible(r, s.ProjectID) && !net.External && !net.Shared) {
			continue
		}
		dns := append([]string{}, s.DNSNameservers...)
		pools := []any{}
		for _, p := range s.AllocationPools {
			pools = append(pools, map[string]any{"start": p.Start, "end": p.End})
		}
		out = append(out, std(s.ID, s.ProjectID, map[string]any{
			"name": s.Name, "network_id": s.NetworkID, "cidr": s.CIDR, "ip_version": s.IPVersion, "gateway_ip": nullable(s.GatewayIP),
			"enable_dhcp": s.EnableDHCP, "dns_nameservers": dns, "host_routes": []any{}, "subnetpool_id": nil,
			"allocation_pools": pools, "ipv6_address_mode": nil, "ipv6_ra_mode": nil, "service_types": []any{},
			"tags": tagList(s.Tags), "description": s.Description, "dns_publish_fixed_ip": false,
			"created_at": api.OpenStackTime(s.CreatedAt), "updated_at": api.OpenStackTime(s.UpdatedAt),
		}))
	}
	return out
}

func portView(p model.Port) map[string]any {
	var ips []any
	for _, f := range p.FixedIPs {
		ips = append(ips, map[string]any{"subnet_id": f.SubnetID, "ip_address": f.IPAddress})
	}
	if ips == nil {
		ips = []any{}
	}
	sgs := append([]string{}, p.SecurityGroups...)
	tags := append([]string{}, p.Tags...)
	return std(p.ID, p.ProjectID, map[string]any{
		"name": p.Name, "network_id": p.NetworkID, "mac_address": p.MACAddress, "admin_state_up": p.AdminStateUp,
		"status": p.Status, "device_id": p.DeviceID, "device_owner": p.DeviceOwner, "fixed_ips": ips,
		"security_groups": sgs, "allowed_address_pairs": []any{}, "extra_dhcp_opts": []any{}, "binding:vnic_type": "normal",
		"port_security_enabled": true, "tags": tags, "description": p.Description,
		"created_at": api.OpenStackTime(p.CreatedAt), "updated_at": api.OpenStackTime(p.UpdatedAt),
	})
}

func (n *neutron) portViews(r *http.Request, id string) []map[string]any {
	project := api.TokenOf(r.Context()).ProjectID
	var ports []model.Port
	q := r.URL.Query()
	switch {
	case id != "":
		if p, err := n.world.Port(id); err == nil {
			ports = []model.Port{p}
		}
	case len(q["device_id"]) == 1:
		// The index answers the lookup clients make per server.
		ports = n.world.PortsOfDevice(q.Get("device_id"))
		sort.SliceStable(ports, func(i, j int) bool { return ports[i].CreatedAt.Before(ports[j].CreatedAt) })
	default:
		ports = n.world.Ports(nil)
	}
	out := make([]map[string]any, 0, len(ports))
	for _, p := range ports {
		if p.ProjectID == project {
			out = append(out, portView(p))
		}
	}
	return out
}

func (n *neutron) floatingIPViews(r *http.Request, id string) []map[string]any {
	var out []map[string]any
	for _, f := range n.world.FloatingIPs(func(x *model.FloatingIP) bool { return id == "" || x.ID == id }) {
		if !visible(r, f.ProjectID) {
			continue
		}
		out = append(out, std(f.ID, f.ProjectID, map[string]any{
			"floating_network_id": f.FloatingNetworkID, "floating_ip_address": f.FloatingIPAddress,
			"port_id": nullable(f.PortID), "fixed_ip_address": nullable(f.FixedIPAddress), "router_id": nullable(f.RouterID),
			"status": f.Status, "description": f.Description, "tags": tagList(f.Tags), "port_details": nil,
			"port_forwardings": []any{}, "dns_domain": "", "dns_name": "", "qos_policy_id": nil,
			"created_at": api.OpenStackTime(f.CreatedAt), "updated_at": api.OpenStackTime(f.UpdatedAt),
		}))
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (n *neutron) routerViews(r *http.Request, id string) []map[string]any {
	var out []map[string]any
	for _, rt := range n.world.Routers(func(x *model.Router) bool { return id == "" || x.ID == id }) {
		if !visible(r, rt.ProjectID) {
			continue
		}
		var gw any
		if rt.GatewayNetworkID != "" {
			ips := []any{}
			for _, f := range rt.ExternalFixedIPs {
				ips = append(ips, map[string]any{"subnet_id": f.SubnetID, "ip_address": f.IPAddress})
			}
			gw = map[string]any{"network_id": rt.GatewayNetworkID, "enable_snat": rt.EnableSNAT, "external_fixed_ips": ips}
		}
		out = append(out, std(rt.ID, rt.ProjectID, map[string]any{
			"name": rt.Name, "status": rt.Status, "admin_state_up": rt.AdminStateUp, "external_gateway_info": gw,
			"tags": tagList(rt.Tags), "description": rt.Description, "flavor_id": nil, "availability_zone_hints": []string{},
			"routes": []any{}, "distributed": false, "ha": false, "availability_zones": []string{"nova"},
			"created_at": api.OpenStackTime(rt.CreatedAt), "updated_at": api.OpenStackTime(rt.UpdatedAt),
		}))
	}
	return out
}

func ruleView(rule model.SecurityGroupRule) map[string]any {
	return std(rule.ID, rule.ProjectID, map[string]any{
		"security_group_id": rule.SecurityGroupID, "direction": rule.Direction, "ethertype": rule.EtherType,
		"protocol": nullable(rule.Protocol), "port_range_min": nullablePort(rule.PortRangeMin), "port_range_max": nullablePort(rule.PortRangeMax),
		"remote_ip_prefix": nullable(rule.RemoteIPPrefix), "remote_group_id": nullable(rule.RemoteGroupID),
		"description": rule.Description,
	})
}

func nullablePort(p int) any {
	if p == 0 {
		return nil
	}
	return p
}

func (n *neutron) securityGroupViews(r *http.Request, id string) []map[string]any {
	// Neutron makes a project's default group on its first use.
	n.world.EnsureDefaultSecurityGroup(api.TokenOf(r.Context()).ProjectID)
	var out []map[string]any
	for _, g := range n.world.SecurityGroups(func(x *model.SecurityGroup) bool { return id == "" || x.ID == id }) {
		if !visible(r, g.ProjectID) {
			continue
		}
		rules := []any{}
		for _, rule := range n.world.SecurityGroupRules(func(x *model.SecurityGroupRule) bool { return x.SecurityGroupID == g.ID }) {
			rules = append(rules, ruleView(rule))
		}
		out = append(out, std(g.ID, g.ProjectID, map[string]any{
			"name": g.Name, "description": g.Description, "security_group_rules": rules, "stateful": true, "tags": tagList(g.Tags),
			"shared":     false,
			"created_at": api.OpenStackTime(g.CreatedAt), "updated_at": api.OpenStackTime(g.UpdatedAt),
		}))
	}
	return out
}

func (n *neutron) ruleViews(r *http.Request, id string) []map[string]any {
	n.world.EnsureDefaultSecurityGroup(api.TokenOf(r.Context()).ProjectID)
	var out []map[string]any
	for _, rule := range n.world.SecurityGroupRules(func(x *model.SecurityGroupRule) bool { return id == "" || x.ID == id }) {
		if visible(r, rule.ProjectID) {
			out = append(out, ruleView(rule))
		}
	}
	return out
}
