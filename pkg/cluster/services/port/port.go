// Package port reconciles a node's Neutron port with its fixed IP.
package port

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"github.com/epks/epks/pkg/cluster/scope"
)

// Spec is a port with one fixed IP.
type Spec struct {
	Name           string
	NetworkID      string // empty when planned
	SubnetID       string // empty when planned
	FixedIP        string
	SecurityGroups []string
}

// Status is the port: empty in a plan when it would be created.
type Status struct {
	ID, MAC string
	// DeviceID is the server the port is attached to, if any.
	DeviceID string
}

type createPort struct {
	ports.CreateOpts
	tags []string
}

func (o createPort) ToPortCreateMap() (map[string]any, error) {
	b, err := o.CreateOpts.ToPortCreateMap()
	return scope.WithTags(b, "port", o.tags), err
}

// ListOnNetworks returns the project's ports on these networks (the
// routers' interfaces among them), in one request; none without networks.
func ListOnNetworks(ctx context.Context, s *scope.Scope, networkIDs []string) ([]ports.Port, error) {
	if len(networkIDs) == 0 {
		return nil, nil
	}
	pages, err := ports.List(s.Network, scope.Query{}.Add("project_id", s.ProjectID).Add("network_id", networkIDs...)).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the ports of the cluster's networks: %w", err)
	}
	return ports.ExtractPorts(pages)
}

// Reconcile makes the port exist with its fixed IP, given the port found
// by its name (nil: none).
func Reconcile(ctx context.Context, s *scope.Scope, spec Spec, p *ports.Port) (Status, error) {
	var err error
	if p != nil {
		for _, ip := range p.FixedIPs {
			if ip.IPAddress != spec.FixedIP {
				return Status{}, fmt.Errorf("port %s has %s, the parameters say %s: delete the cluster or fix the parameters", spec.Name, ip.IPAddress, spec.FixedIP)
			}
		}
		s.Record(scope.Action{Kind: "port", Name: spec.Name, Verb: scope.Unchanged, ID: p.ID, Detail: spec.FixedIP})
		return Status{ID: p.ID, MAC: p.MACAddress, DeviceID: p.DeviceID}, nil
	}
	if s.DryRun {
		s.Record(scope.Action{Kind: "port", Name: spec.Name, Verb: scope.Create, Detail: spec.FixedIP})
		return Status{}, nil
	}
	up := true
	sgs := spec.SecurityGroups
	p, err = ports.Create(ctx, s.Network, createPort{ports.CreateOpts{
		Name: spec.Name, Description: s.Description(), NetworkID: spec.NetworkID, AdminStateUp: &up,
		FixedIPs:       []ports.IP{{SubnetID: spec.SubnetID, IPAddress: spec.FixedIP}},
		SecurityGroups: &sgs,
	}, []string{s.Tag()}}).Extract()
	if err != nil {
		return Status{}, fmt.Errorf("creating port %s (%s): %w", spec.Name, spec.FixedIP, err)
	}
	s.Record(scope.Action{Kind: "port", Name: spec.Name, Verb: scope.Create, ID: p.ID, Detail: spec.FixedIP})
	return Status{ID: p.ID, MAC: p.MACAddress}, nil
}

// Delete deletes a port.
func Delete(ctx context.Context, s *scope.Scope, p ports.Port) error {
	if !s.DryRun {
		if err := ports.Delete(ctx, s.Network, p.ID).ExtractErr(); err != nil && !scope.NotFound(err) {
			return fmt.Errorf("deleting port %s: %w", p.Name, err)
		}
	}
	s.Record(scope.Action{Kind: "port", Name: p.Name, Verb: scope.Delete, ID: p.ID})
	return nil
}
