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

// List returns the project's routers of these names, in one request.
func List(ctx context.Context, s *scope.Scope, names []string) ([]routers.Router, error) {
	pages, err := routers.List(s.Network, scope.Query{}.Add("project_id", s.ProjectID).Add("name", names...)).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing routers: %w", err)
	}
	return routers.ExtractRouters(pages)
}

// Interfaces maps the subnets a router has an interface on to the
// interface's port, from listed ports.
func Interfaces(routerID string, listed []ports.Port) map[string]string {
	out := map[string]string{}
	for _, p := range listed {
		if p.DeviceID != routerID || p.DeviceOwner != "network:router_interface" {
			continue
		}
		for _, ip := range p.FixedIPs {
			out[ip.SubnetID] = p.ID
		}
	}
	return out
}

// Reconcile makes the router exist with its gateway and interfaces, given
// the router found by its name (nil: none) and its interfaces (subnet →
// port, see Interfaces).
func Reconcile(ctx context.Context, s *scope.Scope, spec Spec, r *routers.Router, have map[string]string) (string, error) {
	var err error
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

// Delete removes the router's interfaces (subnet → port, see Interfaces)
// and the router.
func Delete(ctx context.Context, s *scope.Scope, r routers.Router, have map[string]string) error {
	name := r.Name
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
