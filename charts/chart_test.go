package charts_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/render"
	"github.com/epks/epks/test/toolbin"
)

const fullValuesFile = "epks-addons/ci/full-values.yaml"

func fullValues(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(fullValuesFile)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// set sets a dotted path in values, creating maps on the way.
func set(v map[string]any, path string, value any) map[string]any {
	parts := strings.Split(path, ".")
	m := v
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = value
	return v
}

func renderValues(t *testing.T, v map[string]any, opts render.Options) []*unstructured.Unstructured {
	t.Helper()
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	out, err := render.Render(context.Background(), ch, v, opts)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Objects(out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func helm(t *testing.T) string {
	t.Helper()
	path, err := toolbin.Path("helm")
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHelmLintStrict runs the real `helm lint --strict`.
func TestHelmLintStrict(t *testing.T) {
	out, err := exec.Command(helm(t), "lint", "--strict", "epks-addons", "-f", fullValuesFile).CombinedOutput()
	if err != nil {
		t.Fatalf("helm lint --strict failed: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "[WARNING]") || strings.HasPrefix(line, "[ERROR]") {
			t.Errorf("helm lint: %s", line)
		}
	}
}

// TestHelmTemplateAgrees renders the chart directory with the real `helm
// template` and the embedded chart with epks's renderer, and compares.
func TestHelmTemplateAgrees(t *testing.T) {
	for _, tc := range []struct{ name, release, ns string }{
		{"default release", "epks-addons", "epks-system"},
		{"other release", "second", "other-ns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(helm(t), "template", tc.release, "epks-addons", "--namespace", tc.ns,
				"--include-crds", "--kube-version", render.DefaultKubeVersion, "-f", fullValuesFile)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, stderr.String())
			}
			ch, err := charts.LoadAddons()
			if err != nil {
				t.Fatal(err)
			}
			got, err := render.Render(context.Background(), ch, fullValues(t), render.Options{ReleaseName: tc.release, Namespace: tc.ns})
			if err != nil {
				t.Fatal(err)
			}
			if normalize(got) != normalize(string(want)) {
				t.Fatalf("epks and helm render differently\n--- epks\n%s\n--- helm\n%s", got, want)
			}
		})
	}
}

// normalize drops the blank lines and document separators whose placement
// differs between helm's printer and the release manifest.
func normalize(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == "" || l == "---" {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// TestSnapshotCRDsMatchModule keeps crds/ equal to the external-snapshotter
// client module pinned in go.mod.
func TestSnapshotCRDsMatchModule(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/kubernetes-csi/external-snapshotter/client/v8").Output()
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(strings.TrimSpace(string(out)), "config", "crd")
	for _, f := range []string{
		"snapshot.storage.k8s.io_volumesnapshotclasses.yaml",
		"snapshot.storage.k8s.io_volumesnapshotcontents.yaml",
		"snapshot.storage.k8s.io_volumesnapshots.yaml",
	} {
		want, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("epks-addons", "crds", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("crds/%s differs from the module's: run hack/update-crds.sh", f)
		}
	}
}

// TestObjectsDecodeStrictly decodes every rendered object into its Go type,
// refusing unknown and duplicate fields, so a typo in a template fails here.
func TestObjectsDecodeStrictly(t *testing.T) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, snapshotv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	strict := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Yaml: false, Strict: true})
	octavia := set(fullValues(t), "loadBalancer.provider", "octavia")
	for name, v := range map[string]map[string]any{"nsx": fullValues(t), "octavia": octavia} {
		objs := renderValues(t, v, render.Options{})
		kinds := map[string]int{}
		for _, o := range objs {
			data, err := o.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := strict.Decode(data, nil, nil); err != nil {
				t.Errorf("%s: %s %s: %v", name, o.GetKind(), o.GetName(), err)
			}
			kinds[o.GetKind()]++
		}
		for kind, n := range map[string]int{"Deployment": 4, "DaemonSet": 3, "CustomResourceDefinition": 8, "StorageClass": 1,
			"VolumeSnapshotClass": 1, "CSIDriver": 1, "Secret": 2, "ConfigMap": 3, "ServiceAccount": 7} {
			if kinds[kind] != n {
				t.Errorf("%s: %d %s objects, want %d", name, kinds[kind], kind, n)
			}
		}
	}
}

func typed[T any](t *testing.T, o *unstructured.Unstructured) *T {
	t.Helper()
	var out T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &out); err != nil {
		t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
	return &out
}

// TestRBACLeastPrivilege: no binding to cluster-admin or any built-in
// aggregate role beyond the two delegation roles, no wildcards, every
// ServiceAccount bound and used by one component.
func TestRBACLeastPrivilege(t *testing.T) {
	objs := renderValues(t, set(fullValues(t), "loadBalancer.provider", "octavia"), render.Options{})
	allowedBuiltin := map[string]bool{"system:auth-delegator": true, "extension-apiserver-authentication-reader": true}
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole", "Role":
			r := typed[rbacv1.ClusterRole](t, o)
			for _, rule := range r.Rules {
				for _, s := range append(append(append([]string{}, rule.Verbs...), rule.Resources...), rule.APIGroups...) {
					if s == "*" {
						t.Errorf("%s %s has a wildcard rule %+v", o.GetKind(), o.GetName(), rule)
					}
				}
				for _, verb := range rule.Verbs {
					if verb == "escalate" || verb == "bind" || verb == "impersonate" {
						t.Errorf("%s %s may %s", o.GetKind(), o.GetName(), verb)
					}
				}
			}
		case "ClusterRoleBinding", "RoleBinding":
			b := typed[rbacv1.RoleBinding](t, o)
			if b.RoleRef.Name == "cluster-admin" || b.RoleRef.Name == "admin" || b.RoleRef.Name == "edit" {
				t.Errorf("%s %s binds %s", o.GetKind(), o.GetName(), b.RoleRef.Name)
			}
			if strings.HasPrefix(b.RoleRef.Name, "system:") || b.RoleRef.Name == "extension-apiserver-authentication-reader" {
				if !allowedBuiltin[b.RoleRef.Name] {
					t.Errorf("%s %s binds built-in role %s", o.GetKind(), o.GetName(), b.RoleRef.Name)
				}
			} else if !strings.HasPrefix(b.RoleRef.Name, "epks-addons-") {
				t.Errorf("%s %s binds a role not of this release: %s", o.GetKind(), o.GetName(), b.RoleRef.Name)
			}
		}
	}

	// Each workload runs as its own ServiceAccount.
	seen := map[string]string{}
	for _, o := range objs {
		if o.GetKind() != "Deployment" && o.GetKind() != "DaemonSet" {
			continue
		}
		sa, _, _ := unstructured.NestedString(o.Object, "spec", "template", "spec", "serviceAccountName")
		if sa == "" || sa == "default" {
			t.Errorf("%s %s runs as the default ServiceAccount", o.GetKind(), o.GetName())
		}
		if other, dup := seen[sa]; dup {
			t.Errorf("%s and %s share ServiceAccount %s", other, o.GetName(), sa)
		}
		seen[sa] = o.GetName()
		if render.Find(objs, "ServiceAccount", sa) == nil {
			t.Errorf("ServiceAccount %s of %s is not rendered", sa, o.GetName())
		}
	}
}

// TestReleasesDoNotCollide renders two releases and checks that no two
// objects share a name, except those whose names the user chooses and the
// CSI driver, whose name the plugin fixes.
func TestReleasesDoNotCollide(t *testing.T) {
	shared := map[string]bool{"CustomResourceDefinition": true, "StorageClass": true, "VolumeSnapshotClass": true, "CSIDriver": true}
	names := map[string]bool{}
	for _, release := range []string{"epks-addons", "second"} {
		for _, o := range renderValues(t, fullValues(t), render.Options{ReleaseName: release, Namespace: "epks-system"}) {
			if shared[o.GetKind()] {
				continue
			}
			key := o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
			if names[key] {
				t.Errorf("both releases render %s", key)
			}
			names[key] = true
			if !strings.HasPrefix(o.GetName(), release+"-") {
				t.Errorf("%s %s does not start with the release name %s", o.GetKind(), o.GetName(), release)
			}
		}
	}
}

// TestPodSecurity: only the node plugins that need the host run privileged;
// every other container runs as non-root on a read-only root file system.
func TestPodSecurity(t *testing.T) {
	privileged := map[string]bool{
		"epks-addons-cinder-csi-node/cinder-csi-plugin": true, // mounts volumes for kubelet
		"epks-addons-nsx-node-agent/bootstrap":          true, // installs the CNI plugin on the host
	}
	// NCP's images run as root by design; they get capabilities, not privilege.
	rootByDesign := map[string]bool{
		"epks-addons-ncp": true, "epks-addons-nsx-node-agent": true,
		"epks-addons-cinder-csi-node": true,
	}
	for _, o := range renderValues(t, fullValues(t), render.Options{}) {
		if o.GetKind() != "Deployment" && o.GetKind() != "DaemonSet" {
			continue
		}
		d := typed[appsv1.Deployment](t, o)
		spec := d.Spec.Template.Spec
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			id := o.GetName() + "/" + c.Name
			sc := c.SecurityContext
			isPrivileged := sc != nil && sc.Privileged != nil && *sc.Privileged
			if isPrivileged != privileged[id] {
				t.Errorf("%s: privileged=%v, want %v", id, isPrivileged, privileged[id])
			}
			if rootByDesign[o.GetName()] {
				continue
			}
			nonRoot := (sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) ||
				(spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot)
			if !nonRoot {
				t.Errorf("%s does not run as non-root", id)
			}
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("%s has a writable root file system", id)
			}
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s allows privilege escalation", id)
			}
			if sc == nil || sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
				t.Errorf("%s does not drop all capabilities", id)
			}
		}
	}
}

// TestSecretsOnlyInSecrets puts recognizable credentials into the values and
// checks that they appear in Secret objects only.
func TestSecretsOnlyInSecrets(t *testing.T) {
	v := fullValues(t)
	set(v, "openstack.password", "OS-PASSWORD-7f3a")
	set(v, "nsx.password", "NSX-PASSWORD-91c2")
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	out, err := render.Render(context.Background(), ch, v, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	objs, _ := render.Objects(out)
	for _, o := range objs {
		if o.GetKind() == "Secret" {
			continue
		}
		data, _ := o.MarshalJSON()
		for _, s := range []string{"OS-PASSWORD-7f3a", "NSX-PASSWORD-91c2"} {
			if strings.Contains(string(data), s) {
				t.Errorf("%s %s holds a password", o.GetKind(), o.GetName())
			}
		}
	}
	nsx := render.Find(objs, "Secret", "epks-addons-nsx")
	if pw, _ := render.SecretData(nsx, "password"); string(pw) != "NSX-PASSWORD-91c2" {
		t.Errorf("the NSX Secret lacks the password")
	}
}

func workloadNames(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		if o.GetKind() == "Deployment" || o.GetKind() == "DaemonSet" {
			out = append(out, o.GetName())
		}
	}
	sort.Strings(out)
	return out
}

// TestComponentsSwitch turns each component off and checks its workloads go.
func TestComponentsSwitch(t *testing.T) {
	for _, tc := range []struct {
		value string
		gone  []string
	}{
		{"ncp.enabled", []string{"epks-addons-ncp"}},
		{"nsxNodeAgent.enabled", []string{"epks-addons-nsx-node-agent"}},
		{"occm.enabled", []string{"epks-addons-occm"}},
		{"cinderCSI.enabled", []string{"epks-addons-cinder-csi-controller", "epks-addons-cinder-csi-node"}},
		{"snapshotController.enabled", []string{"epks-addons-snapshot-controller"}},
		{"portTagger.enabled", []string{"epks-addons-port-tagger"}},
	} {
		t.Run(tc.value, func(t *testing.T) {
			all := workloadNames(renderValues(t, fullValues(t), render.Options{}))
			objs := renderValues(t, set(fullValues(t), tc.value, false), render.Options{})
			left := workloadNames(objs)
			if len(left) != len(all)-len(tc.gone) {
				t.Errorf("with %s=false: %v", tc.value, left)
			}
			for _, g := range tc.gone {
				for _, l := range left {
					if l == g {
						t.Errorf("%s still rendered", g)
					}
				}
			}
		})
	}
	// Everything off but the CRDs renders no Secret: nothing reads one.
	v := fullValues(t)
	for _, c := range []string{"ncp", "nsxNodeAgent", "occm", "cinderCSI", "snapshotController", "portTagger"} {
		set(v, c+".enabled", false)
	}
	for _, o := range renderValues(t, v, render.Options{}) {
		if o.GetKind() != "CustomResourceDefinition" {
			t.Errorf("with every component off, %s %s is rendered", o.GetKind(), o.GetName())
		}
	}
}

// TestLoadBalancerProvider checks the OCCM's controllers and RBAC follow the
// provider.
func TestLoadBalancerProvider(t *testing.T) {
	for provider, want := range map[string]string{
		"nsx":     "--controllers=cloud-node,cloud-node-lifecycle",
		"octavia": "--controllers=cloud-node,cloud-node-lifecycle,service",
	} {
		objs := renderValues(t, set(fullValues(t), "loadBalancer.provider", provider), render.Options{})
		ds := typed[appsv1.DaemonSet](t, render.Find(objs, "DaemonSet", "epks-addons-occm"))
		args := strings.Join(ds.Spec.Template.Spec.Containers[0].Args, " ")
		if !strings.Contains(args, want+" ") {
			t.Errorf("%s: OCCM args %s lack %s", provider, args, want)
		}
		role := typed[rbacv1.ClusterRole](t, render.Find(objs, "ClusterRole", "epks-addons-occm"))
		servicesAllowed := false
		for _, r := range role.Rules {
			for _, res := range r.Resources {
				servicesAllowed = servicesAllowed || res == "services/status"
			}
		}
		if servicesAllowed != (provider == "octavia") {
			t.Errorf("%s: OCCM may write services/status: %v", provider, servicesAllowed)
		}
		// NCP leaves Services of type LoadBalancer to the OCCM with Octavia, else both serve them.
		cm := typed[corev1.ConfigMap](t, render.Find(objs, "ConfigMap", "epks-addons-ncp"))
		native := map[string]string{"nsx": "True", "octavia": "False"}[provider]
		if got := iniValue(cm.Data["ncp.ini"], "nsx_v3", "use_native_loadbalancer"); got != native {
			t.Errorf("%s: ncp.ini [nsx_v3] use_native_loadbalancer = %q, want %s", provider, got, native)
		}
		// The OCCM must run on control-plane nodes before they are initialized.
		spec := ds.Spec.Template.Spec
		if _, ok := spec.NodeSelector["node-role.kubernetes.io/control-plane"]; !ok {
			t.Errorf("OCCM is not pinned to control-plane nodes")
		}
		tolerates := false
		for _, tol := range spec.Tolerations {
			tolerates = tolerates || tol.Key == "node.cloudprovider.kubernetes.io/uninitialized"
		}
		if !tolerates {
			t.Errorf("OCCM does not tolerate uninitialized nodes")
		}
	}
}

// TestImagesAndHostAliases checks the global registry and the host aliases.
func TestImagesAndHostAliases(t *testing.T) {
	v := set(fullValues(t), "global.imageRegistry", "registry.local")
	objs := renderValues(t, v, render.Options{})
	aliased := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() != "Deployment" && o.GetKind() != "DaemonSet" {
			continue
		}
		spec := typed[appsv1.Deployment](t, o).Spec.Template.Spec
		for _, c := range append(spec.InitContainers, spec.Containers...) {
			if !strings.HasPrefix(c.Image, "registry.local/") {
				t.Errorf("%s/%s image %s ignores global.imageRegistry", o.GetName(), c.Name, c.Image)
			}
		}
		if len(spec.HostAliases) == 1 && spec.HostAliases[0].IP == "192.0.2.10" && len(spec.HostAliases[0].Hostnames) == 3 {
			aliased[o.GetName()] = true
		}
	}
	for _, name := range []string{"epks-addons-occm", "epks-addons-cinder-csi-controller", "epks-addons-cinder-csi-node", "epks-addons-port-tagger"} {
		if !aliased[name] {
			t.Errorf("%s lacks the host aliases of the OpenStack endpoints", name)
		}
	}
}

// TestSchemaRejects checks that wrong types and unknown keys are refused
// with the path named.
func TestSchemaRejects(t *testing.T) {
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path  string
		value any
		want  string
	}{
		{"ncp.replicas", "two", "/ncp/replicas"},
		{"ncp.enabled", "yes", "/ncp/enabled"},
		{"nsx.managers", "nsx.local", "/nsx/managers"},
		{"nsx.thumbprints", []any{"AB:CD"}, "/nsx/thumbprints"},
		{"loadBalancer.provider", "f5", "/loadBalancer/provider"},
		{"openstack.password", "line1\nline2", "/openstack/password"},
		{"portTagger.maxConcurrency", 100, "/portTagger/maxConcurrency"},
		{"nsxNodeAgent.mtu", 100000, "/nsxNodeAgent/mtu"},
		{"ncpp", map[string]any{}, "ncpp"},
		{"occm.imagee", "x", "imagee"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			_, err := render.Render(context.Background(), ch, set(fullValues(t), tc.path, tc.value), render.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error naming %s, got %v", tc.want, err)
			}
			if strings.Contains(err.Error(), "line1") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

// TestRequiredValues checks the chart's own validation lists every missing
// value at once.
func TestRequiredValues(t *testing.T) {
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	_, err = render.Render(context.Background(), ch, map[string]any{}, render.Options{})
	if err == nil {
		t.Fatal("empty values must be refused")
	}
	for _, want := range []string{"clusterName", "openstack.authURL", "nsx.managers", "kubernetes.apiServerHost", "nsx.tier0Router", "portTagger.podNetwork"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

// iniValue returns the value of key in section of an INI file, as oslo.config
// reads ncp.ini: the last one wins, sections may repeat.
func iniValue(ini, section, key string) string {
	var cur, value string
	for _, line := range strings.Split(ini, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			cur = line[1 : len(line)-1]
		case cur == section:
			if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == key {
				value = strings.TrimSpace(v)
			}
		}
	}
	return value
}

// TestHostNetworkPodsUseNodeResolver checks that the pods on the host network
// resolve names with the node's resolver (dnsPolicy Default). The OCCM, NCP
// and the node agent run before CoreDNS can (it needs the pod network and
// initialized nodes): with ClusterFirstWithHostNet nothing outside
// hostAliases would resolve, and names under cluster.local (the seed's
// keystone.openstack.svc.cluster.local) would go to CoreDNS once it runs.
func TestHostNetworkPodsUseNodeResolver(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range renderValues(t, fullValues(t), render.Options{}) {
		if o.GetKind() != "Deployment" && o.GetKind() != "DaemonSet" {
			continue
		}
		spec := typed[appsv1.Deployment](t, o).Spec.Template.Spec
		if !spec.HostNetwork {
			continue
		}
		seen[o.GetName()] = true
		if spec.DNSPolicy != corev1.DNSDefault {
			t.Errorf("%s is on the host network with dnsPolicy %q, want %q (the node's resolver)", o.GetName(), spec.DNSPolicy, corev1.DNSDefault)
		}
	}
	for _, name := range []string{"epks-addons-occm", "epks-addons-ncp", "epks-addons-nsx-node-agent"} {
		if !seen[name] {
			t.Errorf("%s is not on the host network", name)
		}
	}
}
