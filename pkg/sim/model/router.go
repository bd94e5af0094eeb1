package model

import (
	"fmt"
	"time"
)

// Router is a Neutron router: a gateway on an external network (with or
// without SNAT) and interfaces, each a port on a subnet holding the
// subnet's gateway address.
type Router struct {
	ID               string
	Name             string
	Description      string
	ProjectID        string
	Status           string
	GatewayNetworkID string
	EnableSNAT       bool
	// ExternalFixedIPs are the gateway's addresses on the external network.
	ExternalFixedIPs []FixedIP
	// InterfaceSubnets are the subnets the router has an interface on.
	InterfaceSubnets []string
	AdminStateUp     bool
	Tags             []string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Device owners of the ports Neutron makes for routers.
const (
	OwnerRouterInterface = "network:router_interface"
	OwnerRouterGateway   = "network:router_gateway"
	OwnerFloatingIP      = "network:floatingip"
)

func cloneRouter(r *Router) Router {
	c := *r
	c.InterfaceSubnets = append([]string(nil), r.InterfaceSubnets...)
	c.ExternalFixedIPs = append([]FixedIP(nil), r.ExternalFixedIPs...)
	c.Tags = append([]string(nil), r.Tags...)
	return c
}

// CreateRouter adds a router, with its gateway when GatewayNetworkID is set
// and an interface on each of InterfaceSubnets.
func (w *World) CreateRouter(r Router) (Router, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.ID == "" {
		r.ID = NewID()
	}
	r.Status, r.AdminStateUp = "ACTIVE", true
	r.CreatedAt, r.UpdatedAt = w.now().UTC(), w.now().UTC()
	subnets := r.InterfaceSubnets
	r.InterfaceSubnets, r.ExternalFixedIPs = nil, nil
	gw := r.GatewayNetworkID
	r.GatewayNetworkID = ""
	if gw != "" {
		if err := w.setGateway(&r, gw, r.EnableSNAT); err != nil {
			return Router{}, err
		}
	}
	w.routers.put(r.ID, w.nextSeq(), &r)
	for _, s := range subnets {
		if _, err := w.addInterface(&r, s, ""); err != nil {
			return Router{}, err
		}
	}
	w.changed("router", r.ID)
	return cloneRouter(&r), nil
}

// setGateway sets (or, with an empty network, clears) a router's gateway,
// with an address of the external network's first subnet.
func (w *World) setGateway(r *Router, networkID string, snat bool) error {
	if networkID == r.GatewayNetworkID {
		r.EnableSNAT = snat && networkID != ""
		return nil
	}
	if networkID != "" {
		n, ok := w.networks.get(networkID)
		if !ok {
			return &ErrNotFound{"network", networkID}
		}
		if !n.External {
			return &ErrBadRequest{fmt.Sprintf("Bad router request: Network %s is not an external network.", networkID)}
		}
	}
	if r.GatewayNetworkID != "" {
		for _, f := range w.floatingIPs.list(func(f *FloatingIP) bool { return f.RouterID == r.ID }) {
			return &ErrConflict{fmt.Sprintf("Gateway cannot be updated for router %s, since a gateway to external network %s is required by one or more floating IPs (%s).", r.ID, r.GatewayNetworkID, f.ID)}
		}
		for _, f := range r.ExternalFixedIPs {
			w.releaseIP(f.SubnetID, f.IPAddress)
		}
	}
	r.GatewayNetworkID, r.EnableSNAT, r.ExternalFixedIPs = networkID, snat && networkID != "", nil
	if networkID == "" {
		return nil
	}
	n, _ := w.networks.get(networkID)
	if len(n.SubnetIDs) == 0 {
		return &ErrBadRequest{fmt.Sprintf("Bad router request: No subnets defined on network %s.", networkID)}
	}
	ip, err := w.allocateIP(n.SubnetIDs[0])
	if err != nil {
		return err
	}
	r.ExternalFixedIPs = []FixedIP{{SubnetID: n.SubnetIDs[0], IPAddress: ip}}
	return nil
}

// Router returns a router by id.
func (w *World) Router(id string) (Router, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	r, ok := w.routers.get(id)
	if !ok {
		return Router{}, &ErrNotFound{"router", id}
	}
	return cloneRouter(r), nil
}

// Routers lists the routers keep selects.
func (w *World) Routers(keep func(*Router) bool) []Router {
	w.mu.RLock()
	defer w.mu.RUnlock()
	list := w.routers.list(keep)
	out := make([]Router, len(list))
	for i, r := range list {
		out[i] = cloneRouter(r)
	}
	return out
}

// RouterUpdate is a change to a router; nil fields stay. A Gateway whose
// NetworkID is empty removes the gateway.
type RouterUpdate struct {
	Name         *string
	Description  *string
	AdminStateUp *bool
	Gateway      *RouterGateway
}

// RouterGateway is a router's external gateway.
type RouterGateway struct {
	NetworkID  string
	EnableSNAT *bool
}

// UpdateRouter changes a router.
func (w *World) UpdateRouter(id string, u RouterUpdate) (Router, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.routers.get(id)
	if !ok {
		return Router{}, &ErrNotFound{"router", id}
	}
	c := cloneRouter(r)
	if u.Gateway != nil {
		snat := true // Neutron's default when a gateway is set
		if u.Gateway.EnableSNAT != nil {
			snat = *u.Gateway.EnableSNAT
		} else if u.Gateway.NetworkID == c.GatewayNetworkID {
			snat = c.EnableSNAT
		}
		if err := w.setGateway(&c, u.Gateway.NetworkID, snat); err != nil {
			return Router{}, err
		}
	}
	if u.Name != nil {
		c.Name = *u.Name
	}
	if u.Description != nil {
		c.Description = *u.Description
	}
	if u.AdminStateUp != nil {
		c.AdminStateUp = *u.AdminStateUp
	}
	c.UpdatedAt = w.now().UTC()
	*r = c
	w.changed("router", id)
	return cloneRouter(r), nil
}

// DeleteRouter removes a router without interfaces, and its gateway.
func (w *World) DeleteRouter(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.routers.get(id)
	if !ok {
		return &ErrNotFound{"router", id}
	}
	if len(r.InterfaceSubnets) > 0 {
		return &ErrConflict{fmt.Sprintf("Router %s still has ports", id)}
	}
	if err := w.setGateway(r, "", false); err != nil {
		return err
	}
	w.routers.del(id)
	w.changed("router", id)
	return nil
}

// RouterInterface is what adding or removing an interface answers.
type RouterInterface struct {
	RouterID  string
	SubnetID  string
	PortID    string
	NetworkID string
	ProjectID string
}

// AddRouterInterface connects a router to a subnet, by a new port holding
// the subnet's gateway address (subnetID) or by an existing port (portID).
func (w *World) AddRouterInterface(routerID, subnetID, portID string) (RouterInterface, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.routers.get(routerID)
	if !ok {
		return RouterInterface{}, &ErrNotFound{"router", routerID}
	}
	if (subnetID == "") == (portID == "") {
		return RouterInterface{}, &ErrBadRequest{"Bad router request: Must specify either subnet_id or port_id."}
	}
	ri, err := w.addInterface(r, subnetID, portID)
	if err != nil {
		return RouterInterface{}, err
	}
	r.UpdatedAt = w.now().UTC()
	w.changed("router", routerID)
	return ri, nil
}

func (w *World) addInterface(r *Router, subnetID, portID string) (RouterInterface, error) {
	var port *Port
	if portID != "" {
		p, ok := w.ports.get(portID)
		if !ok {
			return RouterInterface{}, &ErrNotFound{"port", portID}
		}
		if p.DeviceID != "" {
			return RouterInterface{}, &ErrConflict{fmt.Sprintf("Port %s has owner %s and therefore cannot be deleted directly via the port API.", portID, p.DeviceID)}
		}
		if len(p.FixedIPs) != 1 {
			return RouterInterface{}, &ErrBadRequest{fmt.Sprintf("Bad router request: Router port must have exactly one fixed IP.")}
		}
		subnetID = p.FixedIPs[0].SubnetID
		port = p
	}
	s, ok := w.subnets.get(subnetID)
	if !ok {
		return RouterInterface{}, &ErrNotFound{"subnet", subnetID}
	}
	for _, other := range r.InterfaceSubnets {
		if other == subnetID {
			return RouterInterface{}, &ErrBadRequest{fmt.Sprintf("Bad router request: Router already has a port on subnet %s.", subnetID)}
		}
	}
	for _, other := range w.routers.list(nil) {
		if other.ID == r.ID {
			continue
		}
		for _, sid := range other.InterfaceSubnets {
			if sid == subnetID && portID == "" {
				return RouterInterface{}, &ErrBadRequest{fmt.Sprintf("Bad router request: Router %s already has a port on subnet %s; its gateway address %s is in use.", other.ID, subnetID, s.GatewayIP)}
			}
		}
	}
	if port == nil {
		if s.GatewayIP == "" {
			return RouterInterface{}, &ErrBadRequest{fmt.Sprintf("Bad router request: Subnet for router interface must have a gateway IP.")}
		}
		// The gateway address is reserved at subnet creation; the port takes it.
		w.releaseIP(s.ID, s.GatewayIP)
		p, err := w.createPort(Port{NetworkID: s.NetworkID, ProjectID: r.ProjectID, DeviceID: r.ID, DeviceOwner: OwnerRouterInterface,
			FixedIPs: []FixedIP{{SubnetID: s.ID, IPAddress: s.GatewayIP}}, SecurityGroups: []string{}})
		if err != nil {
			w.allocatedIPs[s.ID][s.GatewayIP] = true
			return RouterInterface{}, err
		}
		port, _ = w.ports.get(p.ID)
	} else {
		port.DeviceID, port.DeviceOwner, port.Status = r.ID, OwnerRouterInterface, "ACTIVE"
		w.portsByDevice[r.ID] = append(w.portsByDevice[r.ID], port.ID)
		w.changed("port", port.ID)
	}
	r.InterfaceSubnets = append(r.InterfaceSubnets, s.ID)
	return RouterInterface{RouterID: r.ID, SubnetID: s.ID, PortID: port.ID, NetworkID: s.NetworkID, ProjectID: r.ProjectID}, nil
}

// RemoveRouterInterface disconnects a router from a subnet (or the subnet
// of a port) and deletes the interface's port.
func (w *World) RemoveRouterInterface(routerID, subnetID, portID string) (RouterInterface, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.routers.get(routerID)
	if !ok {
		return RouterInterface{}, &ErrNotFound{"router", routerID}
	}
	if subnetID == "" && portID == "" {
		return RouterInterface{}, &ErrBadRequest{"Bad router request: Must specify either subnet_id or port_id."}
	}
	var port *Port
	for _, id := range w.portsByDevice[r.ID] {
		p, ok := w.ports.get(id)
		if !ok || p.DeviceOwner != OwnerRouterInterface {
			continue
		}
		if (portID != "" && p.ID == portID) || (portID == "" && len(p.FixedIPs) > 0 && p.FixedIPs[0].SubnetID == subnetID) {
			port = p
			break
		}
	}
	if port == nil {
		if portID != "" {
			return RouterInterface{}, &ErrNotFound{"router interface", fmt.Sprintf("of router %s with port %s", routerID, portID)}
		}
		return RouterInterface{}, &ErrNotFound{"router interface", fmt.Sprintf("of router %s on subnet %s", routerID, subnetID)}
	}
	sid := port.FixedIPs[0].SubnetID
	for _, f := range w.floatingIPs.list(func(f *FloatingIP) bool { return f.RouterID == r.ID && f.PortID != "" }) {
		if p, ok := w.ports.get(f.PortID); ok && onSubnet(p, sid) {
			return RouterInterface{}, &ErrConflict{fmt.Sprintf("Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more floating IPs.", sid, r.ID)}
		}
	}
	ri := RouterInterface{RouterID: r.ID, SubnetID: sid, PortID: port.ID, NetworkID: port.NetworkID, ProjectID: r.ProjectID}
	gateway := ""
	if s, ok := w.subnets.get(sid); ok && port.FixedIPs[0].IPAddress == s.GatewayIP {
		gateway = s.GatewayIP
	}
	if err := w.deletePort(port.ID); err != nil {
		return RouterInterface{}, err
	}
	if gateway != "" {
		w.allocatedIPs[sid][gateway] = true
	}
	for i, s := range r.InterfaceSubnets {
		if s == sid {
			r.InterfaceSubnets = append(r.InterfaceSubnets[:i:i], r.InterfaceSubnets[i+1:]...)
			break
		}
	}
	r.UpdatedAt = w.now().UTC()
	w.changed("router", r.ID)
	return ri, nil
}

func onSubnet(p *Port, subnetID string) bool {
	for _, f := range p.FixedIPs {
		if f.SubnetID == subnetID {
			return true
		}
	}
	return false
}

// routerFor finds the router that connects a port's subnets to an external
// network, as Neutron does to associate a floating IP.
func (w *World) routerFor(p *Port, externalNetworkID string) (string, error) {
	for _, r := range w.routers.list(func(r *Router) bool { return r.GatewayNetworkID == externalNetworkID }) {
		for _, sid := range r.InterfaceSubnets {
			if onSubnet(p, sid) {
				return r.ID, nil
			}
		}
	}
	subnet := ""
	if len(p.FixedIPs) > 0 {
		subnet = p.FixedIPs[0].SubnetID
	}
	return "", &ErrExternalGatewayNotFound{ExternalNetworkID: externalNetworkID, SubnetID: subnet, PortID: p.ID}
}

// ErrExternalGatewayNotFound is Neutron's answer (404) to a floating IP on
// a port whose subnet has no router to the floating IP's network.
type ErrExternalGatewayNotFound struct{ ExternalNetworkID, SubnetID, PortID string }

func (e *ErrExternalGatewayNotFound) Error() string {
	return fmt.Sprintf("External network %s is not reachable from subnet %s.  Therefore, cannot associate Port %s with a Floating IP.", e.ExternalNetworkID, e.SubnetID, e.PortID)
}
