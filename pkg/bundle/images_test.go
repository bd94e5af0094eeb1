package bundle_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/epks/epks/pkg/bundle"
	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/test/rendertest"
)

// TestChartCommandsAreTheImagesBinaries: every container of the chart that
// runs one of the bundle's upstream images and names a command names the
// binary where the bundle's image has it (where upstream's image has it), so
// that the imported image runs as the pulled one would.
func TestChartCommandsAreTheImagesBinaries(t *testing.T) {
	p, err := params.Load("../../examples/seed-params.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs := rendertest.Objects(t, p)
	byRepo := map[string]bundle.UpstreamImage{}
	for _, u := range bundle.UpstreamImages(bundle.Versions{}) {
		byRepo[bundle.UpstreamRegistry+"/"+u.Repository] = u
	}
	checked := 0
	for _, o := range objs {
		for _, field := range [][]string{{"spec", "template", "spec", "containers"}, {"spec", "template", "spec", "initContainers"}} {
			containers, _, _ := unstructured.NestedSlice(o.Object, field...)
			for _, c := range containers {
				c := c.(map[string]any)
				image, _ := c["image"].(string)
				repo, _, _ := strings.Cut(image, ":")
				u, ok := byRepo[repo]
				if !ok {
					continue
				}
				command, _, _ := unstructured.NestedStringSlice(c, "command")
				if len(command) == 0 {
					continue
				}
				checked++
				if want := u.Spec().BinaryPath(); command[0] != want {
					t.Errorf("%s %s container %s runs %s, but the bundle's %s has its binary at %s", o.GetKind(), o.GetName(), c["name"], command[0], repo, want)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no container of the chart names a command of a bundle image: the test checks nothing")
	}
}
