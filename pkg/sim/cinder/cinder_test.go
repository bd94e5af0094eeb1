package cinder_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/attachments"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/backups"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/test/simtest"
)

var eo = gophercloud.EndpointOpts{Region: "RegionOne"}

func TestVolumesSnapshotsAttachments(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		storage, err := openstack.NewBlockStorageV3(pc, eo)
		if err != nil {
			t.Fatal(err)
		}
		compute, _ := openstack.NewComputeV2(pc, eo)

		vol, err := volumes.Create(ctx, storage, volumes.CreateOpts{Size: 1, Name: "pvc-1", Metadata: map[string]string{"cinder.csi.openstack.org/cluster": "k8scluster"}}, nil).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if vol.Status != "creating" {
			t.Errorf("a new volume is %s", vol.Status)
		}
		status := func(want string) func() (bool, error) {
			return func() (bool, error) {
				v, err := volumes.Get(ctx, storage, vol.ID).Extract()
				return err == nil && v.Status == want, err
			}
		}
		simtest.Until(t, "volume available", status("available"))

		byMeta, _ := volumes.List(storage, volumes.ListOpts{Metadata: map[string]string{"cinder.csi.openstack.org/cluster": "k8scluster"}}).AllPages(ctx)
		if list, _ := volumes.ExtractVolumes(byMeta); len(list) != 1 {
			t.Errorf("metadata filter found %d volumes", len(list))
		}

		srv := s.Seeded.Servers["k8scluster-minion-1"]
		att, err := volumeattach.Create(ctx, compute, srv.ID, volumeattach.CreateOpts{VolumeID: vol.ID}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if att.VolumeID != vol.ID || att.Device == "" {
			t.Errorf("attachment %+v", att)
		}
		simtest.Until(t, "volume in-use", status("in-use"))
		v, _ := volumes.Get(ctx, storage, vol.ID).Extract()
		if len(v.Attachments) != 1 || v.Attachments[0].ServerID != srv.ID {
			t.Errorf("attachments %+v", v.Attachments)
		}

		// Growing an attached volume needs microversion 3.42.
		err = volumes.ExtendSize(ctx, storage, vol.ID, volumes.ExtendSizeOpts{NewSize: 2}).ExtractErr()
		if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Fatalf("extend in-use without 3.42: %v", err)
		}
		storage.Microversion = "3.42"
		if err := volumes.ExtendSize(ctx, storage, vol.ID, volumes.ExtendSizeOpts{NewSize: 2}).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		simtest.Until(t, "volume extended", func() (bool, error) {
			v, err := volumes.Get(ctx, storage, vol.ID).Extract()
			return err == nil && v.Size == 2 && v.Status == "in-use", err
		})

		snap, err := snapshots.Create(ctx, storage, snapshots.CreateOpts{VolumeID: vol.ID, Name: "snap-1", Force: true}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		simtest.Until(t, "snapshot available", func() (bool, error) {
			sn, err := snapshots.Get(ctx, storage, snap.ID).Extract()
			return err == nil && sn.Status == "available", err
		})
		// The snapshot list's filters: volume, name, status.
		for _, tc := range []struct {
			opts snapshots.ListOpts
			want int
		}{
			{snapshots.ListOpts{VolumeID: vol.ID}, 1}, {snapshots.ListOpts{VolumeID: "other"}, 0},
			{snapshots.ListOpts{Name: "snap-1", Status: "available"}, 1}, {snapshots.ListOpts{Name: "snap-2"}, 0},
			{snapshots.ListOpts{Status: "error"}, 0},
		} {
			page, err := snapshots.List(storage, tc.opts).AllPages(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if list, _ := snapshots.ExtractSnapshots(page); len(list) != tc.want {
				t.Errorf("snapshots %+v: %d, want %d", tc.opts, len(list), tc.want)
			}
		}
		restored, err := volumes.Create(ctx, storage, volumes.CreateOpts{Size: 2, SnapshotID: snap.ID, Name: "restored"}, nil).Extract()
		if err != nil || restored.SnapshotID != snap.ID {
			t.Fatalf("restore: %v %+v", err, restored)
		}
		if err := volumes.Delete(ctx, storage, vol.ID, nil).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Errorf("deleting an attached volume with snapshots: %v", err)
		}

		if err := volumeattach.Delete(ctx, compute, srv.ID, vol.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		simtest.Until(t, "volume detached", status("available"))
		simtest.Until(t, "restored available", func() (bool, error) {
			v, err := volumes.Get(ctx, storage, restored.ID).Extract()
			return err == nil && v.Status == "available", err
		})
		for _, del := range []func() error{
			func() error { return snapshots.Delete(ctx, storage, snap.ID).ExtractErr() },
		} {
			if err := del(); err != nil {
				t.Fatal(err)
			}
		}
		simtest.Until(t, "snapshot gone", func() (bool, error) { return len(s.World.Snapshots(nil)) == 0, nil })
		for _, id := range []string{vol.ID, restored.ID} {
			if err := volumes.Delete(ctx, storage, id, nil).ExtractErr(); err != nil {
				t.Fatal(err)
			}
		}
		simtest.Until(t, "volumes gone", func() (bool, error) { return len(s.World.Volumes(nil)) == 0, nil })

		// Cinder's own timestamp format: microseconds, no zone.
		resp, err := pc.Request(ctx, http.MethodGet, s.URL(sim.Cinder)+"/types", &gophercloud.RequestOpts{OkCodes: []int{200}, KeepResponseBody: true})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("OpenStack-API-Version") == "" {
			t.Error("no microversion header in Cinder's answer")
		}

		// No backups: a restore's source is looked up as one first.
		pages, err := backups.List(storage, nil).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if list, err := backups.ExtractBackups(pages); err != nil || len(list) != 0 {
			t.Errorf("backups %v %v", list, err)
		}
		if _, err := backups.Get(ctx, storage, vol.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("a backup that is not there: %v", err)
		}
	})
}

// TestVolumeUpdateAndMetadata changes a volume's name and metadata, then
// its metadata key by key, as Cinder's API does.
func TestVolumeUpdateAndMetadata(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		storage, err := openstack.NewBlockStorageV3(pc, eo)
		if err != nil {
			t.Fatal(err)
		}
		vol, err := volumes.Create(ctx, storage, volumes.CreateOpts{Size: 1, Name: "pvc-1", Metadata: map[string]string{"a": "1"}}, nil).Extract()
		if err != nil {
			t.Fatal(err)
		}
		name := "renamed"
		got, err := volumes.Update(ctx, storage, vol.ID, volumes.UpdateOpts{Name: &name, Metadata: map[string]string{"b": "2"}}).Extract()
		if err != nil || got.Name != "renamed" || len(got.Metadata) != 1 || got.Metadata["b"] != "2" {
			t.Fatalf("update (metadata replaced): %+v %v", got, err)
		}
		url := s.URL(sim.Cinder) + "/volumes/" + vol.ID + "/metadata"
		var meta struct {
			Metadata map[string]string `json:"metadata"`
			Meta     map[string]string `json:"meta"`
		}
		call := func(method, path string, body any, ok int) error {
			meta.Metadata, meta.Meta = nil, nil
			opts := &gophercloud.RequestOpts{JSONBody: body, JSONResponse: &meta, OkCodes: []int{ok}}
			if method == "DELETE" {
				opts.JSONResponse = nil // Cinder answers 200 without a body
			}
			_, err := pc.Request(ctx, method, url+path, opts)
			return err
		}
		if err := call("POST", "", map[string]any{"metadata": map[string]string{"c": "3"}}, 200); err != nil || len(meta.Metadata) != 2 || meta.Metadata["c"] != "3" {
			t.Errorf("POST merges: %v %v", meta.Metadata, err)
		}
		if err := call("PUT", "", map[string]any{"metadata": map[string]string{"d": "4"}}, 200); err != nil || len(meta.Metadata) != 1 || meta.Metadata["d"] != "4" {
			t.Errorf("PUT replaces: %v %v", meta.Metadata, err)
		}
		if err := call("GET", "/d", nil, 200); err != nil || meta.Meta["d"] != "4" {
			t.Errorf("GET a key: %v %v", meta.Meta, err)
		}
		if err := call("PUT", "/e", map[string]any{"meta": map[string]string{"e": "5"}}, 200); err != nil || meta.Meta["e"] != "5" {
			t.Errorf("PUT a key: %v %v", meta.Meta, err)
		}
		if err := call("PUT", "/e", map[string]any{"meta": map[string]string{"f": "5"}}, 200); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Errorf("a key the URI does not name: %v", err)
		}
		if err := call("DELETE", "/d", nil, 200); err != nil {
			t.Errorf("DELETE a key: %v", err)
		}
		if err := call("DELETE", "/d", nil, 200); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("DELETE a missing key: %v", err)
		}
		if v, _ := volumes.Get(ctx, storage, vol.ID).Extract(); len(v.Metadata) != 1 || v.Metadata["e"] != "5" {
			t.Errorf("metadata after: %v", v.Metadata)
		}
		bad := map[string]any{"volume": map[string]any{"size": 5}}
		if _, err := pc.Request(ctx, "PUT", s.URL(sim.Cinder)+"/volumes/"+vol.ID, &gophercloud.RequestOpts{JSONBody: bad, OkCodes: []int{200}}); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Errorf("updating the size: %v", err)
		}
	})
}

// TestAttachmentsAPI: an attach through Nova makes a Cinder attachment with
// its own id, attaching then attached, listed and shown from 3.27.
func TestAttachmentsAPI(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		storage, _ := openstack.NewBlockStorageV3(pc, eo)
		compute, _ := openstack.NewComputeV2(pc, eo)
		vol, err := volumes.Create(ctx, storage, volumes.CreateOpts{Size: 1}, nil).Extract()
		if err != nil {
			t.Fatal(err)
		}
		simtest.Until(t, "available", func() (bool, error) {
			v, err := volumes.Get(ctx, storage, vol.ID).Extract()
			return v.Status == "available", err
		})
		srv := s.Seeded.Servers["k8scluster-minion-0"]
		if _, err := volumeattach.Create(ctx, compute, srv.ID, volumeattach.CreateOpts{VolumeID: vol.ID}).Extract(); err != nil {
			t.Fatal(err)
		}
		simtest.Until(t, "in-use", func() (bool, error) {
			v, err := volumes.Get(ctx, storage, vol.ID).Extract()
			return v.Status == "in-use", err
		})
		if _, err := attachments.List(storage, nil).AllPages(ctx); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("attachments before 3.27: %v", err)
		}
		storage.Microversion = "3.27"
		pages, err := attachments.List(storage, attachments.ListOpts{VolumeID: vol.ID}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		list, _ := attachments.ExtractAttachments(pages)
		if len(list) != 1 || list[0].ID == vol.ID || list[0].Instance != srv.ID || list[0].Status != "attached" {
			t.Fatalf("attachments %+v", list)
		}
		v, _ := volumes.Get(ctx, storage, vol.ID).Extract()
		if len(v.Attachments) != 1 || v.Attachments[0].AttachmentID != list[0].ID {
			t.Errorf("the volume's attachment %+v is not %s", v.Attachments, list[0].ID)
		}
		got, err := attachments.Get(ctx, storage, list[0].ID).Extract()
		if err != nil || got.AttachMode != "rw" || got.VolumeID != vol.ID || got.AttachedAt.IsZero() {
			t.Errorf("show: %+v %v", got, err)
		}
		if _, err := attachments.Get(ctx, storage, vol.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("the volume id is not an attachment id: %v", err)
		}
		if _, err := attachments.List(storage, attachments.ListOpts{Status: "attaching"}).AllPages(ctx); err != nil {
			t.Errorf("a status filter: %v", err)
		}
		if _, err := pc.Request(ctx, "GET", s.URL(sim.Cinder)+"/attachments?server=x", &gophercloud.RequestOpts{
			MoreHeaders: map[string]string{"OpenStack-API-Version": "volume 3.27"}, OkCodes: []int{200}}); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Errorf("an unknown filter: %v", err)
		}
	})
}

// TestAttachmentWrites attaches a volume through Cinder's attachments API
// as Nova does (reserve, connect, complete; 3.27 and 3.44) with
// gophercloud, and detaches it, the volume's status following each step:
// reserved, attaching, in-use; detaching, available.
func TestAttachmentWrites(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		storage, _ := openstack.NewBlockStorageV3(pc, eo)
		vol, err := volumes.Create(ctx, storage, volumes.CreateOpts{Size: 1}, nil).Extract()
		if err != nil {
			t.Fatal(err)
		}
		s.World.Settle()
		volumeStatus := func(want string) {
			t.Helper()
			v, err := volumes.Get(ctx, storage, vol.ID).Extract()
			if err != nil || v.Status != want {
				t.Fatalf("volume %s %v, want %s", v.Status, err, want)
			}
		}
		node0, node1 := s.Seeded.Servers["k8scluster-minion-0"].ID, s.Seeded.Servers["k8scluster-minion-1"].ID
		create := attachments.CreateOpts{VolumeUUID: vol.ID, InstanceUUID: node0}
		storage.Microversion = "3.26"
		if _, err := attachments.Create(ctx, storage, create).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("create before 3.27: %v", err)
		}
		storage.Microversion = "3.27"
		att, err := attachments.Create(ctx, storage, create).Extract()
		if err != nil || att.Status != "reserved" || att.Instance != node0 || att.VolumeID != vol.ID || len(att.ConnectionInfo) != 0 {
			t.Fatalf("reserved: %+v %v", att, err)
		}
		volumeStatus("reserved")
		if _, err := attachments.Create(ctx, storage, attachments.CreateOpts{VolumeUUID: vol.ID, InstanceUUID: node1}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Errorf("a second instance on a volume that is not multiattach: %v", err)
		}
		// The instance that holds the volume may reserve it again, as Nova
		// does on a retried attach; deleting that reservation keeps the first.
		again, err := attachments.Create(ctx, storage, create).Extract()
		if err != nil {
			t.Fatalf("the same instance again: %v", err)
		}
		if err := attachments.Delete(ctx, storage, again.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		volumeStatus("reserved")

		connector := map[string]any{"host": "k8scluster-minion-0", "initiator": "iqn.1993-08.org.debian:01:0", "multipath": false}
		att, err = attachments.Update(ctx, storage, att.ID, attachments.UpdateOpts{Connector: connector}).Extract()
		if err != nil || att.Status != "attaching" || att.ConnectionInfo["driver_volume_type"] != "vmdk" {
			t.Fatalf("connected: %+v %v", att, err)
		}
		volumeStatus("attaching")
		if err := attachments.Complete(ctx, storage, att.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("complete before 3.44: %v", err)
		}
		storage.Microversion = "3.44"
		if err := attachments.Complete(ctx, storage, att.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		volumeStatus("in-use")
		got, err := attachments.Get(ctx, storage, att.ID).Extract()
		if err != nil || got.Status != "attached" || got.AttachedAt.IsZero() || got.AttachMode != "rw" {
			t.Errorf("completed: %+v %v", got, err)
		}
		v, _ := volumes.Get(ctx, storage, vol.ID).Extract()
		if len(v.Attachments) != 1 || v.Attachments[0].AttachmentID != att.ID || v.Attachments[0].ServerID != node0 {
			t.Errorf("the volume's attachments %+v", v.Attachments)
		}

		if err := attachments.Delete(ctx, storage, att.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		volumeStatus("detaching")
		s.World.Settle()
		volumeStatus("available")
		if _, err := attachments.Get(ctx, storage, att.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("a deleted attachment: %v", err)
		}
		for what, err := range map[string]error{
			"update":   attachments.Update(ctx, storage, att.ID, attachments.UpdateOpts{Connector: connector}).Err,
			"complete": attachments.Complete(ctx, storage, att.ID).ExtractErr(),
			"delete":   attachments.Delete(ctx, storage, att.ID).ExtractErr(),
		} {
			if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
				t.Errorf("%s of a deleted attachment: %v", what, err)
			}
		}

		// A connector on create connects at once; the mode from 3.54.
		storage.Microversion = "3.54"
		att, err = attachments.Create(ctx, storage, attachments.CreateOpts{VolumeUUID: vol.ID, InstanceUUID: node1, Connector: connector, Mode: "ro"}).Extract()
		if err != nil || att.Status != "attaching" || att.AttachMode != "ro" {
			t.Fatalf("create with a connector: %+v %v", att, err)
		}
		volumeStatus("attaching")
		if err := volumes.Delete(ctx, storage, vol.ID, nil).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Errorf("deleting an attaching volume: %v", err)
		}

		// Refused bodies, in Cinder's format.
		url := s.URL(sim.Cinder) + "/attachments"
		for _, tc := range []struct {
			method, path, body, version string
			status                      int
			want                        string
		}{
			{"POST", "", `{"attachment":{"instance_uuid":"` + node0 + `"}}`, "3.27", 400, `'volume_uuid' is a required property`},
			{"POST", "", `{"attachment":{"volume_uuid":"x"}}`, "3.27", 400, `\"x\" is not a 'uuid'`},
			{"POST", "", `{"attachment":{"volume_uuid":"` + vol.ID + `","server":"x"}}`, "3.27", 400, `('server' was unexpected)`},
			{"POST", "", `{"attachment":{"volume_uuid":"` + vol.ID + `","mode":"ro"}}`, "3.53", 400, `('mode' was unexpected)`},
			{"POST", "", `{"attachment":{"volume_uuid":"` + vol.ID + `","mode":"rx"}}`, "3.54", 400, `is not one of ['rw', 'ro']`},
			{"POST", "", `{"attachment":{"volume_uuid":"00000000-0000-0000-0000-000000000000"}}`, "3.27", 404, `Volume 00000000-0000-0000-0000-000000000000 could not be found.`},
			{"POST", "", `{}`, "3.27", 400, `'attachment' is a required property`},
			{"PUT", "/" + att.ID, `{"attachment":{}}`, "3.27", 400, `'connector' is a required property`},
			{"PUT", "/" + att.ID, `{"attachment":{"connector":null}}`, "3.27", 400, `is not of type 'object'`},
			{"POST", "/" + att.ID + "/action", `{"os-complete":{}}`, "3.44", 400, `is not of type 'null'`},
			{"POST", "/" + att.ID + "/action", `{"os-reserve":null}`, "3.44", 400, `There is no such action`},
			{"DELETE", "/" + att.ID, ``, "3.26", 404, `The resource could not be found.`},
		} {
			got := simtest.Do(t, s, pc, simtest.Call{Method: tc.method, URL: url + tc.path, Body: tc.body,
				Header: map[string]string{"OpenStack-API-Version": "volume " + tc.version}})
			want := fmt.Sprintf(`{"%s":{"code":%d,"message":`, map[int]string{400: "badRequest", 404: "itemNotFound"}[tc.status], tc.status)
			if got.Status != tc.status || !strings.Contains(got.Body, want) || !strings.Contains(got.Body, tc.want) {
				t.Errorf("%s %s %s at %s: %d %s, want %d with %s", tc.method, tc.path, tc.body, tc.version, got.Status, got.Body, tc.status, tc.want)
			}
		}
		if att, err := attachments.Get(ctx, storage, att.ID).Extract(); err != nil || att.Status != "attaching" {
			t.Errorf("the refused requests changed the attachment: %+v %v", att, err)
		}
	}, sim.Options{Transition: time.Hour})
}
