package model

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// NetworkUpdate is a change to a network; nil fields stay.
type NetworkUpdate struct {
	Name         *string
	Description  *string
	AdminStateUp *bool
	Shared       *bool
	External     *bool
	MTU          *int
}

// UpdateNetwork changes a network.
func (w *World) UpdateNetwork(id string, u NetworkUpdate) (Network, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, ok := w.networks.get(id)
	if !ok {
		return Network{}, &ErrNotFound{"network", id}
	}
	if u.External != nil && !*u.External && n.External {
		for _, r := range w.routers.list(func(r *Router) bool { return r.GatewayNetworkID == id }) {
			return Network{}, &ErrConflict{fmt.Sprintf("External network %s cannot be updated to be made non-external, since it has existing gateway ports (router %s).", id, r.ID)}
		}
	}
	if u.MTU != nil && (*u.MTU < 68 || *u.MTU > 9000) {
		return Network{}, &ErrBadRequest{fmt.Sprintf("Invalid input for mtu. Reason: %d is not in range 68 through 9000.", *u.MTU)}
	}
	set(&n.Name, u.Name)
	set(&n.Description, u.Description)
	set(&n.AdminStateUp, u.AdminStateUp)
	set(&n.Shared, u.Shared)
	set(&n.External, u.External)
	set(&n.MTU, u.MTU)
	n.UpdatedAt = w.now().UTC()
	w.changed("network", id)
	c := *n
	c.SubnetIDs, c.Tags = append([]string(nil), n.SubnetIDs...), append([]string(nil), n.Tags...)
	return c, nil
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// SubnetUpdate is a change to a subnet; nil fields stay.
type SubnetUpdate struct {
	Name            *string
	Description     *string
	GatewayIP       *string // "" removes the gateway
	EnableDHCP      *bool
	DNSNameservers  *[]string
	AllocationPools *[]IPRange
}

// UpdateSubnet changes a subnet.
func (w *World) UpdateSubnet(id string, u SubnetUpdate) (Subnet, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.subnets.get(id)
	if !ok {
		return Subnet{}, &ErrNotFound{"subnet", id}
	}
	pfx := netip.MustParsePrefix(s.CIDR)
	gateway := s.GatewayIP
	if u.GatewayIP != nil && *u.GatewayIP != s.GatewayIP {
		if *u.GatewayIP != "" {
			gw, err := netip.ParseAddr(*u.GatewayIP)
			if err != nil || !pfx.Contains(gw) {
				return Subnet{}, &ErrBadRequest{fmt.Sprintf("Invalid input for operation: Gateway IP %s is not in subnet %s.", *u.GatewayIP, s.CIDR)}
			}
			if w.allocatedIPs[id][*u.GatewayIP] {
				return Subnet{}, &ErrConflict{fmt.Sprintf("Gateway ip %s conflicts with an address in use on subnet %s.", *u.GatewayIP, id)}
			}
		}
		for _, r := range w.routers.list(nil) {
			for _, sid := range r.InterfaceSubnets {
				if sid == id {
					return Subnet{}, &ErrConflict{fmt.Sprintf("Gateway %s of subnet %s is used by router %s and cannot be changed.", s.GatewayIP, id, r.ID)}
				}
			}
		}
		gateway = *u.GatewayIP
	}
	pools := s.AllocationPools
	custom := !w.defaultPools[id]
	if u.AllocationPools != nil {
		pools, custom = append([]IPRange(nil), (*u.AllocationPools)...), true
		if len(pools) == 0 {
			pools, custom = defaultPool(pfx, gateway), false
		}
	} else if !custom && gateway != s.GatewayIP {
		pools = defaultPool(pfx, gateway)
	}
	if err := checkPools(pfx, gateway, pools); err != nil {
		return Subnet{}, err
	}
	if gateway != s.GatewayIP {
		if s.GatewayIP != "" {
			delete(w.allocatedIPs[id], s.GatewayIP)
		}
		if gateway != "" {
			w.allocatedIPs[id][gateway] = true
		}
		s.GatewayIP = gateway
	}
	s.AllocationPools, w.defaultPools[id] = pools, !custom
	set(&s.Name, u.Name)
	set(&s.Description, u.Description)
	set(&s.EnableDHCP, u.EnableDHCP)
	if u.DNSNameservers != nil {
		s.DNSNameservers = append([]string(nil), (*u.DNSNameservers)...)
	}
	s.UpdatedAt = w.now().UTC()
	w.changed("subnet", id)
	return cloneSubnet(s), nil
}

func cloneSubnet(s *Subnet) Subnet {
	c := *s
	c.DNSNameservers = append([]string(nil), s.DNSNameservers...)
	c.AllocationPools = append([]IPRange(nil), s.AllocationPools...)
	c.Tags = append([]string(nil), s.Tags...)
	return c
}

// DeleteSubnet removes a subnet no port has an address on.
func (w *World) DeleteSubnet(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.subnets.get(id)
	if !ok {
		return &ErrNotFound{"subnet", id}
	}
	for _, p := range w.ports.list(func(p *Port) bool { return p.NetworkID == s.NetworkID }) {
		if onSubnet(p, id) {
			return &ErrConflict{fmt.Sprintf("Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.", id)}
		}
	}
	for _, r := range w.routers.list(nil) {
		for _, f := range r.ExternalFixedIPs {
			if f.SubnetID == id {
				return &ErrConflict{fmt.Sprintf("Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.", id)}
			}
		}
	}
	if n, ok := w.networks.get(s.NetworkID); ok {
		for i, sid := range n.SubnetIDs {
			if sid == id {
				n.SubnetIDs = append(n.SubnetIDs[:i:i], n.SubnetIDs[i+1:]...)
				break
			}
		}
	}
	w.forgetSubnet(id)
	w.changed("subnet", id)
	return nil
}

func (w *World) forgetSubnet(id string) {
	w.subnets.del(id)
	delete(w.allocatedIPs, id)
	delete(w.nextHostIndex, id)
	delete(w.defaultPools, id)
}

// DefaultSecurityGroupName is the name of the group Neutron makes for each
// project.
const DefaultSecurityGroupName = "default"

// EnsureDefaultSecurityGroup returns the id of a project's "default"
// security group, creating it (egress anywhere, ingress from its own
// members) as Neutron does on a project's first use.
func (w *World) EnsureDefaultSecurityGroup(projectID string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ensureDefaultSG(projectID)
}

func (w *World) ensureDefaultSG(projectID string) string {
	if id, ok := w.defaultSGs[projectID]; ok {
		if _, ok := w.secGroups.get(id); ok {
			return id
		}
	}
	g := SecurityGroup{ID: NewID(), Name: DefaultSecurityGroupName, Description: "Default security group", ProjectID: projectID}
	g.CreatedAt, g.UpdatedAt = w.now().UTC(), w.now().UTC()
	w.secGroups.put(g.ID, w.nextSeq(), &g)
	for _, et := range []string{"IPv4", "IPv6"} {
		for _, r := range []SecurityGroupRule{
			{Direction: "egress", EtherType: et},
			{Direction: "ingress", EtherType: et, RemoteGroupID: g.ID},
		} {
			r.ID, r.SecurityGroupID, r.ProjectID = NewID(), g.ID, projectID
			w.secGroupRules.put(r.ID, w.nextSeq(), &r)
		}
	}
	w.defaultSGs[projectID] = g.ID
	w.changed("security-group", g.ID)
	return g.ID
}

// IsDefaultSecurityGroup reports whether id is a project's default group.
func (w *World) IsDefaultSecurityGroup(id string) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for _, d := range w.defaultSGs {
		if d == id {
			return true
		}
	}
	return false
}

// ErrRuleExists is Neutron's 409 for a rule that duplicates another.
type ErrRuleExists struct{ RuleID string }

func (e *ErrRuleExists) Error() string {
	return fmt.Sprintf("Security group rule already exists. Rule id is %s.", e.RuleID)
}

func sameRule(a, b *SecurityGroupRule) bool {
	norm := func(p string) string {
		if p == "0.0.0.0/0" || p == "::/0" {
			return ""
		}
		return p
	}
	return a.SecurityGroupID == b.SecurityGroupID && a.Direction == b.Direction && a.EtherType == b.EtherType &&
		strings.EqualFold(a.Protocol, b.Protocol) && a.PortRangeMin == b.PortRangeMin && a.PortRangeMax == b.PortRangeMax &&
		norm(a.RemoteIPPrefix) == norm(b.RemoteIPPrefix) && a.RemoteGroupID == b.RemoteGroupID
}

// Kinds of Neutron resources that carry tags, as their URL collections name them.
const (
	TagNetworks       = "networks"
	TagSubnets        = "subnets"
	TagPorts          = "ports"
	TagRouters        = "routers"
	TagSecurityGroups = "security-groups"
	TagFloatingIPs    = "floatingips"
)

// tagsOf returns a pointer to the tags of a resource.
func (w *World) tagsOf(kind, id string) (*[]string, string, error) {
	switch kind {
	case TagNetworks:
		if v, ok := w.networks.get(id); ok {
			return &v.Tags, "network", nil
		}
		return nil, "", &ErrNotFound{"network", id}
	case TagSubnets:
		if v, ok := w.subnets.get(id); ok {
			return &v.Tags, "subnet", nil
		}
		return nil, "", &ErrNotFound{"subnet", id}
	case TagPorts:
		if v, ok := w.ports.get(id); ok {
			return &v.Tags, "port", nil
		}
		return nil, "", &ErrNotFound{"port", id}
	case TagRouters:
		if v, ok := w.routers.get(id); ok {
			return &v.Tags, "router", nil
		}
		return nil, "", &ErrNotFound{"router", id}
	case TagSecurityGroups:
		if v, ok := w.secGroups.get(id); ok {
			return &v.Tags, "security-group", nil
		}
		return nil, "", &ErrNotFound{"security_group", id}
	case TagFloatingIPs:
		if v, ok := w.floatingIPs.get(id); ok {
			return &v.Tags, "floatingip", nil
		}
		return nil, "", &ErrNotFound{"floatingip", id}
	}
	return nil, "", &ErrNotFound{"resource", kind}
}

// Tags returns the tags of a resource of a kind (TagNetworks...).
func (w *World) Tags(kind, id string) ([]string, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	t, _, err := w.tagsOf(kind, id)
	if err != nil {
		return nil, err
	}
	return append([]string{}, (*t)...), nil
}

// SetTags replaces the tags of a resource.
func (w *World) SetTags(kind, id string, tags []string) ([]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, change, err := w.tagsOf(kind, id)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, tag := range tags {
		if tag == "" || len(tag) > 255 || strings.Contains(tag, ",") {
			return nil, &ErrBadRequest{fmt.Sprintf("Invalid input for tags. Reason: '%s' is not a valid tag.", tag)}
		}
		if !seen[tag] {
			seen[tag] = true
			out = append(out, tag)
		}
	}
	sort.Strings(out)
	*t = out
	w.changed(change, id)
	return append([]string{}, out...), nil
}

// Neutron quota resources with Neutron's default limits.
var neutronQuotaDefaults = map[string]int{
	"network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50,
	"security_group": 10, "security_group_rule": 100, "subnetpool": -1, "rbac_policy": 10,
}

// Nova quota resources with Nova's default limits.
var novaQuotaDefaults = map[string]int{
	"instances": 10, "cores": 20, "ram": 51200, "key_pairs": 100, "metadata_items": 128,
	"server_groups": 10, "server_group_members": 10, "injected_files": 5,
	"injected_file_content_bytes": 10240, "injected_file_path_bytes": 255,
}

// Cinder quota resources with Cinder's default limits.
var cinderQuotaDefaults = map[string]int{
	"volumes": 10, "snapshots": 10, "gigabytes": 1000, "backups": 10, "backup_gigabytes": 1000,
	"per_volume_gigabytes": -1, "groups": 10,
}

// QuotaDefaults returns the default limits of a service ("network",
// "compute", "volume").
func QuotaDefaults(service string) map[string]int {
	src := map[string]map[string]int{"network": neutronQuotaDefaults, "compute": novaQuotaDefaults, "volume": cinderQuotaDefaults}[service]
	out := make(map[string]int, len(src))
	for k, v := range src {
		out[k] = v
	}
	return out
}

// Quotas returns a project's limits of a service, defaults where unset.
func (w *World) Quotas(projectID, service string) map[string]int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.quotasOf(projectID, service)
}

func (w *World) quotasOf(projectID, service string) map[string]int {
	out := QuotaDefaults(service)
	for k, v := range w.quotas[projectID] {
		if svc, res, ok := strings.Cut(k, "/"); ok && svc == service {
			out[res] = v
		}
	}
	return out
}

// SetQuotas changes a project's limits of a service; unknown resources are
// refused.
func (w *World) SetQuotas(projectID, service string, limits map[string]int) (map[string]int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defaults := QuotaDefaults(service)
	var bad []string
	for k, v := range limits {
		if _, ok := defaults[k]; !ok {
			bad = append(bad, k)
		}
		if v < -1 {
			return nil, &ErrBadRequest{fmt.Sprintf("Invalid input for %s. Reason: '%d' should be greater than or equal to -1.", k, v)}
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, &ErrBadRequest{fmt.Sprintf("Unrecognized attribute(s) '%s'", strings.Join(bad, ", "))}
	}
	if w.quotas[projectID] == nil {
		w.quotas[projectID] = map[string]int{}
	}
	for k, v := range limits {
		w.quotas[projectID][service+"/"+k] = v
	}
	return w.quotasOf(projectID, service), nil
}

// ResetQuotas returns a project's limits of a service to the defaults.
func (w *World) ResetQuotas(projectID, service string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k := range w.quotas[projectID] {
		if strings.HasPrefix(k, service+"/") {
			delete(w.quotas[projectID], k)
		}
	}
}

// NetworkUsage counts a project's Neutron resources by quota name.
func (w *World) NetworkUsage(projectID string) map[string]int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.networkUsage(projectID)
}

func (w *World) networkUsage(projectID string) map[string]int {
	count := func(n int) int { return n }
	return map[string]int{
		"network":             count(len(w.networks.list(func(x *Network) bool { return x.ProjectID == projectID }))),
		"subnet":              len(w.subnets.list(func(x *Subnet) bool { return x.ProjectID == projectID })),
		"port":                len(w.ports.list(func(x *Port) bool { return x.ProjectID == projectID })),
		"router":              len(w.routers.list(func(x *Router) bool { return x.ProjectID == projectID })),
		"floatingip":          len(w.floatingIPs.list(func(x *FloatingIP) bool { return x.ProjectID == projectID })),
		"security_group":      len(w.secGroups.list(func(x *SecurityGroup) bool { return x.ProjectID == projectID })),
		"security_group_rule": len(w.secGroupRules.list(func(x *SecurityGroupRule) bool { return x.ProjectID == projectID })),
		"subnetpool":          0,
		"rbac_policy":         0,
	}
}

// ErrOverQuota is the answer to a create beyond a project's limit.
type ErrOverQuota struct{ Resources []string }

func (e *ErrOverQuota) Error() string {
	return fmt.Sprintf("Quota exceeded for resources: ['%s'].", strings.Join(e.Resources, "', '"))
}

// checkNetworkQuota refuses to create one more of a Neutron resource
// beyond the project's limit. Only limits set explicitly are enforced, so
// that large seeded worlds are not bound by Neutron's defaults.
func (w *World) checkNetworkQuota(projectID, resource string) error {
	limit, ok := w.quotas[projectID]["network/"+resource]
	if !ok || limit < 0 {
		return nil
	}
	if w.networkUsage(projectID)[resource] >= limit {
		return &ErrOverQuota{Resources: []string{resource}}
	}
	return nil
}

// CheckNetworkQuota refuses (ErrOverQuota) one more of a Neutron resource
// ("network", "port"...) beyond a project's limit.
func (w *World) CheckNetworkQuota(projectID, resource string) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.checkNetworkQuota(projectID, resource)
}

// UpdateSecurityGroup changes a group's name or description.
func (w *World) UpdateSecurityGroup(id string, name, description *string) (SecurityGroup, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	g, ok := w.secGroups.get(id)
	if !ok {
		return SecurityGroup{}, &ErrNotFound{"security_group", id}
	}
	set(&g.Name, name)
	set(&g.Description, description)
	g.UpdatedAt = w.now().UTC()
	w.changed("security-group", id)
	return *g, nil
}
