package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/epks/epks/charts"
)

func ciValues(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("../../charts/epks-addons/ci/full-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestKustomizeOverlay applies a real overlay: a strategic merge patch, a
// label on everything and an extra object of the site.
func TestKustomizeOverlay(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [site-configmap.yaml]
labels:
  - pairs: {site: lab-1}
patches:
  - path: more-replicas.yaml
`,
		"more-replicas.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: epks-addons-cinder-csi-controller, namespace: epks-system}
spec: {replicas: 3}
`,
		"site-configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: site-notes, namespace: epks-system}
data: {owner: platform-team}
`,
	})
	k, err := NewKustomize(dir)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(context.Background(), ch, ciValues(t), Options{PostRenderer: k})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Objects(out)
	if err != nil {
		t.Fatal(err)
	}
	d := Find(objs, "Deployment", "epks-addons-cinder-csi-controller")
	if r, _, _ := unstructured.NestedFieldNoCopy(d.Object, "spec", "replicas"); fmt.Sprint(r) != "3" {
		t.Errorf("the patch did not apply: replicas %v", r)
	}
	if Find(objs, "ConfigMap", "site-notes") == nil {
		t.Error("the overlay's own resource is missing")
	}
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			continue // CRDs are not post-rendered, as with helm
		}
		if o.GetLabels()["site"] != "lab-1" {
			t.Errorf("%s %s lacks the overlay's label", o.GetKind(), o.GetName())
		}
	}
	// The secrets are still there, whole.
	if s, err := SecretData(Find(objs, "Secret", "epks-addons-nsx"), "password"); err != nil || string(s) != "placeholder-password" {
		t.Errorf("the NSX Secret changed through kustomize: %q %v", s, err)
	}
}

func TestKustomizeErrors(t *testing.T) {
	if _, err := NewKustomize(writeFiles(t, map[string]string{"patch.yaml": "a: b"})); err == nil ||
		!strings.Contains(err.Error(), "no kustomization.yaml") {
		t.Errorf("a directory without kustomization.yaml: %v", err)
	}
	if _, err := NewKustomize(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing directory must be an error")
	}
	k, err := NewKustomize(writeFiles(t, map[string]string{"kustomization.yaml": "patches:\n  - path: nope.yaml\n"}))
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := charts.LoadAddons()
	if _, err := Render(context.Background(), ch, ciValues(t), Options{PostRenderer: k}); err == nil ||
		!strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("a broken overlay must name what is wrong: %v", err)
	}
}

func TestOutputDir(t *testing.T) {
	dir := t.TempDir()
	ch, _ := charts.LoadAddons()
	if _, err := Render(context.Background(), ch, ciValues(t), Options{OutputDir: dir}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"epks-addons/templates/ncp/deployment.yaml", "epks-addons/templates/occm/daemonset.yaml",
		"epks-addons/crds/snapshot.storage.k8s.io_volumesnapshots.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}

func TestObjects(t *testing.T) {
	objs, err := Objects("---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n")
	if err != nil || len(objs) != 1 || objs[0].GetName() != "a" {
		t.Fatalf("Objects = %v, %v", objs, err)
	}
	if _, err := Objects("a: [unclosed"); err == nil || !strings.Contains(err.Error(), "parsing rendered manifest") {
		t.Fatalf("want a parse error, got %v", err)
	}
	if Find(objs, "ConfigMap", "b") != nil {
		t.Error("Find found a missing object")
	}
}
