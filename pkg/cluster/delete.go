package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"github.com/epks/epks/pkg/cluster/scope"
	"github.com/epks/epks/pkg/cluster/services/floatingip"
	"github.com/epks/epks/pkg/cluster/services/loadbalancer"
	"github.com/epks/epks/pkg/cluster/services/network"
	"github.com/epks/epks/pkg/cluster/services/port"
	"github.com/epks/epks/pkg/cluster/services/router"
	"github.com/epks/epks/pkg/cluster/services/securitygroup"
	"github.com/epks/epks/pkg/cluster/services/server"
	"github.com/epks/epks/pkg/cluster/services/servergroup"
	"github.com/epks/epks/pkg/cluster/services/volume"
)

// DeleteOptions say what else delete removes.
type DeleteOptions struct {
	// Volumes deletes cinder-csi's volumes and snapshots of the cluster;
	// without it they are listed as left behind.
	Volumes bool
}

// LeftError lists what delete could not (or was told not to) remove.
type LeftError struct{ Left []string }

func (e *LeftError) Error() string {
	msg := "these were not deleted:"
	for _, l := range e.Left {
		msg += "\n  " + l
	}
	return msg
}

// FindVolumes returns cinder-csi's volumes and snapshots of the cluster,
// for the CLI to ask before deleting them.
func FindVolumes(ctx context.Context, s *scope.Scope) (volume.Found, error) {
	return volume.Find(ctx, s)
}

// Delete removes what Create made and what the cluster made on its own,
// in dependency order: the OCCM's load balancers and their floating IPs;
// then, from one inventory, every server (all at once) and meanwhile the
// nodes' floating IPs, the routers' interfaces and the routers; once the
// servers are gone, cinder-csi's snapshots and volumes (with
// opts.Volumes), the nodes' ports (also those of nodes the parameters no
// longer count, by the cluster's tag) and the server group; once the ports and
// interfaces are gone, the security group and the networks. A step that
// fails does not stop the later ones that do not depend on it; everything
// that is left is listed in a *LeftError.
func Delete(ctx context.Context, s *scope.Scope, spec *Spec, opts DeleteOptions) error {
	var mu sync.Mutex
	var left []string
	fail := func(err error) {
		if err != nil {
			mu.Lock()
			left = append(left, err.Error())
			mu.Unlock()
		}
	}
	fail(loadbalancer.DeleteAll(ctx, s))

	inv, err := observe(ctx, s, spec, "", forDelete)
	if err != nil {
		return &LeftError{Left: append(left, err.Error())}
	}
	// Every server named after the cluster, not only the ones the
	// parameters count: a cluster scaled down leaves none behind.
	victims := map[string]string{}
	for _, sv := range inv.servers {
		if sv.Metadata[server.ClusterKey] == spec.Name || isNode(spec, sv.Name) {
			victims[sv.ID] = sv.Name
		}
	}
	// The nodes' ports and floating IPs, by the nodes' names.
	var nodePorts []ports.Port
	var fips []floatingips.FloatingIP
	nodeOfFIP := map[string]string{}
	for _, n := range spec.Nodes {
		fs := floatingip.Spec{Name: n.Name}
		for _, name := range []string{n.MgmtPort(), n.PodPort()} {
			for _, p := range inv.ports {
				if p.Name != name {
					continue
				}
				nodePorts = append(nodePorts, p)
				if name == n.MgmtPort() {
					fs.PortID = p.ID
				}
			}
		}
		onPort, loose := fs.Node(spec.Name, inv.floatingIPs)
		for _, f := range append(onPort, loose...) {
			if _, seen := nodeOfFIP[f.ID]; !seen {
				nodeOfFIP[f.ID] = n.Name
				fips = append(fips, f)
			}
		}
	}
	// And those of nodes the parameters no longer count (a cluster scaled
	// down), by the cluster's tag, which create puts on every port and
	// floating IP it makes: the networks and routers cannot go before them.
	counted := map[string]bool{}
	for _, p := range nodePorts {
		counted[p.ID] = true
	}
	portName := map[string]string{}
	for _, p := range inv.ports {
		portName[p.ID] = p.Name
		if !counted[p.ID] && slices.Contains(p.Tags, s.Tag()) {
			nodePorts = append(nodePorts, p)
		}
	}
	for _, f := range inv.floatingIPs {
		if _, seen := nodeOfFIP[f.ID]; !seen && slices.Contains(f.Tags, s.Tag()) {
			name := strings.TrimSuffix(strings.TrimSuffix(portName[f.PortID], "-mgmt"), "-pod")
			if name == "" {
				name = f.Description
			}
			nodeOfFIP[f.ID] = name
			fips = append(fips, f)
		}
	}

	var wg sync.WaitGroup
	var portsOK, ifacesOK bool
	// The servers, then what they held.
	wg.Add(1)
	go func() {
		defer wg.Done()
		serversErr := server.Delete(ctx, s, victims)
		fail(serversErr)
		var after sync.WaitGroup
		after.Add(2)
		go func() {
			defer after.Done()
			found, err := volume.Find(ctx, s)
			fail(err)
			if opts.Volumes {
				fail(volume.DeleteAll(ctx, s, found))
				return
			}
			for _, v := range found.Volumes {
				fail(fmt.Errorf("volume %s (%s, %d GiB): pass --delete-volumes to delete cinder-csi's volumes", v.Name, v.ID, v.Size))
			}
			for _, sn := range found.Snapshots {
				fail(fmt.Errorf("snapshot %s (%s)", sn.Name, sn.ID))
			}
		}()
		go func() {
			defer after.Done()
			// Also when the parameters say one control-plane node now: a
			// cluster shrunk to one may still have its group.
			g, err := servergroup.Named(inv.serverGroups, spec.Name+"-control-plane")
			fail(err)
			if g != nil {
				fail(servergroup.Delete(ctx, s, *g))
			}
		}()
		ok := serversErr == nil && eachOf(ctx, nodePorts, func(ctx context.Context, p ports.Port) error {
			err := port.Delete(ctx, s, p)
			fail(err)
			return err
		})
		after.Wait()
		mu.Lock()
		portsOK = ok
		mu.Unlock()
	}()
	// Meanwhile the floating IPs, then the routers.
	wg.Add(1)
	go func() {
		defer wg.Done()
		fipsOK := eachOf(ctx, fips, func(ctx context.Context, f floatingips.FloatingIP) error {
			err := floatingip.Delete(ctx, s, nodeOfFIP[f.ID], f)
			fail(err)
			return err
		})
		ok := eachOf(ctx, spec.Routers, func(ctx context.Context, rs RouterSpec) error {
			r, err := inv.router(rs.Name)
			if err == nil && r != nil {
				if !fipsOK {
					err = fmt.Errorf("router %s: its floating IPs are still there", rs.Name)
				} else {
					err = router.Delete(ctx, s, *r, router.Interfaces(r.ID, inv.ports))
				}
			}
			fail(err)
			return err
		})
		mu.Lock()
		ifacesOK = ok
		mu.Unlock()
	}()
	wg.Wait()
	if portsOK && ifacesOK {
		var sgs []groups.SecGroup
		if g, err := inv.securityGroup(spec.SecurityGroup.Name); err != nil {
			fail(err)
		} else if g != nil {
			sgs = append(sgs, *g)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			eachOf(ctx, sgs, func(ctx context.Context, g groups.SecGroup) error {
				err := securitygroup.Delete(ctx, s, g)
				fail(err)
				return err
			})
		}()
		go func() {
			defer wg.Done()
			eachOf(ctx, inv.networks, func(ctx context.Context, n networks.Network) error {
				err := network.Delete(ctx, s, n)
				fail(err)
				return err
			})
		}()
		wg.Wait()
	} else {
		left = append(left, "the security group and the networks: their ports are still there")
	}
	if len(left) > 0 {
		sort.Strings(left)
		return &LeftError{Left: left}
	}
	return nil
}

// eachOf runs f on every item at once (the client holds back what is
// beyond Concurrency requests) and reports whether all succeeded.
func eachOf[T any](ctx context.Context, items []T, f func(context.Context, T) error) bool {
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := true
	for _, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx, it); err != nil {
				mu.Lock()
				ok = false
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ok
}

func isNode(spec *Spec, name string) bool {
	for _, n := range spec.Nodes {
		if n.Name == name {
			return true
		}
	}
	return false
}

// IsLeft reports whether err lists resources left behind.
func IsLeft(err error) bool {
	var l *LeftError
	return errors.As(err, &l)
}
