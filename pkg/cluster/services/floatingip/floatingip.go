// Package floatingip reconciles a node's floating IP: one per port, found
// by the port it is associated with, or, after a run that stopped between
// creating and associating it, by its description.
package floatingip

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"

	"github.com/epks/epks/pkg/cluster/scope"
)

// Spec is a floating IP for a port.
type Spec struct {
	// Name is the node's; the floating IP's description says it.
	Name              string
	ExternalNetworkID string
	PortID            string // empty when planned
}

func (spec Spec) description(s *scope.Scope) string { return spec.Description(s.Cluster) }

// Description is the description of the node's floating IP in cluster.
func (spec Spec) Description(cluster string) string {
	return "epks cluster " + cluster + " node " + spec.Name
}

type createFIP struct {
	floatingips.CreateOpts
	tags []string
}

func (o createFIP) ToFloatingIPCreateMap() (map[string]any, error) {
	b, err := o.CreateOpts.ToFloatingIPCreateMap()
	return scope.WithTags(b, "floatingip", o.tags), err
}

// List returns the project's floating IPs on the external network (all of
// the project's when externalNetworkID is empty), in one request.
func List(ctx context.Context, s *scope.Scope, externalNetworkID string) ([]floatingips.FloatingIP, error) {
	q := scope.Query{}.Add("project_id", s.ProjectID)
	if externalNetworkID != "" {
		q.Add("floating_network_id", externalNetworkID)
	}
	pages, err := floatingips.List(s.Network, q).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing floating IPs: %w", err)
	}
	return floatingips.ExtractFloatingIPs(pages)
}

// Node returns the floating IPs of a node among listed: those on its port
// (when the port exists), and those described as the node's, which a run
// that stopped before associating one left.
func (spec Spec) Node(cluster string, listed []floatingips.FloatingIP) (onPort, loose []floatingips.FloatingIP) {
	for _, f := range listed {
		switch {
		case spec.PortID != "" && f.PortID == spec.PortID:
			onPort = append(onPort, f)
		case f.Description == spec.Description(cluster):
			loose = append(loose, f)
		}
	}
	return onPort, loose
}

// Reconcile makes the port have a floating IP, given the floating IPs
// listed; it returns the address.
func Reconcile(ctx context.Context, s *scope.Scope, spec Spec, listed []floatingips.FloatingIP) (string, error) {
	have, loose := spec.Node(s.Cluster, listed)
	if len(have) > 0 {
		s.Record(scope.Action{Kind: "floating-ip", Name: spec.Name, Verb: scope.Unchanged, ID: have[0].ID, Detail: have[0].FloatingIP})
		return have[0].FloatingIP, nil
	}
	if s.DryRun {
		verb, detail := scope.Create, ""
		if len(loose) > 0 {
			verb, detail = scope.Update, "associate "+loose[0].FloatingIP
		}
		s.Record(scope.Action{Kind: "floating-ip", Name: spec.Name, Verb: verb, Detail: detail})
		return "", nil
	}
	if len(loose) > 0 {
		f, err := floatingips.Update(ctx, s.Network, loose[0].ID, floatingips.UpdateOpts{PortID: &spec.PortID}).Extract()
		if err != nil {
			return "", fmt.Errorf("associating floating IP %s with node %s: %w", loose[0].FloatingIP, spec.Name, err)
		}
		s.Record(scope.Action{Kind: "floating-ip", Name: spec.Name, Verb: scope.Update, ID: f.ID, Detail: f.FloatingIP})
		return f.FloatingIP, nil
	}
	f, err := floatingips.Create(ctx, s.Network, createFIP{floatingips.CreateOpts{
		FloatingNetworkID: spec.ExternalNetworkID, PortID: spec.PortID, Description: spec.description(s),
	}, []string{s.Tag()}}).Extract()
	if err != nil {
		return "", fmt.Errorf("creating the floating IP of node %s: %w", spec.Name, err)
	}
	s.Record(scope.Action{Kind: "floating-ip", Name: spec.Name, Verb: scope.Create, ID: f.ID, Detail: f.FloatingIP})
	return f.FloatingIP, nil
}

// Delete deletes one floating IP.
func Delete(ctx context.Context, s *scope.Scope, name string, f floatingips.FloatingIP) error {
	if !s.DryRun {
		if err := floatingips.Delete(ctx, s.Network, f.ID).ExtractErr(); err != nil && !scope.NotFound(err) {
			return fmt.Errorf("deleting floating IP %s (%s): %w", f.FloatingIP, name, err)
		}
	}
	s.Record(scope.Action{Kind: "floating-ip", Name: name, Verb: scope.Delete, ID: f.ID, Detail: f.FloatingIP})
	return nil
}

// OfPort returns the floating IPs associated with a port.
func OfPort(ctx context.Context, s *scope.Scope, portID string) ([]floatingips.FloatingIP, error) {
	pages, err := floatingips.List(s.Network, floatingips.ListOpts{PortID: portID, ProjectID: s.ProjectID}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing floating IPs: %w", err)
	}
	return floatingips.ExtractFloatingIPs(pages)
}
