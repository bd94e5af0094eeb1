package charts_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/render"
)

// knobComponents are the workloads with the per-component knobs: where their
// values live, the workload, its main container, and whether it takes
// extraArgs (NCP's containers take their settings in ncp.ini, extraConfig) and
// has a PodDisruptionBudget (the controllers).
var knobComponents = []struct {
	values, kind, name, container string
	args, pdb                     bool
}{
	{"ncp", "Deployment", "epks-addons-ncp", "ncp", false, true},
	{"nsxNodeAgent", "DaemonSet", "epks-addons-nsx-node-agent", "nsx-node-agent", false, false},
	{"occm", "DaemonSet", "epks-addons-occm", "openstack-cloud-controller-manager", true, false},
	{"cinderCSI.controller", "Deployment", "epks-addons-cinder-csi-controller", "cinder-csi-plugin", true, true},
	{"cinderCSI.node", "DaemonSet", "epks-addons-cinder-csi-node", "cinder-csi-plugin", true, false},
	{"snapshotController", "Deployment", "epks-addons-snapshot-controller", "snapshot-controller", true, true},
	{"portTagger", "Deployment", "epks-addons-port-tagger", "port-tagger", true, true},
}

func podSpecOf(t *testing.T, objs []*unstructured.Unstructured, kind, name string) (map[string]string, map[string]string, corev1.PodSpec) {
	t.Helper()
	o := render.Find(objs, kind, name)
	if o == nil {
		t.Fatalf("no %s %s", kind, name)
	}
	tmpl := typed[appsv1.Deployment](t, o).Spec.Template
	return tmpl.Labels, tmpl.Annotations, tmpl.Spec
}

func container(t *testing.T, spec corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %s", name)
	return corev1.Container{}
}

// knobValues are a value of every knob, as TestKnobs checks them.
func knobValues(args, pdb bool) map[string]any {
	tol := map[string]any{"key": "example.com/dedicated", "operator": "Equal", "value": "addons", "effect": "NoSchedule"}
	aff := map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
		"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{
			"key": "example.com/zone", "operator": "In", "values": []any{"a"}}}}}}}}
	res := map[string]any{"requests": map[string]any{"cpu": "123m", "memory": "77Mi"}, "limits": map[string]any{"memory": "777Mi"}}
	knobs := map[string]any{
		"nodeSelector":      map[string]any{"example.com/pool": "addons"},
		"tolerations":       []any{tol},
		"affinity":          aff,
		"podLabels":         map[string]any{"example.com/team": "net"},
		"podAnnotations":    map[string]any{"example.com/owner": "net team"},
		"extraEnv":          []any{map[string]any{"name": "EXAMPLE_ENV", "value": "on"}},
		"resources":         res,
		"priorityClassName": "example-priority",
	}
	if args {
		knobs["extraArgs"] = []any{"--example-flag=1"}
	}
	if pdb {
		knobs["podDisruptionBudget"] = map[string]any{"enabled": true, "minAvailable": "50%"}
	}
	return knobs
}

// TestKnobs sets every per-component knob of every component and checks each
// lands where it should, adding to the chart's own settings where it has some
// (tolerations, node selectors, labels) and replacing them where it says so
// (affinity, priority).
func TestKnobs(t *testing.T) {
	base := renderValues(t, fullValues(t), render.Options{})
	for _, c := range knobComponents {
		t.Run(c.values, func(t *testing.T) {
			v := fullValues(t)
			for k, val := range knobValues(c.args, c.pdb) {
				set(v, c.values+"."+k, val)
			}
			objs := renderValues(t, v, render.Options{})
			labels, annotations, spec := podSpecOf(t, objs, c.kind, c.name)
			baseLabels, baseAnnotations, baseSpec := podSpecOf(t, base, c.kind, c.name)

			for k, want := range baseSpec.NodeSelector {
				if spec.NodeSelector[k] != want {
					t.Errorf("nodeSelector lost the chart's %s", k)
				}
			}
			if spec.NodeSelector["example.com/pool"] != "addons" {
				t.Errorf("nodeSelector = %v", spec.NodeSelector)
			}
			wantTol := append(append([]corev1.Toleration{}, baseSpec.Tolerations...), corev1.Toleration{
				Key: "example.com/dedicated", Operator: corev1.TolerationOpEqual, Value: "addons", Effect: corev1.TaintEffectNoSchedule})
			if !reflect.DeepEqual(spec.Tolerations, wantTol) {
				t.Errorf("tolerations = %+v, want the chart's and the user's: %+v", spec.Tolerations, wantTol)
			}
			if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.Affinity.PodAntiAffinity != nil ||
				spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Key != "example.com/zone" {
				t.Errorf("affinity = %+v, want the user's", spec.Affinity)
			}
			for k, want := range baseLabels {
				if labels[k] != want {
					t.Errorf("pod label %s = %q, want the chart's %q", k, labels[k], want)
				}
			}
			if labels["example.com/team"] != "net" {
				t.Errorf("pod labels = %v", labels)
			}
			for k, want := range baseAnnotations {
				if annotations[k] != want {
					t.Errorf("pod annotation %s lost", k)
				}
			}
			if annotations["example.com/owner"] != "net team" {
				t.Errorf("pod annotations = %v", annotations)
			}
			if spec.PriorityClassName != "example-priority" {
				t.Errorf("priorityClassName = %q", spec.PriorityClassName)
			}
			main := container(t, spec, c.container)
			baseMain := container(t, baseSpec, c.container)
			if c.args {
				want := append(append([]string{}, baseMain.Args...), "--example-flag=1")
				if !reflect.DeepEqual(main.Args, want) {
					t.Errorf("args = %v, want %v", main.Args, want)
				}
			}
			if len(main.Env) != len(baseMain.Env)+1 || main.Env[len(main.Env)-1] != (corev1.EnvVar{Name: "EXAMPLE_ENV", Value: "on"}) {
				t.Errorf("env = %+v, want the chart's and EXAMPLE_ENV", main.Env)
			}
			if main.Resources.Requests.Cpu().String() != "123m" || main.Resources.Limits.Memory().String() != "777Mi" {
				t.Errorf("resources = %+v", main.Resources)
			}

			pdbName := c.name
			pdb := render.Find(objs, "PodDisruptionBudget", pdbName)
			if !c.pdb {
				if pdb != nil {
					t.Errorf("a PodDisruptionBudget for %s", c.name)
				}
				return
			}
			if pdb == nil {
				t.Fatalf("no PodDisruptionBudget %s", pdbName)
			}
			p := typed[policyv1.PodDisruptionBudget](t, pdb)
			if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.String() != "50%" || p.Spec.MaxUnavailable != nil {
				t.Errorf("PodDisruptionBudget spec = %+v, want minAvailable 50%%", p.Spec)
			}
			for k, want := range p.Spec.Selector.MatchLabels {
				if labels[k] != want {
					t.Errorf("the PodDisruptionBudget selects %s=%s, the pods have %q", k, want, labels[k])
				}
			}
			// The default: one pod may be down at a time, which never blocks a drain.
			d := typed[policyv1.PodDisruptionBudget](t, render.Find(base, "PodDisruptionBudget", pdbName))
			if d.Spec.MaxUnavailable == nil || d.Spec.MaxUnavailable.String() != "1" || d.Spec.MinAvailable != nil {
				t.Errorf("default PodDisruptionBudget spec = %+v, want maxUnavailable 1", d.Spec)
			}
			off := renderValues(t, set(fullValues(t), c.values+".podDisruptionBudget.enabled", false), render.Options{})
			if render.Find(off, "PodDisruptionBudget", pdbName) != nil {
				t.Errorf("podDisruptionBudget.enabled false still renders one")
			}
		})
	}
}

// TestKnobsSchemaRejects checks the schema refuses knob values that would not
// make a valid pod, naming the path.
func TestKnobsSchemaRejects(t *testing.T) {
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path  string
		value any
		want  string
	}{
		{"ncp.tolerations", []any{map[string]any{"key": "k", "operator": "Maybe"}}, "/ncp/tolerations/0/operator"},
		{"occm.nodeSelector", map[string]any{"zone": 1}, "/occm/nodeSelector/zone"},
		{"portTagger.podLabels", map[string]any{"team": "has space"}, "/portTagger/podLabels/team"},
		{"snapshotController.podAnnotations", map[string]any{"checksum/config": "x"}, "/snapshotController/podAnnotations"},
		{"cinderCSI.controller.extraEnv", []any{map[string]any{"value": "x"}}, "/cinderCSI/controller/extraEnv/0"},
		{"cinderCSI.node.extraArgs", []any{"--a\n--b"}, "/cinderCSI/node/extraArgs/0"},
		{"nsxNodeAgent.priorityClassName", "System-Node", "/nsxNodeAgent/priorityClassName"},
		{"ncp.extraArgs", []any{"--x"}, "extraArgs"},
		{"portTagger.podDisruptionBudget.maxUnavailable", "half", "/portTagger/podDisruptionBudget/maxUnavailable"},
		{"occm.affinity", map[string]any{"nodeAfinity": map[string]any{}}, "nodeAfinity"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			_, err := render.Render(context.Background(), ch, set(fullValues(t), tc.path, tc.value), render.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error naming %s, got %v", tc.want, err)
			}
		})
	}
}
