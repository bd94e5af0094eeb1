// Package volume finds and deletes the Cinder volumes and snapshots that
// cinder-csi created for the cluster: it marks them with the metadata
// cinder.csi.openstack.org/cluster = <cluster> (its --cluster flag).
package volume

import (
	"context"
	"fmt"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/epks/epks/pkg/cluster/scope"
)

// ClusterKey is cinder-csi's metadata key naming the cluster.
const ClusterKey = "cinder.csi.openstack.org/cluster"

// Found is what the cluster left in Cinder.
type Found struct {
	Volumes   []volumes.Volume
	Snapshots []snapshots.Snapshot
}

// Find lists the cluster's volumes and snapshots: those with the cluster's
// metadata, and the snapshots of its volumes.
func Find(ctx context.Context, s *scope.Scope) (Found, error) {
	var f Found
	vp, err := volumes.List(s.BlockStorage, volumes.ListOpts{}).AllPages(ctx)
	if err != nil {
		return f, fmt.Errorf("listing volumes: %w", err)
	}
	vols, err := volumes.ExtractVolumes(vp)
	if err != nil {
		return f, err
	}
	ours := map[string]bool{}
	for _, v := range vols {
		if v.Metadata[ClusterKey] == s.Cluster {
			f.Volumes = append(f.Volumes, v)
			ours[v.ID] = true
		}
	}
	sp, err := snapshots.List(s.BlockStorage, snapshots.ListOpts{}).AllPages(ctx)
	if err != nil {
		return f, fmt.Errorf("listing snapshots: %w", err)
	}
	snaps, err := snapshots.ExtractSnapshots(sp)
	if err != nil {
		return f, err
	}
	for _, sn := range snaps {
		if sn.Metadata[ClusterKey] == s.Cluster || ours[sn.VolumeID] {
			f.Snapshots = append(f.Snapshots, sn)
		}
	}
	return f, nil
}

// DeleteAll deletes the snapshots, waits for them to go, then deletes the
// volumes and waits for them. It waits only for what it asked to delete,
// and gives up on one that Cinder puts in an error state.
func DeleteAll(ctx context.Context, s *scope.Scope, f Found) error {
	var problems scope.Problems
	asked := map[string]string{}
	for _, sn := range f.Snapshots {
		if !s.DryRun {
			if err := snapshots.Delete(ctx, s.BlockStorage, sn.ID).ExtractErr(); err != nil && !scope.NotFound(err) {
				problems.Add(fmt.Errorf("deleting snapshot %s: %w", sn.Name, err))
				continue
			}
		}
		asked[sn.ID] = sn.Name
		s.Record(scope.Action{Kind: "snapshot", Name: sn.Name, Verb: scope.Delete, ID: sn.ID})
	}
	if !s.DryRun {
		problems.Add(waitGone(ctx, s, "snapshot", asked, func(ctx context.Context) (map[string]string, error) {
			left, err := Find(ctx, s)
			out := map[string]string{}
			for _, sn := range left.Snapshots {
				out[sn.ID] = sn.Status
			}
			return out, err
		}))
	}
	asked = map[string]string{}
	for _, v := range f.Volumes {
		if !s.DryRun {
			err := volumes.Delete(ctx, s.BlockStorage, v.ID, volumes.DeleteOpts{Cascade: true}).ExtractErr()
			if err != nil && !scope.NotFound(err) {
				problems.Add(fmt.Errorf("deleting volume %s (%s): %w", v.Name, v.ID, err))
				continue
			}
		}
		asked[v.ID] = v.Name
		s.Record(scope.Action{Kind: "volume", Name: v.Name, Verb: scope.Delete, ID: v.ID})
	}
	if !s.DryRun {
		problems.Add(waitGone(ctx, s, "volume", asked, func(ctx context.Context) (map[string]string, error) {
			left, err := Find(ctx, s)
			out := map[string]string{}
			for _, v := range left.Volumes {
				out[v.ID] = v.Status
			}
			return out, err
		}))
	}
	return problems.Err()
}

// waitGone waits until none of pending (ID → name) is listed; list
// returns what is left with its status.
func waitGone(ctx context.Context, s *scope.Scope, kind string, pending map[string]string, list func(context.Context) (map[string]string, error)) error {
	var problems scope.Problems
	w := s.Waiter()
	for len(pending) > 0 {
		left, err := list(ctx)
		if err != nil {
			return err
		}
		for id, name := range pending {
			status, ok := left[id]
			switch {
			case !ok:
				delete(pending, id)
			case strings.HasPrefix(status, "error"):
				problems.Add(fmt.Errorf("%s %s (%s) is %s: Cinder could not delete it", kind, name, id, status))
				delete(pending, id)
			}
		}
		if len(pending) == 0 {
			break
		}
		if err := w.Sleep(ctx); err != nil {
			return fmt.Errorf("waiting for %d %ss to be deleted: %w", len(pending), kind, err)
		}
	}
	return problems.Err()
}
