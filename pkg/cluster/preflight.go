package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/limits"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/quotas"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"

	"github.com/epks/epks/pkg/cluster/scope"
)

// PreflightError lists every reason the cluster cannot be created, found
// before anything was.
type PreflightError struct{ Problems []string }

func (e *PreflightError) Error() string {
	return "the cloud cannot take this cluster, nothing was created:\n  " + strings.Join(e.Problems, "\n  ")
}

// Resolved are the IDs of what the parameters name by name.
type Resolved struct {
	ImageID, FlavorID, ExternalNetworkID string
	VCPUs, RAM                           int
}

// Preflight checks that the image, flavor, external network and key pair
// exist and that the quotas leave room for what plan would create (the
// actions of a dry run). The external network is looked up by the caller
// (FindExternalNetwork: its ID, or the error to report). Every problem is
// reported at once; the look-ups run concurrently.
func Preflight(ctx context.Context, s *scope.Scope, spec *Spec, plan []scope.Action, externalNetworkID string, externalNetworkErr error) (Resolved, error) {
	r := Resolved{ExternalNetworkID: externalNetworkID}
	var mu sync.Mutex
	var problems []string
	bad := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	if externalNetworkErr != nil {
		bad("public_network: %v", externalNetworkErr)
	}
	var wg sync.WaitGroup
	do := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	do(func() {
		var err error
		if r.ImageID, err = findImage(ctx, s, spec.Image); err != nil {
			bad("image: %v", err)
		}
	})
	do(func() {
		if err := findFlavor(ctx, s, spec.Flavor, &r); err != nil {
			bad("flavor: %v", err)
		}
	})
	do(func() {
		if err := keypairs.Get(ctx, s.Compute, spec.KeyName, nil).Err; err != nil {
			if scope.NotFound(err) {
				bad("key_name: no key pair %q in Nova (openstack keypair create --public-key ~/.ssh/id_rsa.pub %s)", spec.KeyName, spec.KeyName)
			} else {
				bad("key_name: looking up key pair %q: %v", spec.KeyName, err)
			}
		}
	})
	var compute, network *quotaReading
	do(func() { compute = readComputeLimits(ctx, s) })
	do(func() { network = readNetworkQuotas(ctx, s) })
	wg.Wait()
	need := map[string]int{}
	for _, a := range plan {
		if a.Verb == scope.Create {
			need[a.Kind]++
		}
	}
	// Router interfaces are ports of the project too.
	need["port"] += need["router-interface"]
	problems = append(problems, checkQuotas(compute, network, need, r)...)
	sort.Strings(problems)
	if len(problems) > 0 {
		return r, &PreflightError{Problems: problems}
	}
	return r, nil
}

func findImage(ctx context.Context, s *scope.Scope, name string) (string, error) {
	pages, err := images.List(s.Image, images.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return "", fmt.Errorf("listing images named %q: %w", name, err)
	}
	list, err := images.ExtractImages(pages)
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		if img, err := images.Get(ctx, s.Image, name).Extract(); err == nil {
			list = append(list, *img)
		}
	}
	switch {
	case len(list) == 0:
		return "", fmt.Errorf("no image %q in Glance", name)
	case len(list) > 1:
		return "", fmt.Errorf("%d images are named %q: give its ID", len(list), name)
	case list[0].Status != images.ImageStatusActive:
		return "", fmt.Errorf("image %q is %s, not active", name, list[0].Status)
	}
	return list[0].ID, nil
}

func findFlavor(ctx context.Context, s *scope.Scope, name string, r *Resolved) error {
	pages, err := flavors.ListDetail(s.Compute, flavors.ListOpts{AccessType: flavors.AllAccess}).AllPages(ctx)
	if err != nil {
		return fmt.Errorf("listing flavors: %w", err)
	}
	list, err := flavors.ExtractFlavors(pages)
	if err != nil {
		return err
	}
	var names []string
	for _, f := range list {
		if f.Name == name || f.ID == name {
			r.FlavorID, r.VCPUs, r.RAM = f.ID, f.VCPUs, f.RAM
			return nil
		}
		names = append(names, f.Name)
	}
	return fmt.Errorf("no flavor %q in Nova (there are: %s)", name, strings.Join(names, ", "))
}

// FindExternalNetwork returns the ID of the external network named (or
// with the ID) name.
func FindExternalNetwork(ctx context.Context, s *scope.Scope, name string) (string, error) {
	type extNet struct {
		networks.Network
		external.NetworkExternalExt
	}
	var found []extNet
	for _, opts := range []networks.ListOpts{{Name: name}, {ID: name}} {
		pages, err := networks.List(s.Network, opts).AllPages(ctx)
		if err != nil {
			return "", fmt.Errorf("listing networks: %w", err)
		}
		var list []extNet
		if err := networks.ExtractNetworksInto(pages, &list); err != nil {
			return "", err
		}
		found = append(found, list...)
		if len(found) > 0 {
			break
		}
	}
	switch {
	case len(found) == 0:
		return "", fmt.Errorf("no network %q in Neutron", name)
	case len(found) > 1:
		return "", fmt.Errorf("%d networks are named %q: give its ID", len(found), name)
	case !found[0].External:
		return "", fmt.Errorf("network %q is not external (router:external is false): routers cannot use it as their gateway", name)
	}
	return found[0].ID, nil
}

// quotaReading is one service's limits, or the error reading them.
type quotaReading struct {
	nova    *limits.Absolute
	neutron *quotas.QuotaDetailSet
	err     error
}

func readComputeLimits(ctx context.Context, s *scope.Scope) *quotaReading {
	l, err := limits.Get(ctx, s.Compute, nil).Extract()
	if err != nil {
		return &quotaReading{err: fmt.Errorf("reading Nova's limits: %w", err)}
	}
	return &quotaReading{nova: &l.Absolute}
}

func readNetworkQuotas(ctx context.Context, s *scope.Scope) *quotaReading {
	q, err := quotas.GetDetail(ctx, s.Network, s.ProjectID).Extract()
	if err != nil {
		return &quotaReading{err: fmt.Errorf("reading Neutron's quotas: %w", err)}
	}
	return &quotaReading{neutron: q}
}

// checkQuotas compares Nova's limits and Neutron's quota details with what
// the run would create.
func checkQuotas(compute, network *quotaReading, need map[string]int, r Resolved) []string {
	var problems []string
	room := func(what string, limit, used, want int) {
		if limit >= 0 && want > 0 && used+want > limit {
			problems = append(problems, fmt.Sprintf("quota: %s: the cluster needs %d more, the project uses %d of %d", what, want, used, limit))
		}
	}
	servers := need["server"]
	if compute.err != nil {
		problems = append(problems, "quota: "+compute.err.Error())
	} else {
		a := compute.nova
		room("instances", a.MaxTotalInstances, a.TotalInstancesUsed, servers)
		room("cores", a.MaxTotalCores, a.TotalCoresUsed, servers*r.VCPUs)
		room("RAM (MiB)", a.MaxTotalRAMSize, a.TotalRAMUsed, servers*r.RAM)
		room("server groups", a.MaxServerGroups, a.TotalServerGroupsUsed, need["server-group"])
	}
	if network.err != nil {
		return append(problems, "quota: "+network.err.Error())
	}
	q := network.neutron
	for _, c := range []struct {
		what string
		d    quotas.QuotaDetail
		want int
	}{
		{"networks", q.Network, need["network"]},
		{"subnets", q.Subnet, need["subnet"]},
		{"routers", q.Router, need["router"]},
		{"ports", q.Port, need["port"]},
		{"floating IPs", q.FloatingIP, need["floating-ip"]},
		{"security groups", q.SecurityGroup, need["security-group"]},
		{"security group rules", q.SecurityGroupRule, need["rule"]},
	} {
		room(c.what, c.d.Limit, c.d.Used+c.d.Reserved, c.want)
	}
	return problems
}
