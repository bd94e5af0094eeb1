package install

import (
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ComponentLabel names the component an object belongs to. The chart sets it on
// every object; install groups readiness by it.
const ComponentLabel = "app.kubernetes.io/component"

// Workload is one object of the release whose readiness install waits for.
type Workload struct {
	Kind      string
	Namespace string
	Name      string
	// Component is the value of ComponentLabel, or the object's name without
	// it.
	Component string
}

func (w Workload) String() string { return w.Kind + " " + w.Name }

// waitedKinds are the kinds whose readiness install checks.
var waitedKinds = map[string]bool{
	"Deployment":               true,
	"DaemonSet":                true,
	"StatefulSet":              true,
	"Job":                      true,
	"CustomResourceDefinition": true,
}

// WorkloadsOf returns the workloads among objects, with the namespace of
// namespaced objects that set none filled in, sorted by component, kind and
// name so that progress reads the same on every run.
func WorkloadsOf(objects []*unstructured.Unstructured, namespace string) []Workload {
	var out []Workload
	for _, o := range objects {
		if !waitedKinds[o.GetKind()] {
			continue
		}
		ns := o.GetNamespace()
		if ns == "" && o.GetKind() != "CustomResourceDefinition" {
			ns = namespace
		}
		comp := o.GetLabels()[ComponentLabel]
		if comp == "" {
			comp = componentFromName(o)
		}
		out = append(out, Workload{Kind: o.GetKind(), Namespace: ns, Name: o.GetName(), Component: comp})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Component != b.Component {
			return a.Component < b.Component
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	return out
}

// componentFromName names a component for an object without ComponentLabel:
// CRDs become one "crds" component, everything else is its own component.
func componentFromName(o *unstructured.Unstructured) string {
	if o.GetKind() == "CustomResourceDefinition" {
		return "crds"
	}
	return strings.ToLower(o.GetKind()) + "/" + o.GetName()
}

// Components returns the distinct components of workloads in order.
func Components(ws []Workload) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range ws {
		if !seen[w.Component] {
			seen[w.Component] = true
			out = append(out, w.Component)
		}
	}
	return out
}
