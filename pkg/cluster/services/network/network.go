// Package network reconciles one Neutron network and its subnet.
package network

import (
	"context"
	"fmt"
	"slices"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"github.com/epks/epks/pkg/cluster/scope"
)

// Spec is a network with one IPv4 subnet.
type Spec struct {
	Name       string
	SubnetName string
	CIDR       string
	// Nameservers of the subnet.
	Nameservers []string
}

// Status is what exists: empty IDs in a plan mean "would be created".
type Status struct {
	NetworkID, SubnetID string
}

type createNetwork struct {
	networks.CreateOpts
	tags []string
}

func (o createNetwork) ToNetworkCreateMap() (map[string]any, error) {
	b, err := o.CreateOpts.ToNetworkCreateMap()
	return scope.WithTags(b, "network", o.tags), err
}

type createSubnet struct {
	subnets.CreateOpts
	tags []string
}

func (o createSubnet) ToSubnetCreateMap() (map[string]any, error) {
	b, err := o.CreateOpts.ToSubnetCreateMap()
	return scope.WithTags(b, "subnet", o.tags), err
}

// List returns the project's networks of these names, in one request.
func List(ctx context.Context, s *scope.Scope, names []string) ([]networks.Network, error) {
	pages, err := networks.List(s.Network, scope.Query{}.Add("project_id", s.ProjectID).Add("name", names...)).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing networks: %w", err)
	}
	return networks.ExtractNetworks(pages)
}

// ListSubnets returns the project's subnets of these names, in one request.
func ListSubnets(ctx context.Context, s *scope.Scope, names []string) ([]subnets.Subnet, error) {
	pages, err := subnets.List(s.Network, scope.Query{}.Add("project_id", s.ProjectID).Add("name", names...)).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing subnets: %w", err)
	}
	return subnets.ExtractSubnets(pages)
}

// Reconcile makes the network and its subnet exist as spec says, given
// the network found by its name (nil: none) and the subnets listed.
func Reconcile(ctx context.Context, s *scope.Scope, spec Spec, n *networks.Network, listed []subnets.Subnet) (Status, error) {
	var st Status
	var err error
	if n == nil {
		if s.DryRun {
			s.Record(scope.Action{Kind: "network", Name: spec.Name, Verb: scope.Create})
			s.Record(scope.Action{Kind: "subnet", Name: spec.SubnetName, Verb: scope.Create, Detail: spec.CIDR})
			return st, nil
		}
		up := true
		n, err = networks.Create(ctx, s.Network, createNetwork{networks.CreateOpts{
			Name: spec.Name, Description: s.Description(), AdminStateUp: &up,
		}, []string{s.Tag()}}).Extract()
		if err != nil {
			return st, fmt.Errorf("creating network %s: %w", spec.Name, err)
		}
		s.Record(scope.Action{Kind: "network", Name: spec.Name, Verb: scope.Create, ID: n.ID})
	} else {
		s.Record(scope.Action{Kind: "network", Name: spec.Name, Verb: scope.Unchanged, ID: n.ID})
	}
	st.NetworkID = n.ID
	var mine []subnets.Subnet
	for _, sub := range listed {
		if sub.NetworkID == n.ID && sub.Name == spec.SubnetName {
			mine = append(mine, sub)
		}
	}
	sub, err := scope.One(mine, "subnet", spec.SubnetName)
	if err != nil {
		return st, err
	}
	st.SubnetID, err = reconcileSubnet(ctx, s, spec, n.ID, sub)
	return st, err
}

func reconcileSubnet(ctx context.Context, s *scope.Scope, spec Spec, networkID string, sub *subnets.Subnet) (string, error) {
	var err error
	if sub == nil {
		if s.DryRun {
			s.Record(scope.Action{Kind: "subnet", Name: spec.SubnetName, Verb: scope.Create, Detail: spec.CIDR})
			return "", nil
		}
		dhcp := true
		sub, err = subnets.Create(ctx, s.Network, createSubnet{subnets.CreateOpts{
			NetworkID: networkID, Name: spec.SubnetName, Description: s.Description(), CIDR: spec.CIDR,
			IPVersion: 4, EnableDHCP: &dhcp, DNSNameservers: spec.Nameservers,
		}, []string{s.Tag()}}).Extract()
		if err != nil {
			return "", fmt.Errorf("creating subnet %s (%s): %w", spec.SubnetName, spec.CIDR, err)
		}
		s.Record(scope.Action{Kind: "subnet", Name: spec.SubnetName, Verb: scope.Create, ID: sub.ID, Detail: spec.CIDR})
		return sub.ID, nil
	}
	if sub.CIDR != spec.CIDR {
		return "", fmt.Errorf("subnet %s is %s, the parameters say %s: Neutron cannot change a subnet's CIDR; delete the cluster or fix the parameters", spec.SubnetName, sub.CIDR, spec.CIDR)
	}
	want := spec.Nameservers
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(sub.DNSNameservers, want) && !(len(sub.DNSNameservers) == 0 && len(want) == 0) {
		detail := fmt.Sprintf("nameservers %v → %v", sub.DNSNameservers, want)
		if !s.DryRun {
			if _, err := subnets.Update(ctx, s.Network, sub.ID, subnets.UpdateOpts{DNSNameservers: &want}).Extract(); err != nil {
				return "", fmt.Errorf("updating subnet %s: %w", spec.SubnetName, err)
			}
		}
		s.Record(scope.Action{Kind: "subnet", Name: spec.SubnetName, Verb: scope.Update, ID: sub.ID, Detail: detail})
		return sub.ID, nil
	}
	s.Record(scope.Action{Kind: "subnet", Name: spec.SubnetName, Verb: scope.Unchanged, ID: sub.ID, Detail: sub.CIDR})
	return sub.ID, nil
}

// Delete deletes a network with its subnets; a network that is gone
// already is fine.
func Delete(ctx context.Context, s *scope.Scope, n networks.Network) error {
	if !s.DryRun {
		if err := networks.Delete(ctx, s.Network, n.ID).ExtractErr(); err != nil && !scope.NotFound(err) {
			return fmt.Errorf("deleting network %s: %w", n.Name, err)
		}
	}
	s.Record(scope.Action{Kind: "network", Name: n.Name, Verb: scope.Delete, ID: n.ID})
	return nil
}
