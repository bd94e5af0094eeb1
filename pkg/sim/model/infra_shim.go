package model

import "fmt"

// What epks cluster create needs of Neutron routers that the model did not
// have: update, delete, interfaces. (Minimal; the viosim branch brings the
// full routers.)

// RouterUpdate is a change to a router; nil fields stay.
type RouterUpdate struct {
	Name             *string
	GatewayNetworkID *string
	EnableSNAT       *bool
}

// UpdateRouter changes a router.
func (w *World) UpdateRouter(id string, u RouterUpdate) (Router, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.routers.get(id)
	if !ok {
		return Router{}, &ErrNotFound{"router", id}
	}
	if u.Name != nil {
		r.Name = *u.Name
	}
	if u.GatewayNetworkID != nil {
		if *u.GatewayNetworkID != "" {
			n, ok := w.networks.get(*u.GatewayNetworkID)
			if !ok || !n.External {
				return Router{}, &ErrBadRequest{fmt.Sprintf("Bad router request: network %s is not an external network.", *u.GatewayNetworkID)}
			}
		}
		r.GatewayNetworkID = *u.GatewayNetworkID
	}
	if u.EnableSNAT != nil {
		r.EnableSNAT = *u.EnableSNAT
	}
	r.UpdatedAt = w.now().UTC()
	w.changed("router", r.ID)
	return *r, nil
}

// DeleteRouter deletes a router without interfaces.
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
	w.routers.del(id)
	w.changed("router", id)
	return nil
}

// AddRouterInterface gives a router a port on a subnet at the subnet's
// gateway address; it returns the port.
func (w *World) AddRouterInterface(routerID, subnetID string) (Port, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.routers.get(routerID)
	if !ok {
		return Port{}, &ErrNotFound{"router", routerID}
	}
	sub, ok := w.subnets.get(subnetID)
	if !ok {
		return Port{}, &ErrNotFound{"subnet", subnetID}
	}
	for _, s := range r.InterfaceSubnets {
		if s == subnetID {
			return Port{}, &ErrBadRequest{fmt.Sprintf("Bad router request: Router already has a port on subnet %s.", subnetID)}
		}
	}
	// The gateway address is reserved for the router's port.
	if used := w.allocatedIPs[subnetID]; used != nil {
		delete(used, sub.GatewayIP)
	}
	p, err := w.createPort(Port{NetworkID: sub.NetworkID, DeviceID: routerID, DeviceOwner: "network:router_interface",
		ProjectID: r.ProjectID, FixedIPs: []FixedIP{{SubnetID: subnetID, IPAddress: sub.GatewayIP}}})
	if err != nil {
		if used := w.allocatedIPs[subnetID]; used != nil {
			used[sub.GatewayIP] = true
		}
		return Port{}, err
	}
	r.InterfaceSubnets = append(r.InterfaceSubnets, subnetID)
	w.changed("router", r.ID)
	return p, nil
}

// RemoveRouterInterface deletes the router's port on a subnet.
func (w *World) RemoveRouterInterface(routerID, subnetID string) (Port, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.routers.get(routerID)
	if !ok {
		return Port{}, &ErrNotFound{"router", routerID}
	}
	for _, pid := range append([]string(nil), w.portsByDevice[routerID]...) {
		p, ok := w.ports.get(pid)
		if !ok || p.DeviceOwner != "network:router_interface" || len(p.FixedIPs) == 0 || p.FixedIPs[0].SubnetID != subnetID {
			continue
		}
		out := clonePort(p)
		if err := w.deletePort(pid); err != nil {
			return Port{}, err
		}
		if used := w.allocatedIPs[subnetID]; used != nil {
			used[out.FixedIPs[0].IPAddress] = true // the gateway stays reserved
		}
		var keep []string
		for _, s := range r.InterfaceSubnets {
			if s != subnetID {
				keep = append(keep, s)
			}
		}
		r.InterfaceSubnets = keep
		w.changed("router", r.ID)
		return out, nil
	}
	return Port{}, &ErrNotFound{"router interface on subnet", subnetID}
}
