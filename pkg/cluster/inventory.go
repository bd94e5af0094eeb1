package cluster

import (
	"context"
	"regexp"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servergroups"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"github.com/epks/epks/pkg/cluster/scope"
	"github.com/epks/epks/pkg/cluster/services/floatingip"
	"github.com/epks/epks/pkg/cluster/services/network"
	"github.com/epks/epks/pkg/cluster/services/port"
	"github.com/epks/epks/pkg/cluster/services/router"
	"github.com/epks/epks/pkg/cluster/services/securitygroup"
	"github.com/epks/epks/pkg/cluster/services/server"
	"github.com/epks/epks/pkg/cluster/services/servergroup"
)

// inventory is what exists of a cluster, read with one list request per
// kind (the ports: one for all of the cluster's networks) rather than a
// look-up per resource, so that a run costs a handful of reads however
// many nodes the cluster has. Plan, Create and Delete work from it.
type inventory struct {
	networks     []networks.Network
	subnets      []subnets.Subnet
	routers      []routers.Router
	groups       []groups.SecGroup
	serverGroups []servergroups.ServerGroup
	servers      []servers.Server
	floatingIPs  []floatingips.FloatingIP
	// ports are those on the cluster's networks, the routers' interfaces
	// among them.
	ports []ports.Port
}

// purpose says what an inventory is read for: a build reads the subnets
// and, with a control-plane group, the server groups; a delete reads the
// server groups (a cluster shrunk to one control-plane node may still have
// its group) and not the subnets (a network goes with its subnets).
type purpose int

const (
	forBuild purpose = iota
	forDelete
)

// observe reads the inventory: the networks, subnets, routers, security
// group, server groups, servers and floating IPs at once, then the ports
// of the networks found. externalNetworkID narrows the floating IPs to
// those of the external network ("" lists all of the project's).
func observe(ctx context.Context, s *scope.Scope, spec *Spec, externalNetworkID string, why purpose) (*inventory, error) {
	inv := &inventory{}
	var netNames, subNames, routerNames []string
	for _, n := range spec.Networks {
		netNames, subNames = append(netNames, n.Name), append(subNames, n.SubnetName)
	}
	for _, r := range spec.Routers {
		routerNames = append(routerNames, r.Name)
	}
	g := newGroup(ctx, 0)
	g.Go(func(ctx context.Context) (err error) {
		inv.networks, err = network.List(ctx, s, netNames)
		return err
	})
	if why == forBuild {
		g.Go(func(ctx context.Context) (err error) {
			inv.subnets, err = network.ListSubnets(ctx, s, subNames)
			return err
		})
	}
	g.Go(func(ctx context.Context) (err error) {
		inv.routers, err = router.List(ctx, s, routerNames)
		return err
	})
	g.Go(func(ctx context.Context) (err error) {
		inv.groups, err = securitygroup.List(ctx, s, spec.SecurityGroup.Name)
		return err
	})
	if why == forDelete || spec.ServerGroup != "" {
		g.Go(func(ctx context.Context) (err error) {
			inv.serverGroups, err = servergroup.List(ctx, s)
			return err
		})
	}
	g.Go(func(ctx context.Context) (err error) {
		inv.servers, err = server.List(ctx, s, "^"+regexp.QuoteMeta(spec.Name)+"-")
		return err
	})
	g.Go(func(ctx context.Context) (err error) {
		inv.floatingIPs, err = floatingip.List(ctx, s, externalNetworkID)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var ids []string
	for _, n := range inv.networks {
		ids = append(ids, n.ID)
	}
	var err error
	inv.ports, err = port.ListOnNetworks(ctx, s, ids)
	return inv, err
}

// named returns the one element of list that name picks, nil when none
// does, an error when several do.
func named[T any](list []T, kind, name string, nameOf func(T) string) (*T, error) {
	var out []T
	for _, x := range list {
		if nameOf(x) == name {
			out = append(out, x)
		}
	}
	return scope.One(out, kind, name)
}

func (inv *inventory) network(name string) (*networks.Network, error) {
	return named(inv.networks, "network", name, func(n networks.Network) string { return n.Name })
}

func (inv *inventory) router(name string) (*routers.Router, error) {
	return named(inv.routers, "router", name, func(r routers.Router) string { return r.Name })
}

func (inv *inventory) securityGroup(name string) (*groups.SecGroup, error) {
	return named(inv.groups, "security group", name, func(g groups.SecGroup) string { return g.Name })
}

func (inv *inventory) port(name string) (*ports.Port, error) {
	return named(inv.ports, "port", name, func(p ports.Port) string { return p.Name })
}

func (inv *inventory) server(name string) (*servers.Server, error) {
	return named(inv.servers, "server", name, func(sv servers.Server) string { return sv.Name })
}
