// Package volume finds and deletes the Cinder volumes and snapshots that
// cinder-csi created for the cluster: it marks them with the metadata
// cinder.csi.openstack.org/cluster = <cluster> (its --cluster flag).
package volume

import (
	"context"
	"fmt"

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
// volumes and waits for them.
func DeleteAll(ctx context.Context, s *scope.Scope, f Found) error {
	var problems scope.Problems
	for _, sn := range f.Snapshots {
		if !s.DryRun {
			if err := snapshots.Delete(ctx, s.BlockStorage, sn.ID).ExtractErr(); err != nil && !scope.NotFound(err) {
				problems.Add(fmt.Errorf("deleting snapshot %s: %w", sn.Name, err))
				continue
			}
		}
		s.Record(scope.Action{Kind: "snapshot", Name: sn.Name, Verb: scope.Delete, ID: sn.ID})
	}
	if !s.DryRun && len(f.Snapshots) > 0 {
		problems.Add(waitGone(ctx, s, func(ctx context.Context) (int, error) {
			left, err := Find(ctx, s)
			return len(left.Snapshots), err
		}, "snapshots"))
	}
	for _, v := range f.Volumes {
		if !s.DryRun {
			err := volumes.Delete(ctx, s.BlockStorage, v.ID, volumes.DeleteOpts{Cascade: true}).ExtractErr()
			if err != nil && !scope.NotFound(err) {
				problems.Add(fmt.Errorf("deleting volume %s (%s): %w", v.Name, v.ID, err))
				continue
			}
		}
		s.Record(scope.Action{Kind: "volume", Name: v.Name, Verb: scope.Delete, ID: v.ID})
	}
	if !s.DryRun && len(f.Volumes) > 0 {
		problems.Add(waitGone(ctx, s, func(ctx context.Context) (int, error) {
			left, err := Find(ctx, s)
			return len(left.Volumes), err
		}, "volumes"))
	}
	return problems.Err()
}

func waitGone(ctx context.Context, s *scope.Scope, count func(context.Context) (int, error), what string) error {
	w := s.Waiter()
	for {
		n, err := count(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if err := w.Sleep(ctx); err != nil {
			return fmt.Errorf("waiting for %d %s to be deleted: %w", n, what, err)
		}
	}
}
