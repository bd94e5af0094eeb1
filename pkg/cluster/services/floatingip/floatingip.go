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

func list(ctx context.Context, s *scope.Scope, opts floatingips.ListOpts) ([]floatingips.FloatingIP, error) {
	opts.ProjectID = s.ProjectID
	pages, err := floatingips.List(s.Network, opts).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing floating IPs: %w", err)
	}
	return floatingips.ExtractFloatingIPs(pages)
}

// Reconcile makes the port have a floating IP; it returns the address.
func Reconcile(ctx context.Context, s *scope.Scope, spec Spec) (string, error) {
	if spec.PortID != "" {
		have, err := list(ctx, s, floatingips.ListOpts{PortID: spec.PortID})
		if err != nil {
			return "", err
		}
		if len(have) > 0 {
			s.Record(scope.Action{Kind: "floating-ip", Name: spec.Name, Verb: scope.Unchanged, ID: have[0].ID, Detail: have[0].FloatingIP})
			return have[0].FloatingIP, nil
		}
	}
	// One made by a run that stopped before associating it.
	loose, err := list(ctx, s, floatingips.ListOpts{Description: spec.description(s)})
	if err != nil {
		return "", err
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

// DeleteOf deletes the floating IPs of a port and the ones described as
// node's.
func DeleteOf(ctx context.Context, s *scope.Scope, node, portID string) error {
	var all []floatingips.FloatingIP
	if portID != "" {
		l, err := list(ctx, s, floatingips.ListOpts{PortID: portID})
		if err != nil {
			return err
		}
		all = append(all, l...)
	}
	l, err := list(ctx, s, floatingips.ListOpts{Description: Spec{Name: node}.description(s)})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, f := range append(all, l...) {
		if seen[f.ID] {
			continue
		}
		seen[f.ID] = true
		if err := Delete(ctx, s, node, f); err != nil {
			return err
		}
	}
	return nil
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
	return list(ctx, s, floatingips.ListOpts{PortID: portID})
}
