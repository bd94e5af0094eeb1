package install

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/epks/epks/pkg/render"
)

// RestartedAtAnnotation is the pod template annotation that `kubectl rollout
// restart` sets; install sets it the same way.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// Restart is one workload restarted because Secrets it mounts changed.
type Restart struct {
	Workload
	// Secrets are the names of the changed Secrets it references.
	Secrets []string
}

// String is e.g. "Deployment x (Secret a, b)"; it names Secrets, never values.
func (r Restart) String() string {
	return r.Kind + " " + r.Name + " (Secret " + strings.Join(r.Secrets, ", ") + ")"
}

// ChangedSecrets returns the names of the Secrets of the new manifest whose
// contents differ from (or are absent in) the old one, as namespace/name keys
// (namespace when the Secret sets none), sorted.
func ChangedSecrets(oldManifest, newManifest, namespace string) ([]string, error) {
	before, err := secretContents(oldManifest, namespace)
	if err != nil {
		return nil, err
	}
	after, err := secretContents(newManifest, namespace)
	if err != nil {
		return nil, err
	}
	var out []string
	for key, data := range after {
		if prev, ok := before[key]; !ok || !reflect.DeepEqual(prev, data) {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out, nil
}

// secretContents maps namespace/name of each Secret to its data, stringData
// and type.
func secretContents(manifest, namespace string) (map[string]any, error) {
	objs, err := render.Objects(manifest)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, o := range objs {
		if o.GetKind() != "Secret" {
			continue
		}
		ns := o.GetNamespace()
		if ns == "" {
			ns = namespace
		}
		out[ns+"/"+o.GetName()] = []any{o.Object["data"], o.Object["stringData"], o.Object["type"]}
	}
	return out, nil
}

// SecretUsers returns the workloads of manifest whose pod template references
// one of secrets (namespace/name keys, as ChangedSecrets returns), with the
// Secrets each references. Namespaced objects without a namespace are in
// namespace.
func SecretUsers(manifest, namespace string, secrets []string) ([]Restart, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	objs, err := render.Objects(manifest)
	if err != nil {
		return nil, err
	}
	changed := map[string]bool{}
	for _, s := range secrets {
		changed[s] = true
	}
	var out []Restart
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment", "DaemonSet", "StatefulSet":
		default:
			continue
		}
		ns := o.GetNamespace()
		if ns == "" {
			ns = namespace
		}
		spec, found, _ := unstructured.NestedMap(o.Object, "spec", "template", "spec")
		if !found {
			continue
		}
		var uses []string
		for _, name := range referencedSecrets(spec) {
			if changed[ns+"/"+name] {
				uses = append(uses, name)
			}
		}
		if len(uses) == 0 {
			continue
		}
		sort.Strings(uses)
		w := Workload{Kind: o.GetKind(), Namespace: ns, Name: o.GetName(), Component: o.GetLabels()[ComponentLabel]}
		out = append(out, Restart{Workload: w, Secrets: uses})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+"/"+out[i].Name < out[j].Kind+"/"+out[j].Name })
	return out, nil
}

// referencedSecrets lists the Secret names a pod spec references: secret and
// projected volumes, env valueFrom and envFrom of every container.
func referencedSecrets(podSpec map[string]any) []string {
	seen := map[string]bool{}
	add := func(name string, ok bool, _ error) {
		if ok && name != "" {
			seen[name] = true
		}
	}
	vols, _, _ := unstructured.NestedSlice(podSpec, "volumes")
	for _, v := range vols {
		vm, _ := v.(map[string]any)
		add(unstructured.NestedString(vm, "secret", "secretName"))
		sources, _, _ := unstructured.NestedSlice(vm, "projected", "sources")
		for _, s := range sources {
			sm, _ := s.(map[string]any)
			add(unstructured.NestedString(sm, "secret", "name"))
		}
	}
	for _, field := range []string{"initContainers", "containers", "ephemeralContainers"} {
		cs, _, _ := unstructured.NestedSlice(podSpec, field)
		for _, c := range cs {
			cm, _ := c.(map[string]any)
			env, _, _ := unstructured.NestedSlice(cm, "env")
			for _, e := range env {
				em, _ := e.(map[string]any)
				add(unstructured.NestedString(em, "valueFrom", "secretKeyRef", "name"))
			}
			envFrom, _, _ := unstructured.NestedSlice(cm, "envFrom")
			for _, e := range envFrom {
				em, _ := e.(map[string]any)
				add(unstructured.NestedString(em, "secretRef", "name"))
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// restartForSecrets restarts the workloads of newManifest that reference a
// Secret whose contents differ from oldManifest, as `kubectl rollout restart`
// does: a new RestartedAtAnnotation on the pod template.
func (s *session) restartForSecrets(ctx context.Context, oldManifest, newManifest string) ([]Restart, error) {
	secrets, err := ChangedSecrets(oldManifest, newManifest, s.opts.Namespace)
	if err != nil {
		return nil, err
	}
	restarts, err := SecretUsers(newManifest, s.opts.Namespace, secrets)
	if err != nil || len(restarts) == 0 {
		return nil, err
	}
	var names []string
	for _, r := range restarts {
		names = append(names, r.String())
	}
	err = s.step("Restarting workloads whose Secrets changed: "+strings.Join(names, "; "), func() error {
		now := time.Now().UTC().Format(time.RFC3339Nano)
		patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{
			"metadata": map[string]any{"annotations": map[string]string{RestartedAtAnnotation: now}}}}})
		apps := s.clients.Kube.AppsV1()
		for _, r := range restarts {
			var err error
			switch r.Kind {
			case "Deployment":
				_, err = apps.Deployments(r.Namespace).Patch(ctx, r.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			case "DaemonSet":
				_, err = apps.DaemonSets(r.Namespace).Patch(ctx, r.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			case "StatefulSet":
				_, err = apps.StatefulSets(r.Namespace).Patch(ctx, r.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			}
			if err != nil {
				return fmt.Errorf("restarting %s %s/%s: %w", r.Kind, r.Namespace, r.Name, err)
			}
		}
		return nil
	})
	return restarts, err
}
