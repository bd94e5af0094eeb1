package cluster

import (
	"context"
	"fmt"
	"sync"

	"github.com/epks/epks/pkg/cluster/scope"
	"github.com/epks/epks/pkg/cluster/services/floatingip"
	"github.com/epks/epks/pkg/cluster/services/network"
	"github.com/epks/epks/pkg/cluster/services/port"
	"github.com/epks/epks/pkg/cluster/services/router"
	"github.com/epks/epks/pkg/cluster/services/securitygroup"
	"github.com/epks/epks/pkg/cluster/services/server"
	"github.com/epks/epks/pkg/cluster/services/servergroup"
)

// UserData renders a node's user data, given the MAC of its pod port.
type UserData func(n Node, podMAC string) ([]byte, error)

// Concurrency is how many nodes are built at once.
const Concurrency = 16

// Plan walks the cluster as Create would without changing anything and
// returns what it would do.
func Plan(ctx context.Context, s *scope.Scope, spec *Spec) ([]scope.Action, error) {
	plan := &scope.Scope{Cluster: s.Cluster, Clients: s.Clients, DryRun: true, Out: s.Out, Poll: s.Poll}
	ext, err := FindExternalNetwork(ctx, plan, spec.ExternalNetwork)
	if err != nil {
		ext = "" // the preflight reports it
	}
	err = apply(ctx, plan, spec, Resolved{ExternalNetworkID: ext}, nil)
	return plan.Actions(), err
}

// Create runs the preflight over a plan, then builds what is missing and
// waits until every server is ACTIVE. A run that stopped midway is
// continued by the next one.
func Create(ctx context.Context, s *scope.Scope, spec *Spec, userData UserData) error {
	quiet := &scope.Scope{Cluster: s.Cluster, Clients: s.Clients, Poll: s.Poll}
	plan, err := Plan(ctx, quiet, spec)
	if err != nil {
		return err
	}
	resolved, err := Preflight(ctx, s, spec, plan)
	if err != nil {
		return err
	}
	return apply(ctx, s, spec, resolved, userData)
}

// apply is the reconcile: networks, security group and server group, then
// routers and ports, then each node's server and floating IP, then the
// wait for the servers.
func apply(ctx context.Context, s *scope.Scope, spec *Spec, r Resolved, userData UserData) error {
	nets := make([]network.Status, len(spec.Networks))
	var sgID, groupID string
	g := newGroup(ctx, 0)
	for i, n := range spec.Networks {
		g.Go(func(ctx context.Context) (err error) {
			nets[i], err = network.Reconcile(ctx, s, network.Spec{Name: n.Name, SubnetName: n.SubnetName, CIDR: n.CIDR.String(), Nameservers: n.Nameservers})
			return err
		})
	}
	g.Go(func(ctx context.Context) (err error) {
		sgID, err = securitygroup.Reconcile(ctx, s, spec.SecurityGroup)
		return err
	})
	if spec.ServerGroup != "" {
		g.Go(func(ctx context.Context) (err error) {
			groupID, err = servergroup.Reconcile(ctx, s, spec.ServerGroup)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	byRole := map[string]network.Status{}
	for i, n := range spec.Networks {
		byRole[n.Role] = nets[i]
	}
	// Routers go along with the ports; floating IPs wait for both, since
	// Neutron associates one only when the port's subnet reaches the
	// external network.
	routersDone := make(chan struct{})
	var routerErr error
	go func() {
		defer close(routersDone)
		rg := newGroup(ctx, 0)
		for _, rt := range spec.Routers {
			rg.Go(func(ctx context.Context) error {
				rs := router.Spec{Name: rt.Name, ExternalNetworkID: r.ExternalNetworkID, SNAT: rt.SNAT}
				for _, role := range rt.Networks {
					rs.Subnets = append(rs.Subnets, router.Subnet{Name: spec.Network(role).SubnetName, ID: byRole[role].SubnetID})
				}
				_, err := router.Reconcile(ctx, s, rs)
				return err
			})
		}
		routerErr = rg.Wait()
	}()
	var mu sync.Mutex
	pending, created := map[string]string{}, map[string]bool{}
	ng := newGroup(ctx, Concurrency)
	for _, n := range spec.Nodes {
		ng.Go(func(ctx context.Context) error {
			var mgmt, pod port.Status
			pg := newGroup(ctx, 0)
			pg.Go(func(ctx context.Context) (err error) {
				mgmt, err = port.Reconcile(ctx, s, port.Spec{Name: n.MgmtPort(), NetworkID: byRole[Mgmt].NetworkID, SubnetID: byRole[Mgmt].SubnetID,
					FixedIP: n.MgmtIP.String(), SecurityGroups: []string{sgID}})
				return err
			})
			pg.Go(func(ctx context.Context) (err error) {
				pod, err = port.Reconcile(ctx, s, port.Spec{Name: n.PodPort(), NetworkID: byRole[Pod].NetworkID, SubnetID: byRole[Pod].SubnetID,
					FixedIP: n.PodIP.String(), SecurityGroups: []string{sgID}})
				return err
			})
			if err := pg.Wait(); err != nil {
				return err
			}
			sv := server.Spec{Name: n.Name, Role: string(n.Role), ImageID: r.ImageID, FlavorID: r.FlavorID, KeyName: spec.KeyName,
				PortIDs:  []string{mgmt.ID, pod.ID},
				UserData: func() ([]byte, error) { return userData(n, pod.MAC) }}
			if n.ControlPlane() {
				sv.ServerGroupID = groupID
			}
			st, err := server.Reconcile(ctx, s, sv)
			if err != nil {
				return err
			}
			if st.ID != "" {
				mu.Lock()
				pending[st.ID], created[st.ID] = n.Name, st.Created
				mu.Unlock()
			}
			if !n.FloatingIP {
				return nil
			}
			select {
			case <-routersDone:
			case <-ctx.Done():
				return ctx.Err()
			}
			if routerErr != nil {
				return nil // reported once, below
			}
			_, err = floatingip.Reconcile(ctx, s, floatingip.Spec{Name: n.Name, ExternalNetworkID: r.ExternalNetworkID, PortID: mgmt.ID})
			return err
		})
	}
	nodeErr := ng.Wait()
	<-routersDone
	if routerErr != nil {
		return routerErr
	}
	if nodeErr != nil {
		return nodeErr
	}
	if s.DryRun {
		for id, name := range pending {
			s.Record(scope.Action{Kind: "server", Name: name, Verb: scope.Unchanged, ID: id})
		}
		return nil
	}
	if err := server.WaitActive(ctx, s, pending, created); err != nil {
		return fmt.Errorf("%w", err)
	}
	return nil
}
