//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
	"sigs.k8s.io/e2e-framework/pkg/types"

	"github.com/epks/epks/test/podrun"
	"github.com/epks/epks/test/testbed"
)

// These features break the installed release on purpose, to prove that the
// suite tests the chart's own RBAC and cloud.conf: with either broken the
// components fail, visibly, and with the release repaired they work again.
// They change the release, so they run on the testbed only, last.

// brokenRBACFeature takes from the cinder CSI controller's ClusterRole the
// right to create PersistentVolumes, which only the csi-provisioner uses.
func brokenRBACFeature() types.Feature {
	w := &inNamespace{prefix: "e2e-rbac"}
	role := testbed.Release + "-cinder-csi-controller"
	return features.New("a sidecar without its RBAC").
		Setup(w.setup).
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			rbac := clientset(t, cfg).RbacV1().ClusterRoles()
			cr, err := rbac.Get(ctx, role, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			taken := false
			for i, r := range cr.Rules {
				if slices.Contains(r.Resources, "persistentvolumes") {
					cr.Rules[i].Verbs = slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return v == "create" })
					taken = true
				}
			}
			if !taken {
				t.Fatalf("ClusterRole %s has no rule on persistentvolumes: %+v", role, cr.Rules)
			}
			if _, err := rbac.Update(ctx, cr, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			return ctx
		}).
		Assess("the provisioner cannot create the claim's volume, and says why", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			if _, err := w.Claim(ctx, "starved", "1Gi", ""); err != nil {
				t.Fatal(err)
			}
			if _, err := w.PodWithClaim(ctx, "starved", "starved"); err != nil {
				t.Fatal(err)
			}
			tb := bedOf(ctx)
			eventually(ctx, t, "the provisioner refused by the API server", 2*time.Minute, func() (bool, string) {
				c := tb.Container("cinder-csi-controller", "csi-provisioner")
				if c == nil {
					return false, "no csi-provisioner running"
				}
				return strings.Contains(c.Log(), "persistentvolumes is forbidden"), "no forbidden in its log yet"
			})
			pvc, err := w.Client.CoreV1().PersistentVolumeClaims(w.Namespace).Get(ctx, "starved", metav1.GetOptions{})
			if err != nil || pvc.Status.Phase == corev1.ClaimBound {
				t.Fatalf("the claim is bound without the provisioner's RBAC: %v %v", pvc.Status.Phase, err)
			}
			return ctx
		}).
		Assess("with the release repaired, the claim is bound", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			if err := bedOf(ctx).Repair(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := w.WaitBound(ctx, "starved"); err != nil {
				t.Fatal(err)
			}
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			if err := w.DeleteVolumes(ctx); err != nil {
				t.Error(err)
			}
			return ctx
		}).
		Teardown(w.teardown).
		Feature()
}

// brokenCloudConfFeature installs the release with a wrong OpenStack
// password: the pods roll with the new cloud.conf, and the cinder CSI
// plugin and the OCCM cannot authenticate.
func brokenCloudConfFeature() types.Feature {
	return features.New("a wrong cloud.conf").
		Assess("the cloud components cannot authenticate, and say so", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			tb := bedOf(ctx)
			before := podNames(tb)
			if err := tb.InstallUnchecked(ctx, map[string]any{"openstack": map[string]any{"password": "not-the-password"}}); err != nil {
				t.Fatal(err)
			}
			for _, comp := range []struct{ component, container string }{
				{"cinder-csi-controller", "cinder-csi-plugin"},
				{"occm", "openstack-cloud-controller-manager"},
			} {
				eventually(ctx, t, comp.container+" of the new cloud.conf refused by Keystone", 2*time.Minute, func() (bool, string) {
					c := newContainer(tb, before, comp.component, comp.container)
					if c == nil {
						return false, "the pod has not rolled yet"
					}
					n, last := c.Restarts()
					return n > 0 && strings.Contains(c.Log(), "/v3/auth/tokens], but got 401"), fmt.Sprintf("restarts %d, last exit %v", n, last)
				})
			}
			return ctx
		}).
		Assess("with the right cloud.conf again, volumes are provisioned", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			tb := bedOf(ctx)
			if err := tb.Install(ctx, nil); err != nil {
				t.Fatal(err)
			}
			w := &inNamespace{prefix: "e2e-conf"}
			ctx = w.setup(ctx, t, cfg)
			defer func() {
				if err := w.DeleteVolumes(ctx); err != nil {
					t.Error(err)
				}
				w.teardown(ctx, t, cfg)
			}()
			if _, err := w.Claim(ctx, "after", "1Gi", ""); err != nil {
				t.Fatal(err)
			}
			if _, err := w.PodWithClaim(ctx, "after", "after"); err != nil {
				t.Fatal(err)
			}
			if _, err := w.WaitBound(ctx, "after"); err != nil {
				t.Fatal(err)
			}
			return ctx
		}).
		Feature()
}

// podNames returns the names of the pods that run now.
func podNames(tb *testbed.Testbed) []string {
	var out []string
	for _, p := range tb.Pods.Pods() {
		out = append(out, p.Name)
	}
	return out
}

// newContainer returns a container of a component's pod that was not
// running before.
func newContainer(tb *testbed.Testbed, before []string, component, container string) *podrun.Container {
	for _, p := range tb.Pods.Pods() {
		if strings.HasPrefix(p.Name, testbed.Release+"-"+component+"-") && !slices.Contains(before, p.Name) {
			if c := p.Container(container); c != nil {
				return c
			}
		}
	}
	return nil
}

// noSecretsInLogsFeature reads every log of every component that ran,
// failed starts included, for the credentials they were given.
func noSecretsInLogsFeature() types.Feature {
	return features.New("secrets").
		Assess("no component logged a credential", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			tb := bedOf(ctx)
			p := tb.Params
			secrets := map[string]string{"OpenStack password": p.OSPassword, "NSX password": p.NSXPassword, "the wrong password": "not-the-password"}
			logs, err := tb.AllLogs()
			if err != nil {
				t.Fatal(err)
			}
			if len(logs) < len(testbed.Components) {
				t.Fatalf("only %d logs: %v", len(logs), logs)
			}
			for path, text := range logs {
				for what, secret := range secrets {
					if secret != "" && strings.Contains(text, secret) {
						t.Errorf("%s holds %s", path, what)
					}
				}
			}
			return ctx
		}).
		Feature()
}
