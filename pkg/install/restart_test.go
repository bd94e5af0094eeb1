package install

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/render"
	"github.com/epks/epks/test/rendertest"
)

// seedParams are the runbook's example parameters, with a pod network so that
// the port tagger is rendered too.
func seedParams(t *testing.T) *params.Params {
	t.Helper()
	p, err := params.Load("../../examples/seed-params.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p.PodNetwork = "pod-network"
	return p
}

func renderSeed(t *testing.T, edit func(p *params.Params)) string {
	t.Helper()
	p := seedParams(t)
	edit(p)
	return rendertest.Manifest(t, p)
}

// nonSecrets maps kind/namespace/name of every object that is not a Secret to
// its JSON.
func nonSecrets(t *testing.T, manifest string) map[string]string {
	t.Helper()
	objs, err := render.Objects(manifest)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range objs {
		if o.GetKind() == "Secret" {
			continue
		}
		data, err := json.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		out[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = string(data)
	}
	return out
}

// TestNothingOutsideSecretsDependsOnSecrets renders the chart with two values
// of each secret parameter: every object but the Secrets must be identical, so
// that no annotation or ConfigMap is a function of a secret (a checksum of a
// Secret lets pod readers test password guesses offline).
func TestNothingOutsideSecretsDependsOnSecrets(t *testing.T) {
	for _, tc := range []struct {
		key  string
		edit func(p *params.Params, v string)
	}{
		{"nsx_password", func(p *params.Params, v string) { p.NSXPassword = v }},
		{"os_password", func(p *params.Params, v string) { p.OSPassword = v }},
	} {
		t.Run(tc.key, func(t *testing.T) {
			a := renderSeed(t, func(p *params.Params) { tc.edit(p, "Guess1-Admin!23") })
			b := renderSeed(t, func(p *params.Params) { tc.edit(p, "Other2-VMware1!") })
			if a == b {
				t.Fatal("the two passwords rendered the same manifest: the Secret does not hold the password")
			}
			na, nb := nonSecrets(t, a), nonSecrets(t, b)
			if len(na) == 0 || len(na) != len(nb) {
				t.Fatalf("objects: %d vs %d", len(na), len(nb))
			}
			for k, va := range na {
				if vb := nb[k]; va != vb {
					t.Errorf("%s differs when only %s changes:\n%s\n%s", k, tc.key, va, vb)
				}
			}
		})
	}
}

// TestSecretUsers finds, in the rendered chart, exactly the workloads that
// mount the Secret a changed parameter lands in.
func TestSecretUsers(t *testing.T) {
	base := renderSeed(t, func(*params.Params) {})
	for _, tc := range []struct {
		name    string
		edit    func(p *params.Params)
		secrets []string
		want    []string
	}{
		{"nothing changed", func(*params.Params) {}, nil, nil},
		{"nsx password", func(p *params.Params) { p.NSXPassword = "changed-Admin!23" },
			[]string{"epks-system/epks-addons-nsx"},
			[]string{"Deployment epks-addons-ncp (Secret epks-addons-nsx)", "Deployment epks-addons-port-tagger (Secret epks-addons-nsx)"}},
		{"openstack password", func(p *params.Params) { p.OSPassword = "changed-VMware1!" },
			[]string{"epks-system/epks-addons-cloud-config"},
			[]string{
				"DaemonSet epks-addons-cinder-csi-node (Secret epks-addons-cloud-config)",
				"DaemonSet epks-addons-occm (Secret epks-addons-cloud-config)",
				"Deployment epks-addons-cinder-csi-controller (Secret epks-addons-cloud-config)",
				"Deployment epks-addons-port-tagger (Secret epks-addons-cloud-config)",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changed := renderSeed(t, tc.edit)
			secrets, err := ChangedSecrets(base, changed, names.Namespace)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(secrets, ",") != strings.Join(tc.secrets, ",") {
				t.Errorf("changed Secrets %v, want %v", secrets, tc.secrets)
			}
			users, err := SecretUsers(changed, names.Namespace, secrets)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range users {
				got = append(got, u.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("restarts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestReferencedSecrets(t *testing.T) {
	spec := map[string]any{
		"volumes": []any{
			map[string]any{"name": "a", "secret": map[string]any{"secretName": "vol"}},
			map[string]any{"name": "b", "projected": map[string]any{"sources": []any{map[string]any{"secret": map[string]any{"name": "proj"}}}}},
			map[string]any{"name": "c", "configMap": map[string]any{"name": "not-a-secret"}},
		},
		"initContainers": []any{map[string]any{"envFrom": []any{map[string]any{"secretRef": map[string]any{"name": "envfrom"}}}}},
		"containers": []any{map[string]any{"env": []any{
			map[string]any{"name": "X", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "env", "key": "k"}}},
			map[string]any{"name": "Y", "valueFrom": map[string]any{"configMapKeyRef": map[string]any{"name": "cm", "key": "k"}}},
		}}},
	}
	if got := strings.Join(referencedSecrets(spec), ","); got != "env,envfrom,proj,vol" {
		t.Errorf("referenced Secrets: %s", got)
	}
}
