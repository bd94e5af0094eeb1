//go:build integration

package install_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/install"
	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/values"
	"github.com/epks/epks/test/localcluster"
	"github.com/epks/epks/test/localcluster/clustertest"
)

const (
	ns      = "epks-system"
	release = "epks-addons"
)

// seedValues are the values of the runbook's example parameters, with a pod
// network so that the port tagger is installed too.
func seedValues(t *testing.T) map[string]any {
	t.Helper()
	p, err := params.Load("../../examples/seed-params.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p.PodNetwork = "pod-network"
	return values.For(p, p.OpenStackCA).Values
}

func options(t *testing.T, c *clustertest.Cluster, v map[string]any, out *bytes.Buffer) install.Options {
	t.Helper()
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := c.Kubeconfig()
	namespace := ns
	getter := &genericclioptions.ConfigFlags{KubeConfig: &kubeconfig, Namespace: &namespace}
	return install.Options{
		Getter: getter, Namespace: ns, ReleaseName: release, Chart: ch, Values: v,
		Timeout: 3 * time.Minute, PollInterval: 500 * time.Millisecond, Progress: install.NewPrinter(out),
	}
}

// TestInstallLifecycle installs the chart on the local control plane, checks
// every component became Available and each ServiceAccount has the access it
// needs and no more, re-installs to prove nothing changes, fails an upgrade to
// prove the rollback, and uninstalls to prove nothing is left.
func TestInstallLifecycle(t *testing.T) {
	c := clustertest.Start(t, localcluster.Options{})
	ctx := context.Background()
	var out bytes.Buffer
	opts := options(t, c, seedValues(t), &out)

	res, err := install.Install(ctx, opts)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out.String())
	}
	if !res.Changed || res.Revision != 1 {
		t.Errorf("first install: changed=%v revision=%d", res.Changed, res.Revision)
	}
	var names []string
	for _, comp := range res.Components {
		if !comp.Ready {
			t.Errorf("component %s not ready: %s", comp.Name, comp.Summary())
		}
		names = append(names, comp.Name)
	}
	sort.Strings(names)
	want := []string{"cinder-csi-controller", "cinder-csi-node", "crds", "ncp", "nsx-node-agent", "occm", "port-tagger", "snapshot-controller"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("components %v, want %v", names, want)
	}
	for _, w := range want {
		if !strings.Contains(out.String(), "✓ "+w) {
			t.Errorf("no progress line for %s:\n%s", w, out.String())
		}
	}
	// The OCCM runs on the control-plane node only; the node agents on all three.
	for _, comp := range res.Components {
		for _, w := range comp.Workloads {
			if w.Name == release+"-occm" && w.Readiness.Summary != "1/1 nodes available" {
				t.Errorf("OCCM: %s", w.Readiness.Summary)
			}
			if w.Name == release+"-nsx-node-agent" && w.Readiness.Summary != "3/3 nodes available" {
				t.Errorf("node agent: %s", w.Readiness.Summary)
			}
		}
	}

	t.Run("rbac", func(t *testing.T) { checkRBAC(t, c) })

	t.Run("reinstall changes nothing", func(t *testing.T) {
		before := resourceVersions(t, c)
		res, err := install.Install(ctx, options(t, c, seedValues(t), &bytes.Buffer{}))
		if err != nil {
			t.Fatal(err)
		}
		if res.Changed || res.Revision != 1 {
			t.Errorf("re-install: changed=%v revision=%d", res.Changed, res.Revision)
		}
		after := resourceVersions(t, c)
		if len(before) == 0 || fmt.Sprint(before) != fmt.Sprint(after) {
			t.Errorf("objects changed on re-install:\nbefore %v\nafter  %v", before, after)
		}
	})

	t.Run("upgrade", func(t *testing.T) {
		v := seedValues(t)
		v["snapshotController"] = map[string]any{"replicas": 2}
		res, err := install.Install(ctx, options(t, c, v, &bytes.Buffer{}))
		if err != nil {
			t.Fatal(err)
		}
		if !res.Changed || res.Revision != 2 {
			t.Errorf("upgrade: changed=%v revision=%d", res.Changed, res.Revision)
		}
		d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, release+"-snapshot-controller", metav1.GetOptions{})
		if err != nil || d.Status.AvailableReplicas != 2 {
			t.Errorf("snapshot-controller after upgrade: %v %v", d.Status.AvailableReplicas, err)
		}
	})

	t.Run("failed upgrade rolls back", func(t *testing.T) {
		v := seedValues(t)
		v["snapshotController"] = map[string]any{"replicas": 2}
		// No node has 4000 CPUs: the controller cannot be scheduled.
		v["cinderCSI"].(map[string]any)["controller"] = map[string]any{
			"resources": map[string]any{"requests": map[string]any{"cpu": "4000"}},
		}
		o := options(t, c, v, &bytes.Buffer{})
		o.Timeout = 20 * time.Second
		_, err := install.Install(ctx, o)
		var fe *install.FailedError
		if !errors.As(err, &fe) {
			t.Fatalf("want a FailedError, got %v", err)
		}
		msg := err.Error()
		for _, want := range []string{"component cinder-csi-controller is not ready", "Insufficient cpu", "rolled back to revision 2"} {
			if !strings.Contains(msg, want) {
				t.Errorf("failure report lacks %q:\n%s", want, msg)
			}
		}
		// The rollback does not wait for readiness: poll until healthy.
		st := waitHealthy(t, c)
		if st.Revision != 4 {
			t.Errorf("after the rollback: revision %d (want 4, a copy of 2)", st.Revision)
		}
		d, _ := c.Client.AppsV1().Deployments(ns).Get(ctx, release+"-cinder-csi-controller", metav1.GetOptions{})
		if cpu := d.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().String(); cpu != "20m" {
			t.Errorf("the controller's request after the rollback: %s", cpu)
		}
	})

	t.Run("uninstall leaves nothing", func(t *testing.T) {
		o := options(t, c, nil, &bytes.Buffer{})
		res, err := install.Uninstall(ctx, o, install.UninstallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.ReleaseRemoved || !res.NamespaceRemoved || len(res.CRDsRemoved) != 0 {
			t.Errorf("uninstall: %+v", res)
		}
		if left := ours(t, c); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
		if _, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("namespace %s still there: %v", ns, err)
		}
		crds := dynamic.NewForConfigOrDie(c.Config).Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
		if _, err := crds.Get(ctx, "volumesnapshots.snapshot.storage.k8s.io", metav1.GetOptions{}); err != nil {
			t.Errorf("the snapshot CRDs must stay without --purge-crds: %v", err)
		}
		res, err = install.Uninstall(ctx, o, install.UninstallOptions{PurgeCRDs: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.ReleaseRemoved || len(res.CRDsRemoved) != 8 {
			t.Errorf("purge: %+v", res)
		}
		if _, err := crds.Get(ctx, "volumesnapshots.snapshot.storage.k8s.io", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("CRD left after --purge-crds: %v", err)
		}
		if _, err := install.Status(ctx, o); !errors.Is(err, install.ErrNotInstalled) {
			t.Errorf("status after uninstall: %v", err)
		}
	})

	// A first install that fails is removed whole, whether the API server
	// refused an object or a component never became ready.
	for _, tc := range []struct {
		name      string
		resources map[string]any
		want      string
	}{
		{"refused object", map[string]any{"requests": map[string]any{"memory": "100Ti"}}, "must be less than or equal to memory limit"},
		{"never ready", map[string]any{"requests": map[string]any{"memory": "100Ti"}, "limits": map[string]any{"memory": "100Ti"}}, "Insufficient memory"},
	} {
		t.Run("failed first install leaves nothing: "+tc.name, func(t *testing.T) {
			v := seedValues(t)
			v["snapshotController"] = map[string]any{"resources": tc.resources}
			o := options(t, c, v, &bytes.Buffer{})
			o.Timeout = 15 * time.Second
			_, err := install.Install(ctx, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "the failed release was removed") {
				t.Fatalf("want the failure explained and the release removed, got %v", err)
			}
			if left := ours(t, c); len(left) != 0 {
				t.Errorf("a failed first install left: %v", left)
			}
		})
	}
}

// access is one permission a component needs (allowed) or must not have.
type access struct {
	verb, group, resource, namespace string
	allowed                          bool
}

// checkRBAC asks the API server (SubjectAccessReview) what each
// ServiceAccount may do.
func checkRBAC(t *testing.T, c *clustertest.Cluster) {
	ctx := context.Background()
	everywhere := []access{
		{"*", "*", "*", "", false},
		{"create", "rbac.authorization.k8s.io", "clusterrolebindings", "", false},
		{"create", "", "pods/exec", "kube-system", false},
		{"create", "", "secrets", "kube-system", false},
	}
	needs := map[string][]access{
		"ncp": {
			{"watch", "", "pods", "", true}, {"patch", "", "services/status", "", true},
			{"create", "nsx.vmware.com", "nsxlocks", "", true}, {"list", "networking.k8s.io", "networkpolicies", "", true},
			// Ingress TLS Secrets become NSX certificates: NCP reads Secrets everywhere.
			{"get", "", "secrets", "kube-system", true},
			{"delete", "", "nodes", "", false}, {"create", "", "pods", "default", false},
		},
		"nsx-node-agent": {
			{"watch", "", "endpoints", "", true}, {"patch", "", "pods", "", true},
			{"list", "", "secrets", "", false}, {"update", "", "nodes", "", false},
			{"get", "", "secrets", "kube-system", false},
		},
		"occm": {
			{"patch", "", "nodes", "", true}, {"delete", "", "nodes", "", true}, {"patch", "", "nodes/status", "", true},
			{"create", "coordination.k8s.io", "leases", ns, true},
			{"patch", "", "services/status", "", false}, // NSX serves LoadBalancers here
			{"create", "coordination.k8s.io", "leases", "default", false},
			{"get", "", "secrets", "kube-system", false},
		},
		"cinder-csi-controller": {
			{"create", "", "persistentvolumes", "", true}, {"patch", "storage.k8s.io", "volumeattachments/status", "", true},
			{"update", "snapshot.storage.k8s.io", "volumesnapshotcontents", "", true}, {"patch", "", "persistentvolumeclaims/status", "", true},
			{"create", "coordination.k8s.io", "leases", ns, true},
			{"delete", "", "nodes", "", false}, {"create", "snapshot.storage.k8s.io", "volumesnapshots", "default", false},
			{"get", "", "secrets", "kube-system", false},
		},
		"cinder-csi-node": {
			{"create", "", "events", "default", true},
			{"get", "", "persistentvolumes", "", false}, {"list", "", "secrets", ns, false},
		},
		"snapshot-controller": {
			{"create", "snapshot.storage.k8s.io", "volumesnapshotcontents", "", true},
			{"update", "snapshot.storage.k8s.io", "volumesnapshots/status", "", true},
			{"update", "", "persistentvolumeclaims", "", true},
			{"create", "", "persistentvolumes", "", false}, {"get", "", "secrets", "kube-system", false},
		},
		"port-tagger": {
			{"watch", "", "nodes", "", true}, {"update", "", "nodes", "", false}, {"patch", "", "nodes", "", false},
			{"create", "", "events", "default", true},
			{"create", "coordination.k8s.io", "leases", ns, true},
			{"delete", "", "nodes", "", false}, {"get", "", "secrets", ns, false},
		},
	}
	for comp, list := range needs {
		user := "system:serviceaccount:" + ns + ":" + release + "-" + comp
		for _, a := range append(list, everywhere...) {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:   user,
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Verb: a.verb, Group: a.group, Resource: strings.Split(a.resource, "/")[0],
					Subresource: subresource(a.resource), Namespace: a.namespace,
				},
			}}
			got, err := c.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.Allowed != a.allowed {
				t.Errorf("%s: %s %s/%s in %q: allowed=%v, want %v", comp, a.verb, a.group, a.resource, a.namespace, got.Status.Allowed, a.allowed)
			}
		}
	}
	// No binding of ours names cluster-admin.
	crbs, err := c.Client.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range crbs.Items {
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Namespace == ns && b.RoleRef.Name == "cluster-admin" {
				t.Errorf("%s binds cluster-admin to %s", b.Name, s.Name)
			}
		}
	}
}

func subresource(r string) string {
	if i := strings.Index(r, "/"); i >= 0 {
		return r[i+1:]
	}
	return ""
}

// ours lists every object in the cluster labelled as part of the release.
func ours(t *testing.T, c *clustertest.Cluster) []string {
	t.Helper()
	ctx := context.Background()
	dc := discovery.NewDiscoveryClientForConfigOrDie(c.Config)
	lists, err := dc.ServerPreferredResources()
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(c.Config)
	var found []string
	for _, l := range lists {
		gv, _ := schema.ParseGroupVersion(l.GroupVersion)
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !contains(r.Verbs, "list") {
				continue
			}
			items, err := dyn.Resource(gv.WithResource(r.Name)).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + release})
			if err != nil {
				continue
			}
			for _, it := range items.Items {
				if r.Kind == "CustomResourceDefinition" {
					continue
				}
				found = append(found, r.Kind+"/"+it.GetNamespace()+"/"+it.GetName())
			}
		}
	}
	return found
}

// resourceVersions maps every object of the release to its resourceVersion.
func resourceVersions(t *testing.T, c *clustertest.Cluster) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	dyn := dynamic.NewForConfigOrDie(c.Config)
	for _, gvr := range []schema.GroupVersionResource{
		{Version: "v1", Resource: "secrets"}, {Version: "v1", Resource: "configmaps"}, {Version: "v1", Resource: "serviceaccounts"},
		{Group: "apps", Version: "v1", Resource: "deployments"}, {Group: "apps", Version: "v1", Resource: "daemonsets"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
		{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"},
	} {
		items, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items.Items {
			// Helm's release records are Secrets too; they must not change either.
			if it.GetLabels()["app.kubernetes.io/instance"] == release || it.GetLabels()["owner"] == "helm" {
				out[gvr.Resource+"/"+it.GetNamespace()+"/"+it.GetName()] = it.GetResourceVersion()
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
