// Package router reconciles one Neutron router: its gateway to the external
// network, SNAT, and its interfaces on the cluster's subnets.
package router

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"github.com/epks/epks/pkg/cluster/scope"
)

// Spec is a router.
type Spec struct {
	Name string
	// ExternalNetworkID is the gateway's network.
	ExternalNetworkID string
	SNAT              bool
	// Subnets are the subnets it has an interface on, by name (for the
	// output) and ID (empty when planned).
	Subnets []Subnet
}

// Subnet is an interface's subnet.
type Subnet struct{ Name, ID string }

type createRouter struct {
	routers.CreateOpts
	tags []string
}

func (o createRouter) ToRouterCreateMap() (map[string]any, error) {
	b, err := o.CreateOpts.ToRouterCreateMap()
	return scope.WithTags(b, "router", o.tags), err
}

// Find returns the router named name, or nil.
func Find(ctx context.Context, s *scope.Scope, name string) (*routers.Router, error) {
	pages, err := routers.List(s.Network, routers.ListOpts{Name: name, ProjectID: s.ProjectID}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing routers named %s: %w", name, err)
	}
	list, err := routers.ExtractRouters(pages)
	if err != nil {
		return nil, err
	}
	return scope.One(list, "router", name)
}

// Reconcile makes the router exist with its gateway and interfaces.
func Reconcile(ctx context.Context, s *scope.Scope, spec Spec) (string, error) {
	r, err := Find(ctx, s, spec.Name)
	if err != nil {
		return "", err
	}
	snat := spec.SNAT
	gw := routers.GatewayInfo{NetworkID: spec.ExternalNetworkID, EnableSNAT: &snat}
	detail := fmt.Sprintf("gateway, SNAT %v", spec.SNAT)
	if r == nil {
		if s.DryRun {
			s.Record(scope.Action{Kind: "router", Name: spec.Name, Verb: scope.Create, Detail: detail})
			for _, sub := range spec.Subnets {
				s.Record(scope.Action{Kind: "router-interface", Name: spec.Name + ":" + sub.Name, Verb: scope.Create})
			}
			return "", nil
		}
		up := true
		r, err = routers.Create(ctx, s.Network, createRouter{routers.CreateOpts{
			Name: spec.Name, Description: s.Description(), AdminStateUp: &up, GatewayInfo: &gw,
		}, []string{s.Tag()}}).Extract()
		if err != nil {
			return "", fmt.Errorf("creating router %s: %w", spec.Name, err)
		}
		s.Record(scope.Action{Kind: "router", Name: spec.Name, Verb: scope.Create, ID: r.ID, Detail: detail})
	} else if cur := r.GatewayInfo; cur.NetworkID != spec.ExternalNetworkID || cur.EnableSNAT == nil || *cur.EnableSNAT != spec.SNAT {
		if !s.DryRun {
			if _, err := routers.Update(ctx, s.Network, r.ID, routers.UpdateOpts{GatewayInfo: &gw}).Extract(); err != nil {
				return "", fmt.Errorf("setting the gateway of router %s: %w", spec.Name, err)
			}
		}
		s.Record(scope.Action{Kind: "router", Name: spec.Name, Verb: scope.Update, ID: r.ID, Detail: detail})
	} else {
		s.Record(scope.Action{Kind: "router", Name: spec.Name, Verb: scope.Unchanged, ID: r.ID, Detail: detail})
	}
	have, err := interfaces(ctx, s, r.ID)
	if err != nil {
		return "", err
	}
	for _, sub := range spec.Subnets {
		name := spec.Name + ":" + sub.Name
		if sub.ID != "" && have[sub.ID] != "" {
			s.Record(scope.Action{Kind: "router-interface", Name: name, Verb: scope.Unchanged, ID: have[sub.ID]})
			continue
		}
		if s.DryRun {
			s.Record(scope.Action{Kind: "router-interface", Name: name, Verb: scope.Create})
			continue
		}
		res, err := routers.AddInterface(ctx, s.Network, r.ID, routers.AddInterfaceOpts{SubnetID: sub.ID}).Extract()
		if err != nil {
			return "", fmt.Errorf("adding subnet %s to router %s: %w", sub.Name, spec.Name, err)
		}
		s.Record(scope.Action{Kind: "router-interface", Name: name, Verb: scope.Create, ID: res.PortID})
	}
	return r.ID, nil
}

// interfaces maps the subnets the router has an interface on to the
// interface's port.
func interfaces(ctx context.Context, s *scope.Scope, routerID string) (map[string]string, error) {
	pages, err := ports.List(s.Network, ports.ListOpts{DeviceID: routerID, DeviceOwner: "network:router_interface"}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the interfaces of router %s: %w", routerID, err)
	}
	list, err := ports.ExtractPorts(pages)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range list {
		for _, ip := range p.FixedIPs {
			out[ip.SubnetID] = p.ID
		}
	}
	return out, nil
}

// Delete removes the router's interfaces and the router.
func Delete(ctx context.Context, s *scope.Scope, name string) error {
	r, err := Find(ctx, s, name)
	if err != nil || r == nil {
		return err
	}
	have, err := interfaces(ctx, s, r.ID)
	if err != nil {
		return err
	}
	for subnetID, portID := range have {
		if !s.DryRun {
			_, err := routers.RemoveInterface(ctx, s.Network, r.ID, routers.RemoveInterfaceOpts{SubnetID: subnetID}).Extract()
			if err != nil && !scope.NotFound(err) {
				return fmt.Errorf("removing subnet %s from router %s: %w", subnetID, name, err)
			}
		}
		s.Record(scope.Action{Kind: "router-interface", Name: name + ":" + subnetID, Verb: scope.Delete, ID: portID})
	}
	if !s.DryRun {
		if err := routers.Delete(ctx, s.Network, r.ID).ExtractErr(); err != nil && !scope.NotFound(err) {
			return fmt.Errorf("deleting router %s: %w", name, err)
		}
	}
	s.Record(scope.Action{Kind: "router", Name: name, Verb: scope.Delete, ID: r.ID})
	return nil
}
