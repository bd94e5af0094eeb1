package cluster

import (
	"context"
	"errors"
	"fmt"
	"regexp"

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
// in dependency order: the OCCM's load balancers and their floating IPs,
// the servers, cinder-csi's snapshots and volumes (with opts.Volumes), the
// nodes' floating IPs and ports, the server group, the routers' interfaces
// and the routers, the security group, the networks. A step that fails does
// not stop the later ones that do not depend on it; everything that is
// left is listed in a *LeftError.
func Delete(ctx context.Context, s *scope.Scope, spec *Spec, opts DeleteOptions) error {
	var left []string
	fail := func(err error) {
		if err != nil {
			left = append(left, err.Error())
		}
	}
	fail(loadbalancer.DeleteAll(ctx, s))

	// Every server named after the cluster, not only the ones the
	// parameters count: a cluster scaled down leaves none behind.
	list, err := server.List(ctx, s, "^"+regexp.QuoteMeta(spec.Name)+"-")
	fail(err)
	victims := map[string]string{}
	for _, sv := range list {
		if sv.Metadata[server.ClusterKey] == spec.Name || isNode(spec, sv.Name) {
			victims[sv.ID] = sv.Name
		}
	}
	serversErr := server.Delete(ctx, s, victims)
	fail(serversErr)

	found, err := volume.Find(ctx, s)
	fail(err)
	if opts.Volumes {
		fail(volume.DeleteAll(ctx, s, found))
	} else {
		for _, v := range found.Volumes {
			left = append(left, fmt.Sprintf("volume %s (%s, %d GiB): pass --delete-volumes to delete cinder-csi's volumes", v.Name, v.ID, v.Size))
		}
		for _, sn := range found.Snapshots {
			left = append(left, fmt.Sprintf("snapshot %s (%s)", sn.Name, sn.ID))
		}
	}

	portsOK := serversErr == nil
	for _, n := range spec.Nodes {
		p, err := port.Find(ctx, s, n.MgmtPort())
		if err != nil {
			fail(err)
			portsOK = false
			continue
		}
		id := ""
		if p != nil {
			id = p.ID
		}
		fail(floatingip.DeleteOf(ctx, s, n.Name, id))
		for _, name := range []string{n.MgmtPort(), n.PodPort()} {
			if _, err := port.Delete(ctx, s, name); err != nil {
				fail(err)
				portsOK = false
			}
		}
	}
	// Also when the parameters say one control-plane node now: a cluster
	// shrunk to one may still have its group.
	fail(servergroup.Delete(ctx, s, spec.Name+"-control-plane"))
	for _, r := range spec.Routers {
		fail(router.Delete(ctx, s, r.Name))
	}
	if portsOK {
		fail(securitygroup.Delete(ctx, s, spec.SecurityGroup.Name))
		for _, n := range spec.Networks {
			fail(network.Delete(ctx, s, n.Name))
		}
	} else {
		left = append(left, "the security group and the networks: their ports are still there")
	}
	if len(left) > 0 {
		return &LeftError{Left: left}
	}
	return nil
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
