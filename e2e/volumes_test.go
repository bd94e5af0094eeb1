//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
	"sigs.k8s.io/e2e-framework/pkg/types"

	"github.com/epks/epks/pkg/tagger"
	"github.com/epks/epks/test/scenario"
	"github.com/epks/epks/test/testbed"
)

// volumesFeature: a claim gets a Cinder volume, attached to its pod's node
// through Nova, snapshotted, restored and expanded; deleting everything
// leaves nothing in Cinder.
func volumesFeature() types.Feature {
	w := &inNamespace{prefix: "e2e-vol"}
	var (
		pv         *corev1.PersistentVolume
		node       string
		snapHandle string
	)
	return features.New("volumes").
		Setup(w.setup).
		Assess("a claim on the default StorageClass is bound to a Cinder volume", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			if _, err := w.Claim(ctx, "data", "1Gi", ""); err != nil {
				t.Fatal(err)
			}
			if _, err := w.PodWithClaim(ctx, "writer", "data"); err != nil {
				t.Fatal(err)
			}
			var err error
			if pv, err = w.WaitBound(ctx, "data"); err != nil {
				t.Fatal(err)
			}
			if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != testbed.CSIDriver {
				t.Fatalf("volume %s is not the cinder CSI driver's: %+v", pv.Name, pv.Spec.PersistentVolumeSource)
			}
			if tb := bedOf(ctx); tb != nil {
				vol, ok := cloudVolume(tb, scenario.VolumeHandle(pv))
				if !ok || vol.Name != pv.Name || vol.Size != 1 {
					t.Errorf("Cinder volume of %s: %+v (found %v), want name %s and 1 GiB", pv.Name, vol, ok, pv.Name)
				}
			}
			return ctx
		}).
		Assess("the pod's volume is attached to its node through Nova", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			var err error
			if node, err = w.WaitScheduled(ctx, "writer"); err != nil {
				t.Fatal(err)
			}
			if _, err := w.WaitAttached(ctx, pv.Name, node); err != nil {
				t.Fatal(err)
			}
			tb := bedOf(ctx)
			if tb == nil {
				return ctx
			}
			n, err := clientset(t, cfg).CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			server, _ := tagger.ServerID(n.Spec.ProviderID)
			vol, _ := cloudVolume(tb, scenario.VolumeHandle(pv))
			if vol.Status != "in-use" || !slices.Equal(vol.AttachedTo, []string{server}) {
				t.Errorf("Cinder volume %s is %s, attached to %v; want in-use on %s's server %s", vol.ID, vol.Status, vol.AttachedTo, node, server)
			}
			return ctx
		}).
		Assess("a VolumeSnapshot becomes ready with a Cinder snapshot behind it", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			_, content, err := w.Snapshot(ctx, "data-snap", "data")
			if err != nil {
				t.Fatal(err)
			}
			snapHandle = scenario.SnapshotHandle(content)
			if tb := bedOf(ctx); tb != nil {
				var found bool
				for _, s := range tb.Sim.Snapshot().Snapshots {
					if s.ID == snapHandle {
						found = true
						if s.VolumeID != scenario.VolumeHandle(pv) || s.Status != "available" {
							t.Errorf("Cinder snapshot %+v, want of volume %s and available", s, scenario.VolumeHandle(pv))
						}
					}
				}
				if !found {
					t.Errorf("no Cinder snapshot %s", snapHandle)
				}
			}
			return ctx
		}).
		Assess("a claim restored from the snapshot is bound to a volume made from it", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			if _, err := w.Claim(ctx, "restored", "1Gi", "data-snap"); err != nil {
				t.Fatal(err)
			}
			if _, err := w.PodWithClaim(ctx, "reader", "restored"); err != nil {
				t.Fatal(err)
			}
			restored, err := w.WaitBound(ctx, "restored")
			if err != nil {
				t.Fatal(err)
			}
			if tb := bedOf(ctx); tb != nil {
				vol, ok := cloudVolume(tb, scenario.VolumeHandle(restored))
				if !ok || vol.SnapshotID != snapHandle {
					t.Errorf("restored Cinder volume %+v (found %v), want made from snapshot %s", vol, ok, snapHandle)
				}
			}
			return ctx
		}).
		Assess("the claim grows", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			grown, claim, err := w.Expand(ctx, "data", "2Gi")
			if err != nil {
				t.Fatal(err)
			}
			if got := grown.Spec.Capacity[corev1.ResourceStorage]; got.Cmp(resource.MustParse("2Gi")) != 0 {
				t.Errorf("volume capacity %s, want 2Gi", got.String())
			}
			tb := bedOf(ctx)
			if tb == nil {
				return ctx
			}
			if vol, _ := cloudVolume(tb, scenario.VolumeHandle(pv)); vol.Size != 2 {
				t.Errorf("Cinder volume %s is %d GiB, want 2", vol.ID, vol.Size)
			}
			// The file system grows on the node, by the node plugin, which
			// kwok's nodes do not run: the claim says it waits for that.
			pending := false
			for _, c := range claim.Status.Conditions {
				pending = pending || c.Type == corev1.PersistentVolumeClaimFileSystemResizePending
			}
			if !pending {
				t.Errorf("claim conditions %+v lack FileSystemResizePending", claim.Status.Conditions)
			}
			return ctx
		}).
		Assess("deleting everything leaves no volume or snapshot in Cinder", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			if err := w.DeleteVolumes(ctx); err != nil {
				t.Fatal(err)
			}
			tb := bedOf(ctx)
			if tb == nil {
				return ctx
			}
			eventually(ctx, t, "Cinder empty", time.Minute, func() (bool, string) {
				s := tb.Sim.Snapshot()
				return len(s.Volumes) == 0 && len(s.Snapshots) == 0, fmt.Sprintf("volumes %v, snapshots %v", s.Volumes, s.Snapshots)
			})
			return ctx
		}).
		Teardown(w.teardown).
		Feature()
}
