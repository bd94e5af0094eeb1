package render

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/epks/epks/charts"
)

// TestManifestsUpToDate fails when manifests/base differs from what the
// chart renders now.
func TestManifestsUpToDate(t *testing.T) {
	data, err := os.ReadFile("../../manifests/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	want, err := KustomizeBase(context.Background(), ch, values, Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("../../manifests/base")
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, e := range entries {
		have = append(have, e.Name())
	}
	var wantNames []string
	for n := range want {
		wantNames = append(wantNames, n)
	}
	sort.Strings(wantNames)
	if len(have) != len(wantNames) {
		t.Fatalf("manifests/base has %v, want %v: run `make manifests`", have, wantNames)
	}
	for name, content := range want {
		got, err := os.ReadFile(filepath.Join("../../manifests/base", name))
		if err != nil || string(got) != string(content) {
			t.Errorf("manifests/base/%s is stale: run `make manifests`", name)
		}
	}
	// And kustomize builds it.
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "../../manifests/base")
	if err != nil {
		t.Fatalf("kustomize build manifests/base: %v", err)
	}
	if n := len(res.Resources()); n < 40 {
		t.Errorf("kustomize built only %d objects", n)
	}
}
