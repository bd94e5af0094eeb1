package glance_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/epks/epks/pkg/sim"
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
