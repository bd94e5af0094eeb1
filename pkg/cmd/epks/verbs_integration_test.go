//go:build integration

package epks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/test/localcluster"
	"github.com/epks/epks/test/localcluster/clustertest"
)

// overlay is a kustomize overlay: a label on every object and a patch of
// one Deployment.
var overlay = map[string]string{
	"kustomization.yaml": `labels:
  - pairs: {epks.test/overlay: applied}
patches:
  - path: patch.yaml
`,
	"patch.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: epks-addons-snapshot-controller
  namespace: epks-system
  annotations:
    epks.test/patched: "yes"
`,
}

// TestVerbs runs `epks install --kustomize`, `status` and `uninstall`
// through the real entry point against the local control plane, with a
// parameters file that points at viosim on loopback (install's preflight
// calls Keystone and the NSX Manager).
func TestVerbs(t *testing.T) {
	c := clustertest.Start(t, localcluster.Options{})
	s, err := sim.New(sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	dir := t.TempDir()
	paramsFile, err := s.WriteFiles(filepath.Join(dir, "viosim"), sim.ParamsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	overlayDir := filepath.Join(dir, "overlay")
	if err := os.Mkdir(overlayDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range overlay {
		if err := os.WriteFile(filepath.Join(overlayDir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	kc := c.Kubeconfig()
	install := []string{"install", "-p", paramsFile, "--kustomize", overlayDir, "--kubeconfig", kc, "--timeout", "3m"}
	deployments := c.Client.AppsV1().Deployments(names.Namespace)

	t.Run("install applies the overlay", func(t *testing.T) {
		code, out, errOut := run(t, install...)
		if code != ExitOK {
			t.Fatalf("install: exit %d\n%s\n%s", code, out, errOut)
		}
		d, err := deployments.Get(ctx, names.Release+"-snapshot-controller", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Labels["epks.test/overlay"] != "applied" || d.Annotations["epks.test/patched"] != "yes" {
			t.Errorf("the overlay's label and patch are not on the live Deployment: labels %v annotations %v", d.Labels, d.Annotations)
		}
		ds, err := c.Client.AppsV1().DaemonSets(names.Namespace).Get(ctx, names.Release+"-nsx-node-agent", metav1.GetOptions{})
		if err != nil || ds.Labels["epks.test/overlay"] != "applied" {
			t.Errorf("the overlay's label is not on every object: %v %v", ds.GetLabels(), err)
		}
	})

	t.Run("re-install changes nothing", func(t *testing.T) {
		before := versions(t, c)
		// With -v 4 the log shows Helm's debug log: the CLI's logger
		// reaches the install library through the context.
		code, out, errOut := run(t, append(install, "-v", "4")...)
		if code != ExitOK || !strings.Contains(out, "nothing changed") {
			t.Fatalf("re-install: exit %d\n%s\n%s", code, out, errOut)
		}
		if !strings.Contains(errOut, "\thelm\t") {
			t.Errorf("no log line of Helm's at -v 4:\n%s", errOut)
		}
		if after := versions(t, c); len(before) == 0 || fmt.Sprint(before) != fmt.Sprint(after) {
			t.Errorf("objects changed on re-install:\nbefore %v\nafter  %v", before, after)
		}
	})

	t.Run("status of a healthy release", func(t *testing.T) {
		code, out, errOut := run(t, "status", "--kubeconfig", kc)
		if code != ExitOK || !strings.Contains(out, "snapshot-controller") {
			t.Fatalf("status: exit %d\n%s\n%s", code, out, errOut)
		}
	})

	t.Run("status of an unhealthy release", func(t *testing.T) {
		// No node has 4000 CPUs: the new pod of the snapshot-controller
		// cannot be scheduled, and the rollout never completes.
		patch := `{"spec":{"template":{"spec":{"containers":[{"name":"snapshot-controller","resources":{"requests":{"cpu":"4000"}}}]}}}}`
		if _, err := deployments.Patch(ctx, names.Release+"-snapshot-controller", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := run(t, "status", "--kubeconfig", kc)
		if code != ExitFailure || !strings.Contains(errOut, "not every component is ready") {
			t.Fatalf("status: exit %d, want %d\n%s\n%s", code, ExitFailure, out, errOut)
		}
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "snapshot-controller ") {
				line = l
			}
		}
		if !strings.Contains(line, " no ") {
			t.Errorf("status does not show the snapshot-controller not ready:\n%s", out)
		}
	})

	t.Run("uninstall", func(t *testing.T) {
		code, out, errOut := run(t, "uninstall", "--kubeconfig", kc)
		if code != ExitOK || !strings.Contains(out, "removed") {
			t.Fatalf("uninstall: exit %d\n%s\n%s", code, out, errOut)
		}
		if _, err := c.Client.CoreV1().Namespaces().Get(ctx, names.Namespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("namespace %s still there: %v", names.Namespace, err)
		}
		crds := c.Client.Discovery()
		if _, err := crds.ServerResourcesForGroupVersion("snapshot.storage.k8s.io/v1"); err != nil {
			t.Errorf("the snapshot CRDs must stay without --purge-crds: %v", err)
		}
		code, out, errOut = run(t, "uninstall", "--kubeconfig", kc, "--purge-crds")
		if code != ExitOK || !strings.Contains(out, "Removed 8 CRDs") {
			t.Fatalf("uninstall --purge-crds: exit %d\n%s\n%s", code, out, errOut)
		}
		if _, err := crds.ServerResourcesForGroupVersion("snapshot.storage.k8s.io/v1"); !apierrors.IsNotFound(err) {
			t.Errorf("the snapshot CRDs are still served after --purge-crds: %v", err)
		}
		code, _, errOut = run(t, "status", "--kubeconfig", kc)
		if code != ExitFailure || !strings.Contains(errOut, "epks install") {
			t.Errorf("status after uninstall: exit %d\n%s", code, errOut)
		}
	})
}

// versions are the resource versions of the release's objects in its
// namespace.
func versions(t *testing.T, c *clustertest.Cluster) map[string]string {
	t.Helper()
	ctx := context.Background()
	ns := names.Namespace
	opts := metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + names.Release}
	out := map[string]string{}
	add := func(kind, name, rv string) { out[kind+"/"+name] = rv }
	ds, err := c.Client.AppsV1().Deployments(ns).List(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range ds.Items {
		add("Deployment", o.Name, o.ResourceVersion)
	}
	dss, err := c.Client.AppsV1().DaemonSets(ns).List(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range dss.Items {
		add("DaemonSet", o.Name, o.ResourceVersion)
	}
	cms, err := c.Client.CoreV1().ConfigMaps(ns).List(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range cms.Items {
		add("ConfigMap", o.Name, o.ResourceVersion)
	}
	secrets, err := c.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range secrets.Items {
		add("Secret", o.Name, o.ResourceVersion)
	}
	return out
}
