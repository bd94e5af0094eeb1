//go:build integration

package charts_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/epks/epks/pkg/render"
	"github.com/epks/epks/test/localcluster"
	"github.com/epks/epks/test/localcluster/clustertest"
)

// TestAPIServerAcceptsKnobs renders the chart with every knob of every
// component set (and the new node agent fields: AppArmor, hostPID, the
// PodDisruptionBudgets) and has a real kube-apiserver validate each object
// strictly (server-side dry run, unknown fields refused).
func TestAPIServerAcceptsKnobs(t *testing.T) {
	c := clustertest.Start(t, localcluster.Options{})
	ctx := context.Background()
	v := set(fullValues(t), "nsxNodeAgent.ovsInContainer", true)
	for _, comp := range knobComponents {
		for k, val := range knobValues(comp.args, comp.pdb) {
			set(v, comp.values+"."+k, val)
		}
	}
	objs := renderValues(t, v, render.Options{})

	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "epks-system"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	disco := memory.NewMemCacheClient(c.Client.Discovery())
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(disco)
	// CRDs first, for real, so that the snapshot classes have their API.
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
		if _, err := dyn.Resource(gvr).Create(ctx, o, metav1.CreateOptions{}); err != nil {
			t.Fatalf("CRD %s: %v", o.GetName(), err)
		}
	}
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			continue
		}
		gvk := o.GroupVersionKind()
		var mapping *meta.RESTMapping
		// The CRDs' APIs appear in discovery a moment after their creation.
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				disco.Invalidate()
				return false, nil
			}
			mapping = m
			return true, nil
		})
		if err != nil {
			t.Fatalf("%s %s: no API: %v", gvk, o.GetName(), err)
		}
		ri := dyn.Resource(mapping.Resource)
		var r dynamic.ResourceInterface = ri
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ns := o.GetNamespace()
			if ns == "" {
				ns = "epks-system"
			}
			r = ri.Namespace(ns)
		}
		if _, err := r.Create(ctx, o, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}); err != nil {
			t.Errorf("%s %s: the API server refuses it: %v", o.GetKind(), o.GetName(), err)
		}
	}
}
