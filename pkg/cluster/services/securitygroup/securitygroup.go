// Package securitygroup reconciles the cluster's security group and its
// ingress rules; rules it did not ask for are removed, Neutron's default
// egress rules are kept.
package securitygroup

import (
	"context"
	"fmt"
	"sync"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"

	"github.com/epks/epks/pkg/cluster/scope"
)

// Rule is an IPv4 ingress rule.
type Rule struct {
	Protocol       string // tcp, udp, icmp
	PortMin        int
	PortMax        int
	RemoteIPPrefix string
	Description    string
}

func (r Rule) key() string {
	return fmt.Sprintf("%s/%d-%d/%s", r.Protocol, r.PortMin, r.PortMax, r.RemoteIPPrefix)
}

// Spec is the security group.
type Spec struct {
	Name  string
	Rules []Rule
}

type createGroup struct {
	groups.CreateOpts
	tags []string
}

func (o createGroup) ToSecGroupCreateMap() (map[string]any, error) {
	b, err := o.CreateOpts.ToSecGroupCreateMap()
	return scope.WithTags(b, "security_group", o.tags), err
}

// List returns the project's groups named name, with their rules.
func List(ctx context.Context, s *scope.Scope, name string) ([]groups.SecGroup, error) {
	pages, err := groups.List(s.Network, groups.ListOpts{Name: name, ProjectID: s.ProjectID}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing security groups named %s: %w", name, err)
	}
	return groups.ExtractGroups(pages)
}

// Reconcile makes the group exist with exactly spec's ingress rules, given
// the group found by its name (nil: none). ready gets the group's ID as
// soon as it exists (empty when planned), before the rules are made, so
// that ports can use the group meanwhile.
func Reconcile(ctx context.Context, s *scope.Scope, spec Spec, g *groups.SecGroup, ready func(id string)) (string, error) {
	var err error
	var existing []rules.SecGroupRule
	if g == nil {
		if s.DryRun {
			s.Record(scope.Action{Kind: "security-group", Name: spec.Name, Verb: scope.Create})
			for _, r := range spec.Rules {
				s.Record(scope.Action{Kind: "rule", Name: spec.Name + ":" + r.key(), Verb: scope.Create, Detail: r.Description})
			}
			ready("")
			return "", nil
		}
		g, err = groups.Create(ctx, s.Network, createGroup{groups.CreateOpts{Name: spec.Name, Description: s.Description()}, []string{s.Tag()}}).Extract()
		if err != nil {
			return "", fmt.Errorf("creating security group %s: %w", spec.Name, err)
		}
		s.Record(scope.Action{Kind: "security-group", Name: spec.Name, Verb: scope.Create, ID: g.ID})
	} else {
		s.Record(scope.Action{Kind: "security-group", Name: spec.Name, Verb: scope.Unchanged, ID: g.ID})
	}
	ready(g.ID)
	existing = g.Rules
	have := map[string]rules.SecGroupRule{}
	for _, r := range existing {
		if r.Direction != string(rules.DirIngress) {
			continue
		}
		have[Rule{Protocol: r.Protocol, PortMin: r.PortRangeMin, PortMax: r.PortRangeMax, RemoteIPPrefix: r.RemoteIPPrefix}.key()] = r
	}
	want := map[string]bool{}
	// The rules are independent of each other: made and removed at once.
	var mu sync.Mutex
	var wg sync.WaitGroup
	var problems scope.Problems
	do := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				mu.Lock()
				problems.Add(err)
				mu.Unlock()
			}
		}()
	}
	for _, r := range spec.Rules {
		k := r.key()
		want[k] = true
		name := spec.Name + ":" + k
		if cur, ok := have[k]; ok {
			s.Record(scope.Action{Kind: "rule", Name: name, Verb: scope.Unchanged, ID: cur.ID})
			continue
		}
		if s.DryRun {
			s.Record(scope.Action{Kind: "rule", Name: name, Verb: scope.Create, Detail: r.Description})
			continue
		}
		do(func() error {
			made, err := rules.Create(ctx, s.Network, rules.CreateOpts{
				SecGroupID: g.ID, Direction: rules.DirIngress, EtherType: rules.EtherType4,
				Protocol: rules.RuleProtocol(r.Protocol), PortRangeMin: r.PortMin, PortRangeMax: r.PortMax,
				RemoteIPPrefix: r.RemoteIPPrefix, Description: r.Description,
			}).Extract()
			if err != nil {
				return fmt.Errorf("adding rule %s to security group %s: %w", k, spec.Name, err)
			}
			s.Record(scope.Action{Kind: "rule", Name: name, Verb: scope.Create, ID: made.ID, Detail: r.Description})
			return nil
		})
	}
	for k, r := range have {
		if want[k] {
			continue
		}
		do(func() error {
			if !s.DryRun {
				if err := rules.Delete(ctx, s.Network, r.ID).ExtractErr(); err != nil && !scope.NotFound(err) {
					return fmt.Errorf("removing rule %s from security group %s: %w", k, spec.Name, err)
				}
			}
			s.Record(scope.Action{Kind: "rule", Name: spec.Name + ":" + k, Verb: scope.Delete, ID: r.ID, Detail: "not asked for"})
			return nil
		})
	}
	wg.Wait()
	return g.ID, problems.Err()
}

// Delete deletes a group with its rules.
func Delete(ctx context.Context, s *scope.Scope, g groups.SecGroup) error {
	if !s.DryRun {
		if err := groups.Delete(ctx, s.Network, g.ID).ExtractErr(); err != nil && !scope.NotFound(err) {
			return fmt.Errorf("deleting security group %s: %w", g.Name, err)
		}
	}
	s.Record(scope.Action{Kind: "security-group", Name: g.Name, Verb: scope.Delete, ID: g.ID})
	return nil
}
