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

// Find returns the server group named name, or nil.
func Find(ctx context.Context, s *scope.Scope, name string) (*servergroups.ServerGroup, error) {
	pages, err := servergroups.List(s.Compute, nil).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing server groups: %w", err)
	}
	all, err := servergroups.ExtractServerGroups(pages)
	if err != nil {
		return nil, err
	}
	var named []servergroups.ServerGroup
	for _, g := range all {
		if g.Name == name {
			named = append(named, g)
		}
	}
	return scope.One(named, "server group", name)
}

// Reconcile makes the group exist and returns its ID (empty when planned).
func Reconcile(ctx context.Context, s *scope.Scope, name string) (string, error) {
	g, err := Find(ctx, s, name)
	if err != nil {
		return "", err
	}
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

// Delete deletes the group named name.
func Delete(ctx context.Context, s *scope.Scope, name string) error {
	g, err := Find(ctx, s, name)
	if err != nil || g == nil {
		return err
	}
	if !s.DryRun {
		if err := servergroups.Delete(ctx, s.Compute, g.ID).ExtractErr(); err != nil && !scope.NotFound(err) {
			return fmt.Errorf("deleting server group %s: %w", name, err)
		}
	}
	s.Record(scope.Action{Kind: "server-group", Name: name, Verb: scope.Delete, ID: g.ID})
	return nil
}
