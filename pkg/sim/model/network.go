package model

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"strings"
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
	Description  string
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
	// AllocationPools are the ranges ports take addresses from; by
	// default the whole CIDR but the network, gateway and broadcast
	// addresses.
	AllocationPools []IPRange
	Description     string
	Tags            []string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// IPRange is an inclusive range of addresses of a subnet.
type IPRange struct {
	Start string
	End   string
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
	Tags              []string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// SecurityGroup is a Neutron security group.
type SecurityGroup struct {
	ID          string
	Name        string
	Description string
	ProjectID   string
	Tags        []string
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
	} else if s.GatewayIP != NoGateway {
		gw, err := netip.ParseAddr(s.GatewayIP)
		if err != nil || !pfx.Contains(gw) {
			return Subnet{}, &ErrBadRequest{fmt.Sprintf("Invalid input for operation: Gateway IP %s is not in subnet %s.", s.GatewayIP, s.CIDR)}
		}
	}
	if s.GatewayIP == NoGateway {
		s.GatewayIP = ""
	}
	if s.ProjectID == "" {
		s.ProjectID = n.ProjectID
	}
	for _, other := range n.SubnetIDs {
		if o, ok := w.subnets.get(other); ok && netip.MustParsePrefix(o.CIDR).Overlaps(pfx) {
			return Subnet{}, &ErrBadRequest{fmt.Sprintf("Invalid input for operation: Requested subnet with cidr: %s for network: %s overlaps with another subnet.", s.CIDR, n.ID)}
		}
	}
	custom := len(s.AllocationPools) > 0
	if custom {
		if err := checkPools(pfx, s.GatewayIP, s.AllocationPools); err != nil {
			return Subnet{}, err
		}
	} else {
		s.AllocationPools = defaultPool(pfx, s.GatewayIP)
	}
	s.CreatedAt, s.UpdatedAt = w.now().UTC(), w.now().UTC()
	w.subnets.put(s.ID, w.nextSeq(), &s)
	n.SubnetIDs = append(n.SubnetIDs, s.ID)
	w.allocatedIPs[s.ID] = map[string]bool{}
	if s.GatewayIP != "" {
		w.allocatedIPs[s.ID][s.GatewayIP] = true
	}
	w.defaultPools[s.ID] = !custom
	w.changed("subnet", s.ID)
	return s, nil
}

// NoGateway, as a new subnet's GatewayIP, makes a subnet without gateway
// (Neutron's "gateway_ip": null).
const NoGateway = "none"

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

// allocateIP takes the next free address of a subnet: from .10 up in a
// subnet with Neutron's default pool, from the start of its pools otherwise.
func (w *World) allocateIP(subnetID string) (string, error) {
	s, ok := w.subnets.get(subnetID)
	if !ok {
		return "", &ErrNotFound{"subnet", subnetID}
	}
	used := w.allocatedIPs[subnetID]
	if !w.defaultPools[subnetID] {
		for _, r := range s.AllocationPools {
			start, err1 := netip.ParseAddr(r.Start)
			end, err2 := netip.ParseAddr(r.End)
			if err1 != nil || err2 != nil {
				continue
			}
			for a := start; a.IsValid() && a.Compare(end) <= 0; a = a.Next() {
				if !used[a.String()] {
					used[a.String()] = true
					return a.String(), nil
				}
			}
		}
		return "", &ErrConflict{fmt.Sprintf("No more IP addresses available on network %s.", s.NetworkID)}
	}
	pfx := netip.MustParsePrefix(s.CIDR)
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

// defaultPool is Neutron's pool of a CIDR: every address but the
// network's, the broadcast and the gateway (which splits the range).
func defaultPool(pfx netip.Prefix, gateway string) []IPRange {
	first := pfx.Addr().Next()
	last := lastAddr(pfx)
	if pfx.Addr().Is4() && pfx.Bits() < 31 {
		last = last.Prev()
	}
	gw, err := netip.ParseAddr(gateway)
	if err != nil || !pfx.Contains(gw) {
		return []IPRange{{first.String(), last.String()}}
	}
	var out []IPRange
	if gw.Compare(first) > 0 {
		out = append(out, IPRange{first.String(), gw.Prev().String()})
	}
	if gw.Compare(last) < 0 {
		out = append(out, IPRange{gw.Next().String(), last.String()})
	}
	return out
}

// lastAddr is the highest address of a prefix.
func lastAddr(pfx netip.Prefix) netip.Addr {
	b := pfx.Masked().Addr().AsSlice()
	for i := pfx.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// checkPools validates allocation pools against a subnet's CIDR and gateway.
func checkPools(pfx netip.Prefix, gateway string, pools []IPRange) error {
	for _, r := range pools {
		start, err1 := netip.ParseAddr(r.Start)
		end, err2 := netip.ParseAddr(r.End)
		if err1 != nil || err2 != nil || start.Compare(end) > 0 {
			return &ErrBadRequest{fmt.Sprintf("Invalid input for allocation_pools. Reason: The allocation pool %s-%s is not a valid range.", r.Start, r.End)}
		}
		if !pfx.Contains(start) || !pfx.Contains(end) {
			return &ErrBadRequest{fmt.Sprintf("The allocation pool %s-%s spans beyond the subnet cidr %s.", r.Start, r.End, pfx)}
		}
		if gw, err := netip.ParseAddr(gateway); err == nil && start.Compare(gw) <= 0 && end.Compare(gw) >= 0 {
			return &ErrConflict{fmt.Sprintf("Gateway ip %s conflicts with allocation pool %s-%s.", gateway, r.Start, r.End)}
		}
	}
	return nil
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
	if p.SecurityGroups == nil && !strings.HasPrefix(p.DeviceOwner, "network:") && p.ProjectID != "" {
		p.SecurityGroups = []string{w.ensureDefaultSG(p.ProjectID)}
	}
	for _, sg := range p.SecurityGroups {
		if _, ok := w.secGroups.get(sg); !ok {
			return Port{}, &ErrNotFound{"security_group", sg}
		}
	}
	for i, fip := range p.FixedIPs {
		if fip.SubnetID == "" {
			return Port{}, &ErrBadRequest{"Invalid input for fixed_ips: a subnet_id is required"}
		}
		sub, ok := w.subnets.get(fip.SubnetID)
		if !ok || sub.NetworkID != n.ID {
			return Port{}, &ErrBadRequest{fmt.Sprintf("Invalid input for operation: Failed to create port on network %s, because fixed_ips included invalid subnet %s.", n.ID, fip.SubnetID)}
		}
		if fip.IPAddress != "" {
			a, err := netip.ParseAddr(fip.IPAddress)
			if err != nil || !netip.MustParsePrefix(sub.CIDR).Contains(a) {
				return Port{}, &ErrBadRequest{fmt.Sprintf("Invalid input for operation: IP address %s is not a valid IP for the specified subnet.", fip.IPAddress)}
			}
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
	// A router interface is the segment's gateway on its Tier-1 router in
	// NSX's Policy API (VIO's NSX plugin), not a segment port.
	if p.DeviceOwner != OwnerRouterInterface {
		w.createLogicalPort(&p, n)
	}
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
	if p, ok := w.ports.get(id); ok && (p.DeviceOwner == OwnerRouterInterface || p.DeviceOwner == OwnerRouterGateway) {
		return &ErrConflict{fmt.Sprintf("Port %s cannot be deleted directly via the port API: has device owner %s.", id, p.DeviceOwner)}
	}
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
		f.PortID, f.FixedIPAddress, f.Status, f.RouterID = "", "", "DOWN", ""
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
		f.PortID, f.FixedIPAddress, f.Status, f.RouterID = "", "", "DOWN", ""
		return nil
	}
	p, ok := w.ports.get(portID)
	if !ok {
		return &ErrNotFound{"port", portID}
	}
	if fixed == "" && len(p.FixedIPs) > 0 {
		fixed = p.FixedIPs[0].IPAddress
	}
	if fixed == "" {
		return &ErrBadRequest{fmt.Sprintf("Bad floatingip request: Port %s does not have any IP addresses on it.", portID)}
	}
	found := false
	for _, ip := range p.FixedIPs {
		found = found || ip.IPAddress == fixed
	}
	if !found {
		return &ErrBadRequest{fmt.Sprintf("Bad floatingip request: Port %s does not have fixed ip %s.", portID, fixed)}
	}
	for _, other := range w.floatingIPs.list(func(o *FloatingIP) bool {
		return o.ID != f.ID && o.PortID == portID && o.FixedIPAddress == fixed && o.FloatingNetworkID == f.FloatingNetworkID
	}) {
		return &ErrConflict{fmt.Sprintf("Cannot associate floating IP %s (%s) with port %s using fixed IP %s, as that fixed IP already has a floating IP on external network %s.",
			f.FloatingIPAddress, f.ID, portID, fixed, other.FloatingNetworkID)}
	}
	routerID, err := w.routerFor(p, f.FloatingNetworkID)
	if err != nil {
		return err
	}
	f.PortID, f.FixedIPAddress, f.Status, f.RouterID = portID, fixed, "ACTIVE", routerID
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
	g, ok := w.secGroups.get(id)
	if !ok {
		return &ErrNotFound{"security_group", id}
	}
	if w.defaultSGs[g.ProjectID] == id {
		return &ErrConflict{"Insufficient rights for removing default security group."}
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
	for _, other := range w.secGroupRules.list(func(o *SecurityGroupRule) bool { return o.SecurityGroupID == r.SecurityGroupID }) {
		if sameRule(other, &r) {
			return SecurityGroupRule{}, &ErrRuleExists{RuleID: other.ID}
		}
	}
	if err := w.checkNetworkQuota(r.ProjectID, "security_group_rule"); err != nil {
		return SecurityGroupRule{}, err
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
