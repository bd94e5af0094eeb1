package model

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"time"
)

// Network is a Neutron network. Each has an NSX logical switch (Manager
// API) and segment (Policy API), as VIO's NSX plugin creates them.
type Network struct {
	ID           string
	Name         string
	ProjectID    string
	External     bool
	Shared       bool
	MTU          int
	SubnetIDs    []string
	Tags         []string
	AdminStateUp bool
	Status       string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Subnet is a Neutron subnet.
type Subnet struct {
	ID             string
	Name           string
	NetworkID      string
	ProjectID      string
	CIDR           string
	GatewayIP      string
	IPVersion      int
	EnableDHCP     bool
	DNSNameservers []string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// FixedIP is an address of a port on a subnet.
type FixedIP struct {
	SubnetID  string
	IPAddress string
}

// Port is a Neutron port.
type Port struct {
	ID             string
	Name           string
	NetworkID      string
	ProjectID      string
	DeviceID       string
	DeviceOwner    string
	MACAddress     string
	Status         string
	AdminStateUp   bool
	FixedIPs       []FixedIP
	SecurityGroups []string
	Description    string
	Tags           []string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// FloatingIP is a Neutron floating IP.
type FloatingIP struct {
	ID                string
	ProjectID         string
	FloatingNetworkID string
	FloatingIPAddress string
	PortID            string
	FixedIPAddress    string
	RouterID          string
	Status            string
	Description       string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Router is a Neutron router.
type Router struct {
	ID                string
	Name              string
	ProjectID         string
	Status            string
	GatewayNetworkID  string
	EnableSNAT        bool
	InterfaceSubnets  []string
	AdminStateUp      bool
	CreatedAt         time.Time
	UpdatedAt         time.Time
	ExternalFixedIPs  []FixedIP
	RoutesDestination []string
}

// SecurityGroup is a Neutron security group.
type SecurityGroup struct {
	ID          string
	Name        string
	Description string
	ProjectID   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// SecurityGroupRule is a rule of a security group.
type SecurityGroupRule struct {
	ID              string
	SecurityGroupID string
	ProjectID       string
	Direction       string
	EtherType       string
	Protocol        string
	PortRangeMin    int
	PortRangeMax    int
	RemoteIPPrefix  string
	RemoteGroupID   string
	Description     string
}

// CreateNetwork adds a network and its NSX logical switch.
func (w *World) CreateNetwork(n Network) Network {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n.ID == "" {
		n.ID = NewID()
	}
	if n.MTU == 0 {
		n.MTU = 1500
	}
	n.AdminStateUp, n.Status = true, "ACTIVE"
	n.CreatedAt, n.UpdatedAt = w.now().UTC(), w.now().UTC()
	w.networks.put(n.ID, w.nextSeq(), &n)
	w.createLogicalSwitch(&n)
	w.changed("network", n.ID)
	return n
}

// Network returns a network by id.
func (w *World) Network(id string) (Network, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	n, ok := w.networks.get(id)
	if !ok {
		return Network{}, &ErrNotFound{"network", id}
	}
	return *n, nil
}

// Networks lists the networks keep selects.
func (w *World) Networks(keep func(*Network) bool) []Network {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return values(w.networks.list(keep))
}

// DeleteNetwork removes a network without ports.
func (w *World) DeleteNetwork(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, ok := w.networks.get(id)
	if !ok {
		return &ErrNotFound{"network", id}
	}
	for _, p := range w.ports.list(nil) {
		if p.NetworkID == id {
			return &ErrConflict{fmt.Sprintf("Unable to complete operation on network %s. There are one or more ports still in use on the network.", id)}
		}
	}
	for _, s := range n.SubnetIDs {
		w.subnets.del(s)
	}
	w.networks.del(id)
	w.changed("network", id)
	return nil
}

// CreateSubnet adds a subnet to a network.
func (w *World) CreateSubnet(s Subnet) (Subnet, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, ok := w.networks.get(s.NetworkID)
	if !ok {
		return Subnet{}, &ErrNotFound{"network", s.NetworkID}
	}
	pfx, err := netip.ParsePrefix(s.CIDR)
	if err != nil {
		return Subnet{}, &ErrBadRequest{fmt.Sprintf("Invalid input for cidr. Reason: '%s' is not a valid IP subnet.", s.CIDR)}
	}
	pfx = pfx.Masked()
	s.CIDR = pfx.String()
	if s.ID == "" {
		s.ID = NewID()
	}
	if s.IPVersion == 0 {
		s.IPVersion = 4
		if pfx.Addr().Is6() {
			s.IPVersion = 6
		}
	}
	if s.GatewayIP == "" {
		s.GatewayIP = pfx.Addr().Next().String()
	}
	if s.ProjectID == "" {
		s.ProjectID = n.ProjectID
	}
	s.CreatedAt, s.UpdatedAt = w.now().UTC(), w.now().UTC()
	w.subnets.put(s.ID, w.nextSeq(), &s)
	n.SubnetIDs = append(n.SubnetIDs, s.ID)
	w.allocatedIPs[s.ID] = map[string]bool{s.GatewayIP: true}
	w.changed("subnet", s.ID)
	return s, nil
}

// Subnet returns a subnet by id.
func (w *World) Subnet(id string) (Subnet, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	s, ok := w.subnets.get(id)
	if !ok {
		return Subnet{}, &ErrNotFound{"subnet", id}
	}
	return *s, nil
}

// Subnets lists the subnets keep selects.
func (w *World) Subnets(keep func(*Subnet) bool) []Subnet {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return values(w.subnets.list(keep))
}

// allocateIP takes the next free address of a subnet, from .10 up.
func (w *World) allocateIP(subnetID string) (string, error) {
	s, ok := w.subnets.get(subnetID)
	if !ok {
		return "", &ErrNotFound{"subnet", subnetID}
	}
	pfx := netip.MustParsePrefix(s.CIDR)
	used := w.allocatedIPs[subnetID]
	start := w.nextHostIndex[subnetID]
	if start < 10 {
		start = 10
	}
	addr := pfx.Addr()
	for i := 0; i < start; i++ {
		addr = addr.Next()
	}
	for ; pfx.Contains(addr); addr = addr.Next() {
		start++
		if !used[addr.String()] && addr.Next().IsValid() && pfx.Contains(addr.Next()) {
			used[addr.String()] = true
			w.nextHostIndex[subnetID] = start
			return addr.String(), nil
		}
	}
	return "", &ErrConflict{fmt.Sprintf("No more IP addresses available on network %s.", s.NetworkID)}
}

func (w *World) releaseIP(subnetID, ip string) {
	delete(w.allocatedIPs[subnetID], ip)
}

func newMAC() string {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2])
}

// CreatePort adds a port to a network, with an address of each subnet named
// in FixedIPs (or of the network's first subnet), and its NSX logical port.
func (w *World) CreatePort(p Port) (Port, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.createPort(p)
}

func (w *World) createPort(p Port) (Port, error) {
	n, ok := w.networks.get(p.NetworkID)
	if !ok {
		return Port{}, &ErrNotFound{"network", p.NetworkID}
	}
	if p.ID == "" {
		p.ID = NewID()
	}
	if p.MACAddress == "" {
		p.MACAddress = newMAC()
	}
	if p.ProjectID == "" {
		p.ProjectID = n.ProjectID
	}
	if len(p.FixedIPs) == 0 && len(n.SubnetIDs) > 0 {
		p.FixedIPs = []FixedIP{{SubnetID: n.SubnetIDs[0]}}
	}
	for i, fip := range p.FixedIPs {
		if fip.SubnetID == "" {
			return Port{}, &ErrBadRequest{"Invalid input for fixed_ips: a subnet_id is required"}
		}
		if fip.IPAddress == "" {
			ip, err := w.allocateIP(fip.SubnetID)
			if err != nil {
				return Port{}, err
			}
			p.FixedIPs[i].IPAddress = ip
		} else if used := w.allocatedIPs[fip.SubnetID]; used != nil {
			if used[fip.IPAddress] {
				return Port{}, &ErrConflict{fmt.Sprintf("IP address %s already allocated in subnet %s", fip.IPAddress, fip.SubnetID)}
			}
			used[fip.IPAddress] = true
		}
	}
	p.AdminStateUp = true
	p.Status = "DOWN"
	if p.DeviceID != "" {
		p.Status = "ACTIVE"
		w.portsByDevice[p.DeviceID] = append(w.portsByDevice[p.DeviceID], p.ID)
	}
	p.CreatedAt, p.UpdatedAt = w.now().UTC(), w.now().UTC()
	w.ports.put(p.ID, w.nextSeq(), &p)
	w.createLogicalPort(&p, n)
	w.changed("port", p.ID)
	return p, nil
}

// Port returns a port by id.
func (w *World) Port(id string) (Port, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	p, ok := w.ports.get(id)
	if !ok {
		return Port{}, &ErrNotFound{"port", id}
	}
	return clonePort(p), nil
}

// Ports lists the ports keep selects, in creation order.
func (w *World) Ports(keep func(*Port) bool) []Port {
	w.mu.RLock()
	defer w.mu.RUnlock()
	list := w.ports.list(keep)
	out := make([]Port, len(list))
	for i, p := range list {
		out[i] = clonePort(p)
	}
	return out
}

// PortsOfDevice returns the ports of a server (or any device) quickly.
func (w *World) PortsOfDevice(deviceID string) []Port {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []Port
	for _, id := range w.portsByDevice[deviceID] {
		if p, ok := w.ports.get(id); ok {
			out = append(out, clonePort(p))
		}
	}
	return out
}

func clonePort(p *Port) Port {
	c := *p
	c.FixedIPs = append([]FixedIP(nil), p.FixedIPs...)
	c.SecurityGroups = append([]string(nil), p.SecurityGroups...)
	c.Tags = append([]string(nil), p.Tags...)
	return c
}

// PortUpdate is a change to a port; nil fields stay.
type PortUpdate struct {
	Name           *string
	Description    *string
	DeviceID       *string
	DeviceOwner    *string
	SecurityGroups *[]string
	AdminStateUp   *bool
}

// UpdatePort changes a port.
func (w *World) UpdatePort(id string, u PortUpdate) (Port, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.ports.get(id)
	if !ok {
		return Port{}, &ErrNotFound{"port", id}
	}
	if u.Name != nil {
		p.Name = *u.Name
	}
	if u.Description != nil {
		p.Description = *u.Description
	}
	if u.DeviceOwner != nil {
		p.DeviceOwner = *u.DeviceOwner
	}
	if u.SecurityGroups != nil {
		p.SecurityGroups = append([]string(nil), (*u.SecurityGroups)...)
	}
	if u.AdminStateUp != nil {
		p.AdminStateUp = *u.AdminStateUp
	}
	if u.DeviceID != nil && *u.DeviceID != p.DeviceID {
		w.unindexDevice(p)
		p.DeviceID = *u.DeviceID
		if p.DeviceID != "" {
			w.portsByDevice[p.DeviceID] = append(w.portsByDevice[p.DeviceID], p.ID)
			p.Status = "ACTIVE"
		} else {
			p.Status = "DOWN"
		}
	}
	p.UpdatedAt = w.now().UTC()
	w.changed("port", p.ID)
	return clonePort(p), nil
}

func (w *World) unindexDevice(p *Port) {
	ids := w.portsByDevice[p.DeviceID]
	for i, id := range ids {
		if id == p.ID {
			w.portsByDevice[p.DeviceID] = append(ids[:i:i], ids[i+1:]...)
			break
		}
	}
	if len(w.portsByDevice[p.DeviceID]) == 0 {
		delete(w.portsByDevice, p.DeviceID)
	}
}

// DeletePort removes a port, its addresses and its NSX logical port.
func (w *World) DeletePort(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.deletePort(id)
}

func (w *World) deletePort(id string) error {
	p, ok := w.ports.get(id)
	if !ok {
		return &ErrNotFound{"port", id}
	}
	for _, fip := range p.FixedIPs {
		w.releaseIP(fip.SubnetID, fip.IPAddress)
	}
	if p.DeviceID != "" {
		w.unindexDevice(p)
	}
	for _, f := range w.floatingIPs.list(func(f *FloatingIP) bool { return f.PortID == id }) {
		f.PortID, f.FixedIPAddress, f.Status = "", "", "DOWN"
	}
	w.deleteLogicalPort(id)
	w.ports.del(id)
	w.changed("port", id)
	return nil
}

// CreateFloatingIP allocates an address of an external network, associated
// with a port when PortID is set.
func (w *World) CreateFloatingIP(f FloatingIP) (FloatingIP, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, ok := w.networks.get(f.FloatingNetworkID)
	if !ok {
		return FloatingIP{}, &ErrNotFound{"network", f.FloatingNetworkID}
	}
	if !n.External {
		return FloatingIP{}, &ErrBadRequest{fmt.Sprintf("Bad floatingip request: Network %s is not a valid external network.", n.ID)}
	}
	if len(n.SubnetIDs) == 0 {
		return FloatingIP{}, &ErrBadRequest{fmt.Sprintf("Bad floatingip request: Network %s has no subnet.", n.ID)}
	}
	ip, err := w.allocateIP(n.SubnetIDs[0])
	if err != nil {
		return FloatingIP{}, err
	}
	f.ID, f.FloatingIPAddress, f.Status = NewID(), ip, "DOWN"
	f.CreatedAt, f.UpdatedAt = w.now().UTC(), w.now().UTC()
	if err := w.associate(&f, f.PortID, f.FixedIPAddress); err != nil {
		w.releaseIP(n.SubnetIDs[0], ip)
		return FloatingIP{}, err
	}
	w.floatingIPs.put(f.ID, w.nextSeq(), &f)
	w.changed("floatingip", f.ID)
	return f, nil
}

func (w *World) associate(f *FloatingIP, portID, fixed string) error {
	if portID == "" {
		f.PortID, f.FixedIPAddress, f.Status = "", "", "DOWN"
		return nil
	}
	p, ok := w.ports.get(portID)
	if !ok {
		return &ErrNotFound{"port", portID}
	}
	if fixed == "" && len(p.FixedIPs) > 0 {
		fixed = p.FixedIPs[0].IPAddress
	}
	f.PortID, f.FixedIPAddress, f.Status = portID, fixed, "ACTIVE"
	return nil
}

// UpdateFloatingIP associates a floating IP with a port, or none.
func (w *World) UpdateFloatingIP(id, portID, fixed string) (FloatingIP, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, ok := w.floatingIPs.get(id)
	if !ok {
		return FloatingIP{}, &ErrNotFound{"floatingip", id}
	}
	if err := w.associate(f, portID, fixed); err != nil {
		return FloatingIP{}, err
	}
	f.UpdatedAt = w.now().UTC()
	w.changed("floatingip", id)
	return *f, nil
}

// FloatingIPs lists the floating IPs keep selects.
func (w *World) FloatingIPs(keep func(*FloatingIP) bool) []FloatingIP {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return values(w.floatingIPs.list(keep))
}

// FloatingIP returns a floating IP by id.
func (w *World) FloatingIP(id string) (FloatingIP, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	f, ok := w.floatingIPs.get(id)
	if !ok {
		return FloatingIP{}, &ErrNotFound{"floatingip", id}
	}
	return *f, nil
}

// DeleteFloatingIP releases a floating IP.
func (w *World) DeleteFloatingIP(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, ok := w.floatingIPs.get(id)
	if !ok {
		return &ErrNotFound{"floatingip", id}
	}
	if n, ok := w.networks.get(f.FloatingNetworkID); ok && len(n.SubnetIDs) > 0 {
		w.releaseIP(n.SubnetIDs[0], f.FloatingIPAddress)
	}
	w.floatingIPs.del(id)
	w.changed("floatingip", id)
	return nil
}

// CreateRouter adds a router.
func (w *World) CreateRouter(r Router) Router {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.ID == "" {
		r.ID = NewID()
	}
	r.Status, r.AdminStateUp = "ACTIVE", true
	r.CreatedAt, r.UpdatedAt = w.now().UTC(), w.now().UTC()
	w.routers.put(r.ID, w.nextSeq(), &r)
	w.changed("router", r.ID)
	return r
}

// Routers lists the routers keep selects.
func (w *World) Routers(keep func(*Router) bool) []Router {
	w.mu.RLock()
	defer w.mu.RUnlock()
	list := w.routers.list(keep)
	out := make([]Router, len(list))
	for i, r := range list {
		out[i] = *r
		out[i].InterfaceSubnets = append([]string(nil), r.InterfaceSubnets...)
	}
	return out
}

// Router returns a router by id.
func (w *World) Router(id string) (Router, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	r, ok := w.routers.get(id)
	if !ok {
		return Router{}, &ErrNotFound{"router", id}
	}
	return *r, nil
}

// CreateSecurityGroup adds a security group with Neutron's two default
// egress rules.
func (w *World) CreateSecurityGroup(g SecurityGroup) SecurityGroup {
	w.mu.Lock()
	defer w.mu.Unlock()
	if g.ID == "" {
		g.ID = NewID()
	}
	g.CreatedAt, g.UpdatedAt = w.now().UTC(), w.now().UTC()
	w.secGroups.put(g.ID, w.nextSeq(), &g)
	for _, et := range []string{"IPv4", "IPv6"} {
		r := SecurityGroupRule{ID: NewID(), SecurityGroupID: g.ID, ProjectID: g.ProjectID, Direction: "egress", EtherType: et}
		w.secGroupRules.put(r.ID, w.nextSeq(), &r)
	}
	w.changed("security-group", g.ID)
	return g
}

// SecurityGroups lists the security groups keep selects.
func (w *World) SecurityGroups(keep func(*SecurityGroup) bool) []SecurityGroup {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return values(w.secGroups.list(keep))
}

// SecurityGroup returns a security group by id.
func (w *World) SecurityGroup(id string) (SecurityGroup, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	g, ok := w.secGroups.get(id)
	if !ok {
		return SecurityGroup{}, &ErrNotFound{"security_group", id}
	}
	return *g, nil
}

// DeleteSecurityGroup removes a security group and its rules.
func (w *World) DeleteSecurityGroup(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.secGroups.get(id); !ok {
		return &ErrNotFound{"security_group", id}
	}
	for _, p := range w.ports.list(nil) {
		for _, sg := range p.SecurityGroups {
			if sg == id {
				return &ErrConflict{fmt.Sprintf("Security Group %s in use.", id)}
			}
		}
	}
	for _, r := range w.secGroupRules.list(func(r *SecurityGroupRule) bool { return r.SecurityGroupID == id }) {
		w.secGroupRules.del(r.ID)
	}
	w.secGroups.del(id)
	w.changed("security-group", id)
	return nil
}

// CreateSecurityGroupRule adds a rule to a group.
func (w *World) CreateSecurityGroupRule(r SecurityGroupRule) (SecurityGroupRule, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	g, ok := w.secGroups.get(r.SecurityGroupID)
	if !ok {
		return SecurityGroupRule{}, &ErrNotFound{"security_group", r.SecurityGroupID}
	}
	if r.ID == "" {
		r.ID = NewID()
	}
	if r.ProjectID == "" {
		r.ProjectID = g.ProjectID
	}
	w.secGroupRules.put(r.ID, w.nextSeq(), &r)
	w.changed("security-group-rule", r.ID)
	return r, nil
}

// SecurityGroupRules lists the rules keep selects.
func (w *World) SecurityGroupRules(keep func(*SecurityGroupRule) bool) []SecurityGroupRule {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return values(w.secGroupRules.list(keep))
}

// DeleteSecurityGroupRule removes a rule.
func (w *World) DeleteSecurityGroupRule(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.secGroupRules.get(id); !ok {
		return &ErrNotFound{"security_group_rule", id}
	}
	w.secGroupRules.del(id)
	w.changed("security-group-rule", id)
	return nil
}

// values dereferences a list of pointers into copies.
func values[T any](list []*T) []T {
	out := make([]T, len(list))
	for i, v := range list {
		out[i] = *v
	}
	return out
}
