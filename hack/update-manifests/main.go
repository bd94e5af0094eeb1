// Command update-manifests writes manifests/base, a kustomize base rendered
// from the chart with manifests/values.yaml, for users who apply with
// kubectl. pkg/render's tests fail when it is stale.
//
// Usage: go run ./hack/update-manifests
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/render"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	data, err := os.ReadFile("manifests/values.yaml")
	if err != nil {
		return err
	}
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		return err
	}
	ch, err := charts.LoadAddons()
	if err != nil {
		return err
	}
	files, err := render.KustomizeBase(context.Background(), ch, values, render.Options{})
	if err != nil {
		return err
	}
	dir := "manifests/base"
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			return err
		}
	}
	return nil
}
