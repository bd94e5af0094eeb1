//go:build integration

package install_test

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/install"
	"github.com/epks/epks/pkg/render"
	"github.com/epks/epks/test/localcluster"
	"github.com/epks/epks/test/localcluster/clustertest"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// TestCRDs proves that a first install works with a client whose discovery
// was read before the snapshot CRDs existed, that --purge-crds removes only
// the CRDs epks created, and that snapshot CRDs and a snapshot-controller that
// someone else installed are reused and not duplicated.
func TestCRDs(t *testing.T) {
	c := clustertest.Start(t, localcluster.Options{})
	ctx := context.Background()
	crds := dynamic.NewForConfigOrDie(c.Config).Resource(crdGVR)

	t.Run("first install with discovery read before the CRDs", func(t *testing.T) {
		kubeconfig, namespace, cache := c.Kubeconfig(), ns, t.TempDir()
		getter := genericclioptions.NewConfigFlags(true)
		getter.KubeConfig, getter.Namespace, getter.CacheDir = &kubeconfig, &namespace, &cache
		// A client that already asked discovery, as the CLI does, before the
		// snapshot CRDs existed.
		mapper, err := getter.ToRESTMapper()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mapper.RESTMapping(schema.GroupKind{Group: "apps", Kind: "Deployment"}); err != nil {
			t.Fatal(err)
		}
		if _, err := mapper.RESTMapping(schema.GroupKind{Group: "snapshot.storage.k8s.io", Kind: "VolumeSnapshotClass"}); err == nil {
			t.Fatal("the cluster already serves VolumeSnapshotClass: the test needs a cluster without the CRDs")
		}
		var out bytes.Buffer
		o := options(t, c, seedValues(t), &out)
		o.Getter = getter
		if _, err := install.Install(ctx, o); err != nil {
			t.Fatalf("install: %v\n%s", err, out.String())
		}
		vsc := schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"}
		if list, err := dynamic.NewForConfigOrDie(c.Config).Resource(vsc).List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) == 0 {
			t.Errorf("no VolumeSnapshotClass was created: %v", err)
		}
		res, err := install.Uninstall(ctx, options(t, c, nil, &bytes.Buffer{}), install.UninstallOptions{PurgeCRDs: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.CRDsRemoved) != 8 || len(res.CRDsKept) != 0 {
			t.Errorf("purge after epks created every CRD: removed %v, kept %v", res.CRDsRemoved, res.CRDsKept)
		}
	})

	t.Run("snapshot CRDs and snapshot-controller of someone else", func(t *testing.T) {
		// Someone else's snapshot CRDs (the same upstream files, without
		// epks's mark) and snapshot-controller.
		ch, err := charts.LoadAddons()
		if err != nil {
			t.Fatal(err)
		}
		var theirs []string
		for _, f := range ch.CRDObjects() {
			objs, err := render.Objects(string(f.File.Data))
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				if !strings.HasSuffix(o.GetName(), ".snapshot.storage.k8s.io") {
					continue
				}
				if _, err := crds.Create(ctx, o, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				theirs = append(theirs, o.GetName())
			}
		}
		sort.Strings(theirs)
		if len(theirs) != 3 {
			t.Fatalf("snapshot CRDs in the chart: %v", theirs)
		}
		one := int32(1)
		labels := map[string]string{"app.kubernetes.io/name": "snapshot-controller"}
		if _, err := c.Client.AppsV1().Deployments("kube-system").Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "snapshot-controller", Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: &one,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: "snapshot-controller", Image: "registry.k8s.io/sig-storage/snapshot-controller:v8.2.0",
					}}},
				},
			},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}

		var out bytes.Buffer
		res, err := install.Install(ctx, options(t, c, seedValues(t), &out))
		if err != nil {
			t.Fatalf("install: %v\n%s", err, out.String())
		}
		reused := append([]string(nil), res.CRDs.Reused...)
		sort.Strings(reused)
		if strings.Join(reused, ",") != strings.Join(theirs, ",") {
			t.Errorf("reused CRDs %v, want %v", reused, theirs)
		}
		if res.CRDs.SnapshotController != "kube-system/snapshot-controller" {
			t.Errorf("foreign snapshot-controller: %q", res.CRDs.SnapshotController)
		}
		for _, want := range []string{"Reusing 3 CRDs installed by someone else", "not running a second one"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("progress does not say %q:\n%s", want, out.String())
			}
		}
		if _, err := c.Client.AppsV1().Deployments(ns).Get(ctx, release+"-snapshot-controller", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("a second snapshot-controller was installed: %v", err)
		}
		for _, comp := range res.Components {
			if comp.Name == "snapshot-controller" {
				t.Errorf("the chart's snapshot-controller is a component: %s", comp.Summary())
			}
		}

		un, err := install.Uninstall(ctx, options(t, c, nil, &bytes.Buffer{}), install.UninstallOptions{PurgeCRDs: true})
		if err != nil {
			t.Fatal(err)
		}
		kept := append([]string(nil), un.CRDsKept...)
		sort.Strings(kept)
		if strings.Join(kept, ",") != strings.Join(theirs, ",") || len(un.CRDsRemoved) != 5 {
			t.Errorf("purge: removed %v, kept %v; want the 5 epks created removed and %v kept", un.CRDsRemoved, kept, theirs)
		}
		for _, name := range theirs {
			if _, err := crds.Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Errorf("someone else's CRD %s was purged: %v", name, err)
			}
		}
	})
}
