// Package rendertest renders the add-on chart for tests as epks does, from
// a parameters file's values.
package rendertest

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/render"
	"github.com/epks/epks/pkg/values"
)

// Manifest renders the chart with the values of p (values.For with the
// parameters' OpenStack CA), failing the test on any error.
func Manifest(t testing.TB, p *params.Params) string {
	t.Helper()
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := render.Render(context.Background(), ch, values.For(p, p.OpenStackCA).Values, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return manifest
}

// Objects is Manifest's objects.
func Objects(t testing.TB, p *params.Params) []*unstructured.Unstructured {
	t.Helper()
	objs, err := render.Objects(Manifest(t, p))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}
