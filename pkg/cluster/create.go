package cluster

import (
	"context"
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

// Plan walks the cluster as Create would without changing anything and
// returns what it would do.
func Plan(ctx context.Context, s *scope.Scope, spec *Spec) ([]scope.Action, error) {
	ext, err := FindExternalNetwork(ctx, s, spec.ExternalNetwork)
	if err != nil {
		ext = "" // the preflight reports it
	}
	inv, err := observe(ctx, s, spec, ext, forBuild)
	if err != nil {
		return nil, err
	}
	return plan(ctx, s, spec, inv, ext)
}

func plan(ctx context.Context, s *scope.Scope, spec *Spec, inv *inventory, ext string) ([]scope.Action, error) {
	dry := &scope.Scope{Cluster: s.Cluster, Clients: s.Clients, DryRun: true, Out: s.Out, Poll: s.Poll}
	err := apply(ctx, dry, spec, Resolved{ExternalNetworkID: ext}, inv, nil)
	return dry.Actions(), err
}

// Create runs the preflight over a plan, then builds what is missing and
// waits until every server is ACTIVE. A run that stopped midway is
// continued by the next one. What exists is read once (observe) for the
// plan and the build; the build goes along the dependencies, each
// resource as soon as what it needs exists.
func Create(ctx context.Context, s *scope.Scope, spec *Spec, userData UserData) error {
	ext, extErr := FindExternalNetwork(ctx, s, spec.ExternalNetwork)
	inv, err := observe(ctx, s, spec, ext, forBuild)
	if err != nil {
		return err
	}
	quiet := &scope.Scope{Cluster: s.Cluster, Clients: s.Clients, Poll: s.Poll}
	actions, err := plan(ctx, quiet, spec, inv, ext)
	if err != nil {
		return err
	}
	resolved, err := Preflight(ctx, s, spec, actions, ext, extErr)
	if err != nil {
		return err
	}
	return apply(ctx, s, spec, resolved, inv, userData)
}

// future is a value that one task makes and others wait for.
type future[T any] struct {
	done chan struct{}
	v    T
}

func newFuture[T any]() *future[T] { return &future[T]{done: make(chan struct{})} }

func (f *future[T]) set(v T) { f.v = v; close(f.done) }

// get waits for the value; false when ctx ended first (the task that was
// to make it failed and cancelled the others).
func (f *future[T]) get(ctx context.Context) (T, bool) {
	select {
	case <-f.done:
		return f.v, true
	case <-ctx.Done():
		var zero T
		return zero, false
	}
}

// apply is the reconcile, each resource started as soon as what it needs
// exists: the networks, the security group (its rules meanwhile) and the
// server group at once; each node's ports once their networks and the
// group exist, its server once its ports do, its floating IP once its
// management port and the management network's router interface do; then
// the wait for the servers, listing them all once per round.
func apply(ctx context.Context, s *scope.Scope, spec *Spec, r Resolved, inv *inventory, userData UserData) error {
	g := newGroup(ctx, 0)
	nets := map[string]*future[network.Status]{}
	for _, n := range spec.Networks {
		f := newFuture[network.Status]()
		nets[n.Role] = f
		g.Go(func(ctx context.Context) error {
			have, err := inv.network(n.Name)
			if err != nil {
				return err
			}
			st, err := network.Reconcile(ctx, s, network.Spec{Name: n.Name, SubnetName: n.SubnetName, CIDR: n.CIDR.String(), Nameservers: n.Nameservers}, have, inv.subnets)
			if err != nil {
				return err
			}
			f.set(st)
			return nil
		})
	}
	sg := newFuture[string]()
	g.Go(func(ctx context.Context) error {
		have, err := inv.securityGroup(spec.SecurityGroup.Name)
		if err != nil {
			return err
		}
		_, err = securitygroup.Reconcile(ctx, s, spec.SecurityGroup, have, sg.set)
		return err
	})
	group := newFuture[string]()
	if spec.ServerGroup != "" {
		g.Go(func(ctx context.Context) error {
			have, err := servergroup.Named(inv.serverGroups, spec.ServerGroup)
			if err != nil {
				return err
			}
			id, err := servergroup.Reconcile(ctx, s, spec.ServerGroup, have)
			if err != nil {
				return err
			}
			group.set(id)
			return nil
		})
	} else {
		group.set("")
	}
	// Neutron associates a floating IP only when a router joins the
	// port's subnet to the external network.
	routed := newFuture[struct{}]()
	g.Go(func(ctx context.Context) error {
		rg := newGroup(ctx, 0)
		for _, rt := range spec.Routers {
			rg.Go(func(ctx context.Context) error {
				rs := router.Spec{Name: rt.Name, ExternalNetworkID: r.ExternalNetworkID, SNAT: rt.SNAT}
				for _, role := range rt.Networks {
					st, ok := nets[role].get(ctx)
					if !ok {
						return ctx.Err()
					}
					rs.Subnets = append(rs.Subnets, router.Subnet{Name: spec.Network(role).SubnetName, ID: st.SubnetID})
				}
				have, err := inv.router(rt.Name)
				if err != nil {
					return err
				}
				var ifaces map[string]string
				if have != nil {
					ifaces = router.Interfaces(have.ID, inv.ports)
				}
				_, err = router.Reconcile(ctx, s, rs, have, ifaces)
				return err
			})
		}
		if err := rg.Wait(); err != nil {
			return err
		}
		routed.set(struct{}{})
		return nil
	})
	var mu sync.Mutex
	pending, created := map[string]string{}, map[string]bool{}
	for _, n := range spec.Nodes {
		mgmtPort := newFuture[port.Status]()
		g.Go(func(ctx context.Context) error {
			mgmtNet, ok1 := nets[Mgmt].get(ctx)
			podNet, ok2 := nets[Pod].get(ctx)
			sgID, ok3 := sg.get(ctx)
			if !ok1 || !ok2 || !ok3 {
				return ctx.Err()
			}
			var mgmt, pod port.Status
			pg := newGroup(ctx, 0)
			for _, p := range []struct {
				name    string
				net     network.Status
				ip      string
				st      *port.Status
				mgmtNet bool
			}{{n.MgmtPort(), mgmtNet, n.MgmtIP.String(), &mgmt, true}, {n.PodPort(), podNet, n.PodIP.String(), &pod, false}} {
				pg.Go(func(ctx context.Context) error {
					have, err := inv.port(p.name)
					if err != nil {
						return err
					}
					*p.st, err = port.Reconcile(ctx, s, port.Spec{Name: p.name, NetworkID: p.net.NetworkID, SubnetID: p.net.SubnetID,
						FixedIP: p.ip, SecurityGroups: []string{sgID}}, have)
					if err == nil && p.mgmtNet {
						mgmtPort.set(*p.st)
					}
					return err
				})
			}
			if err := pg.Wait(); err != nil {
				return err
			}
			sv := server.Spec{Name: n.Name, Role: string(n.Role), ImageID: r.ImageID, FlavorID: r.FlavorID, KeyName: spec.KeyName,
				PortIDs:  []string{mgmt.ID, pod.ID},
				UserData: func() ([]byte, error) { return userData(n, pod.MAC) }}
			if n.ControlPlane() {
				if sv.ServerGroupID, ok1 = group.get(ctx); !ok1 {
					return ctx.Err()
				}
			}
			have, err := inv.server(n.Name)
			if err != nil {
				return err
			}
			st, err := server.Reconcile(ctx, s, sv, have)
			if err != nil {
				return err
			}
			if st.ID != "" {
				mu.Lock()
				pending[st.ID], created[st.ID] = n.Name, st.Created
				mu.Unlock()
			}
			return nil
		})
		if !n.FloatingIP {
			continue
		}
		g.Go(func(ctx context.Context) error {
			mgmt, ok := mgmtPort.get(ctx)
			if !ok {
				return ctx.Err()
			}
			if _, ok := routed.get(ctx); !ok {
				return ctx.Err()
			}
			_, err := floatingip.Reconcile(ctx, s, floatingip.Spec{Name: n.Name, ExternalNetworkID: r.ExternalNetworkID, PortID: mgmt.ID}, inv.floatingIPs)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if s.DryRun {
		for id, name := range pending {
			s.Record(scope.Action{Kind: "server", Name: name, Verb: scope.Unchanged, ID: id})
		}
		return nil
	}
	return server.WaitActive(ctx, s, pending, created)
}
