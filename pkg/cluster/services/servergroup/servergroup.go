// Package servergroup reconciles the control plane's anti-affinity server
// group.
package servergroup

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servergroups"

	"github.com/epks/epks/pkg/cluster/scope"
)

// Policy keeps the control-plane nodes on different hosts.
const Policy = "anti-affinity"

// List returns the project's server groups.
func List(ctx context.Context, s *scope.Scope) ([]servergroups.ServerGroup, error) {
	pages, err := servergroups.List(s.Compute, nil).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing server groups: %w", err)
	}
	return servergroups.ExtractServerGroups(pages)
}

// Named returns the group named name among listed, or nil.
func Named(listed []servergroups.ServerGroup, name string) (*servergroups.ServerGroup, error) {
	var named []servergroups.ServerGroup
	for _, g := range listed {
		if g.Name == name {
			named = append(named, g)
		}
	}
	return scope.One(named, "server group", name)
}

// Reconcile makes the group exist, given the group found by its name
// (nil: none), and returns its ID (empty when planned).
func Reconcile(ctx context.Context, s *scope.Scope, name string, g *servergroups.ServerGroup) (string, error) {
	var err error
	if g != nil {
		s.Record(scope.Action{Kind: "server-group", Name: name, Verb: scope.Unchanged, ID: g.ID, Detail: Policy})
		return g.ID, nil
	}
	if s.DryRun {
		s.Record(scope.Action{Kind: "server-group", Name: name, Verb: scope.Create, Detail: Policy})
		return "", nil
	}
	g, err = servergroups.Create(ctx, s.Compute, servergroups.CreateOpts{Name: name, Policies: []string{Policy}}).Extract()
	if err != nil {
		return "", fmt.Errorf("creating server group %s: %w", name, err)
	}
	s.Record(scope.Action{Kind: "server-group", Name: name, Verb: scope.Create, ID: g.ID, Detail: Policy})
	return g.ID, nil
}

// Delete deletes a group.
func Delete(ctx context.Context, s *scope.Scope, g servergroups.ServerGroup) error {
	if !s.DryRun {
		if err := servergroups.Delete(ctx, s.Compute, g.ID).ExtractErr(); err != nil && !scope.NotFound(err) {
			return fmt.Errorf("deleting server group %s: %w", g.Name, err)
		}
	}
	s.Record(scope.Action{Kind: "server-group", Name: g.Name, Verb: scope.Delete, ID: g.ID})
	return nil
}
