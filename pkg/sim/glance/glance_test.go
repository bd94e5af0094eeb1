package glance_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/simtest"
)

func TestImages(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		c, err := openstack.NewImageV2(pc, gophercloud.EndpointOpts{Region: "RegionOne"})
		if err != nil {
			t.Fatalf("the catalog has no image service: %v", err)
		}
		count := func(opts images.ListOpts) int {
			t.Helper()
			page, err := images.List(c, opts).AllPages(ctx)
			if err != nil {
				t.Fatalf("list %+v: %v", opts, err)
			}
			list, _ := images.ExtractImages(page)
			return len(list)
		}
		for _, tc := range []struct {
			opts images.ListOpts
			want int
		}{
			{images.ListOpts{}, 1},
			{images.ListOpts{Name: "ubuntu_dual_nic"}, 1},
			{images.ListOpts{Name: "other"}, 0},
			{images.ListOpts{Status: images.ImageStatusActive}, 1},
			{images.ListOpts{Status: images.ImageStatusQueued}, 0},
			{images.ListOpts{Visibility: images.ImageVisibilityPublic}, 1},
			{images.ListOpts{Visibility: images.ImageVisibilityPrivate}, 0},
		} {
			if got := count(tc.opts); got != tc.want {
				t.Errorf("list %+v: %d images, want %d", tc.opts, got, tc.want)
			}
		}

		img, err := images.Create(ctx, c, images.CreateOpts{Name: "uploaded", DiskFormat: "qcow2", ContainerFormat: "bare", Tags: []string{"epks"}}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if img.Status != images.ImageStatusQueued {
			t.Errorf("new image %s, want queued", img.Status)
		}
		if err := imagedata.Upload(ctx, c, img.ID, strings.NewReader("qcow2 bytes")).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		got, _ := images.Get(ctx, c, img.ID).Extract()
		if got.Status != images.ImageStatusActive || got.SizeBytes != int64(len("qcow2 bytes")) {
			t.Errorf("after upload: %s, %d bytes", got.Status, got.SizeBytes)
		}
		if count(images.ListOpts{Tags: []string{"epks"}}) != 1 {
			t.Error("tag filter")
		}
		if err := images.Delete(ctx, c, img.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		_, err = images.Get(ctx, c, img.ID).Extract()
		if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("deleted image: %v", err)
		}

		// Unserved routes answer as Glance does, in plain text.
		resp, err := s.HTTPClient().Get(s.URL(sim.Glance) + "/v2/nothing")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(string(body), "401 Unauthorized") {
			t.Errorf("unauthenticated: %d %q", resp.StatusCode, body)
		}
	})
}

// TestAnswers asks Glance's handlers, in order, what clients ask of them
// and what they refuse, and checks each status, headers and the error in
// Glance's plain text ("404 Not Found\n\n<message>\n\n   ").
func TestAnswers(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		seeded := s.World.Images(nil)[0].ID
		theirs := s.World.CreateImage(model.Image{Name: "theirs", ProjectID: "another-project", Visibility: "public"}).ID
		const id = "11111111-2222-3333-4444-555555555555"
		glance := s.URL(sim.Glance)
		for _, tc := range []struct {
			method, path, body string
			header             map[string]string
			status             int
			want               []string // substrings of the body; of an error, its message
			wantHeader         map[string]string
		}{
			{method: "GET", path: "/", status: 300, want: []string{`"id":"v2.9","links"`, `"status":"CURRENT"`}},
			{method: "GET", path: "/versions", status: 300, want: []string{`"id":"v2.0"`}},
			{method: "GET", path: "/v2/images", header: map[string]string{"X-Auth-Token": "nope"}, status: 401,
				want: []string{"This server could not verify that you are authorized to access the document you requested."}},
			{method: "GET", path: "/v2/images?size_min=1", status: 400, want: []string{"Filter size_min is not supported by this simulator."}},
			{method: "GET", path: "/v2/images?limit=x", status: 400, want: []string{`limit "x" is not a non-negative integer`}},
			{method: "GET", path: "/v2/images?marker=nope", status: 400, want: []string{"marker [nope] not found"}},
			{method: "GET", path: "/v2/images/nope", status: 404, want: []string{"No image found with ID nope"}},
			{method: "POST", path: "/v2/images", body: `{`, status: 400, want: []string{"malformed request body"}},
			{method: "POST", path: "/v2/images", body: `{"visibility":"everyone"}`, status: 400, want: []string{"Invalid visibility value: everyone"}},
			{method: "POST", path: "/v2/images", body: `{"disk_format":"floppy"}`, status: 400, want: []string{"Invalid disk format 'floppy' for image."}},
			{method: "POST", path: "/v2/images", body: `{"container_format":"box"}`, status: 400, want: []string{"Invalid container format 'box' for image."}},
			{method: "POST", path: "/v2/images", body: `{"name":"x","hw_cores":5}`, status: 400, want: []string{"Provided object does not match schema 'image': 5 is not of type 'string' (hw_cores)"}},
			{method: "POST", path: "/v2/images", body: `{"id":"` + seeded + `"}`, status: 409, want: []string{"Image with identifier " + seeded + " already exists!"}},
			{method: "POST", path: "/v2/images", body: `{"id":"` + id + `","name":"img","disk_format":"qcow2","container_format":"bare","hw_disk_bus":"scsi","tags":["a"]}`,
				status: 201, want: []string{`"status":"queued"`, `"hw_disk_bus":"scsi"`, `"tags":["a"]`}, wantHeader: map[string]string{"Location": glance + "/v2/images/" + id}},
			{method: "PUT", path: "/v2/images/" + id + "/tags/b", status: 204},
			{method: "DELETE", path: "/v2/images/" + id + "/tags/a", status: 204},
			{method: "PUT", path: "/v2/images/nope/tags/b", status: 404, want: []string{"No image found with ID nope"}},
			{method: "GET", path: "/v2/images/" + id, status: 200, want: []string{`"tags":["b"]`}},
			{method: "GET", path: "/v2/images?hw_disk_bus=in:ide,scsi&tag=b", status: 200, want: []string{`"id":"` + id + `"`}},
			{method: "PUT", path: "/v2/images/" + id + "/file", body: "qcow2 bytes", header: map[string]string{"Content-Type": "application/octet-stream"}, status: 204},
			{method: "PUT", path: "/v2/images/" + id + "/file", body: "qcow2 bytes", header: map[string]string{"Content-Type": "application/octet-stream"}, status: 409,
				want: []string{"Image status transition from active to saving is not allowed"}},
			{method: "GET", path: "/v2/images/" + id, status: 200, want: []string{`"status":"active"`, `"size":11`}},
			{method: "GET", path: "/v2/schemas/image", status: 200, want: []string{`"name":"image"`}},
			{method: "DELETE", path: "/v2/images/" + theirs, status: 403, want: []string{"You are not permitted to delete this image."}},
			{method: "DELETE", path: "/v2/images/" + id, status: 204},
			{method: "DELETE", path: "/v2/images/" + id, status: 404, want: []string{"No image found with ID " + id}},
		} {
			name := tc.method + " " + tc.path
			got := simtest.Do(t, s, pc, simtest.Call{Method: tc.method, URL: glance + tc.path, Body: tc.body, Header: tc.header})
			if got.Status != tc.status {
				t.Errorf("%s: %d %s, want %d", name, got.Status, got.Body, tc.status)
				continue
			}
			for _, w := range tc.want {
				if tc.status >= 400 {
					w = fmt.Sprintf("%d %s\n\n%s", tc.status, http.StatusText(tc.status), w)
				}
				if !strings.Contains(got.Body, w) {
					t.Errorf("%s: %q, want %q", name, got.Body, w)
				}
			}
			if tc.status >= 400 && (!strings.HasPrefix(got.Body, fmt.Sprintf("%d ", tc.status)) || !strings.HasPrefix(got.Header.Get("Content-Type"), "text/plain")) {
				t.Errorf("%s: not Glance's plain-text error: %s %q", name, got.Header.Get("Content-Type"), got.Body)
			}
			for k, v := range tc.wantHeader {
				if got.Header.Get(k) != v {
					t.Errorf("%s: %s %q, want %q", name, k, got.Header.Get(k), v)
				}
			}
		}
	})
}
