package cinder_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/test/simtest"
)

// TestListMarkers pages volumes and snapshots with gophercloud, and an
// unknown marker is Cinder's 404 for the object it names (Cinder's paging
// looks the marker up as a volume or snapshot of the project).
func TestListMarkers(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		bs, err := openstack.NewBlockStorageV3(pc, eo)
		if err != nil {
			t.Fatal(err)
		}
		var vols []string
		for range 3 {
			v, err := volumes.Create(ctx, bs, volumes.CreateOpts{Size: 1}, nil).Extract()
			if err != nil {
				t.Fatal(err)
			}
			vols = append(vols, v.ID)
		}
		simtest.Until(t, "the volumes available", func() (bool, error) {
			all, err := volumes.List(bs, volumes.ListOpts{Status: "available"}).AllPages(ctx)
			if err != nil {
				return false, err
			}
			got, err := volumes.ExtractVolumes(all)
			return len(got) == 3, err
		})
		var snaps []string
		for _, v := range vols {
			sn, err := snapshots.Create(ctx, bs, snapshots.CreateOpts{VolumeID: v}).Extract()
			if err != nil {
				t.Fatal(err)
			}
			snaps = append(snaps, sn.ID)
		}

		// Pages of one, each next link's marker the last id.
		var paged []string
		err = volumes.List(bs, volumes.ListOpts{Limit: 1}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
			vs, err := volumes.ExtractVolumes(p)
			for _, v := range vs {
				paged = append(paged, v.ID)
			}
			return true, err
		})
		if err != nil || strings.Join(paged, ",") != strings.Join(vols, ",") {
			t.Errorf("volumes by pages of one: %v, %v; want %v", paged, err, vols)
		}
		after, err := snapshots.List(bs, snapshots.ListOpts{Marker: snaps[0]}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := snapshots.ExtractSnapshots(after); len(got) != 2 || got[0].ID != snaps[1] {
			t.Errorf("snapshots after the first: %+v", got)
		}

		for _, c := range []struct {
			list func() error
			want string
		}{
			{func() error {
				_, err := volumes.List(bs, volumes.ListOpts{Marker: "invalid-token", Limit: 1}).AllPages(ctx)
				return err
			}, "Volume invalid-token could not be found."},
			{func() error {
				_, err := volumes.List(bs, volumes.ListOpts{Marker: snaps[0]}).AllPages(ctx)
				return err
			}, "Volume " + snaps[0] + " could not be found."},
			{func() error {
				_, err := snapshots.List(bs, snapshots.ListOpts{Marker: vols[0]}).AllPages(ctx)
				return err
			}, "Snapshot " + vols[0] + " could not be found."},
		} {
			err := c.list()
			if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) || !strings.Contains(err.Error(), `"itemNotFound"`) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("an unknown marker: %v; want 404 itemNotFound %q", err, c.want)
			}
		}
	})
}
