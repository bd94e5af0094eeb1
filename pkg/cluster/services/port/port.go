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

// Find returns the port named name, or nil.
func Find(ctx context.Context, s *scope.Scope, name string) (*ports.Port, error) {
	pages, err := ports.List(s.Network, ports.ListOpts{Name: name, ProjectID: s.ProjectID}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing ports named %s: %w", name, err)
	}
	list, err := ports.ExtractPorts(pages)
	if err != nil {
		return nil, err
	}
	return scope.One(list, "port", name)
}

// Reconcile makes the port exist with its fixed IP.
func Reconcile(ctx context.Context, s *scope.Scope, spec Spec) (Status, error) {
	p, err := Find(ctx, s, spec.Name)
	if err != nil {
		return Status{}, err
	}
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

// Delete deletes the port named name.
func Delete(ctx context.Context, s *scope.Scope, name string) (deletedID string, err error) {
	p, err := Find(ctx, s, name)
	if err != nil || p == nil {
		return "", err
	}
	if !s.DryRun {
		if err := ports.Delete(ctx, s.Network, p.ID).ExtractErr(); err != nil && !scope.NotFound(err) {
			return "", fmt.Errorf("deleting port %s: %w", name, err)
		}
	}
	s.Record(scope.Action{Kind: "port", Name: name, Verb: scope.Delete, ID: p.ID})
	return p.ID, nil
}
