package charts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/render"
	"github.com/epks/epks/pkg/values"
	"github.com/epks/epks/test/chartconf"
)

// systemPython is the interpreter Debian's python3-oslo.config installs for
// (hack/ci-setup.sh); a pyenv or venv python3 earlier in PATH lacks it.
const systemPython = "/usr/bin/python3"

// hostileBase is the runbook's example with IP access, so that no
// certificate file is needed, and nothing that dials out.
func hostileBase() map[string]any {
	return map[string]any{
		"name": "k8scluster", "node_count": 3, "pod_network_cidr": "193.167.0.0/16",
		"kube_token": "yad31n.pil3w87thsvo9img", "nsx_api_manager": "127.0.0.1",
		"nsx_username": "admin", "nsx_password": "Admin!23Admin", "tier0_router": "t0",
		"overlay_tz": "tz", "ip_block": "pod-cidr", "external_ip_pool": "pool",
		"os_username": "admin", "os_password": "VMware1!", "os_domain_id": "default",
		"os_tenant_id": "9a09e26d83854c9cbb321a4e93fd5844", "keystone_ip": "127.0.0.1",
		"pod_network": "pod-net", "cinder_volume_type": "ssd", "cinder_availability_zone": "nova",
	}
}

// outputs is what the readers of the rendered manifests get.
type outputs struct {
	objects []string // kind/namespace/name, sorted
	// ncp is ncp.ini as NCP's init container assembles it, read by
	// oslo.config; agent is the node agent's ncp.ini.
	ncp, agent oslo
	cloudConf  *chartconf.Readings
	tagger     map[string]any
	objs       []*unstructured.Unstructured
}

type oslo struct {
	Keys   []string       `json:"keys"`
	Values map[string]any `json:"values"`
}

// renderParams checks the parameters, renders the chart and reads every
// output back with its reader. It returns the parameters' error, if any.
func renderParams(t *testing.T, m map[string]any) (*outputs, error) {
	t.Helper()
	data, err := yaml.Marshal(map[string]any{"parameters": m})
	if err != nil {
		t.Fatal(err)
	}
	p, err := params.Parse(data, params.Source{Name: "params.yaml", Dir: t.TempDir()})
	if err != nil {
		return nil, err
	}
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := render.Render(context.Background(), ch, values.For(p, nil).Values, render.Options{})
	if err != nil {
		t.Fatalf("parameters accepted, but the chart refuses them: %v", err)
	}
	objs, err := render.Objects(manifest)
	if err != nil {
		t.Fatalf("the manifest does not parse: %v", err)
	}
	out := &outputs{objs: objs}
	for _, o := range objs {
		out.objects = append(out.objects, o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName())
	}
	sort.Strings(out.objects)
	out.ncp = assembleNCPINI(t, objs)
	out.agent = readINI(t, configMapData(t, objs, "epks-addons-nsx-node-agent", "ncp.ini"))
	conf, err := render.SecretData(render.Find(objs, "Secret", "epks-addons-cloud-config"), "cloud.conf")
	if err != nil {
		t.Fatal(err)
	}
	if out.cloudConf, err = chartconf.Read(string(conf)); err != nil {
		t.Fatalf("the components cannot read cloud.conf: %v\n%s", err, conf)
	}
	if err := yaml.Unmarshal([]byte(configMapData(t, objs, "epks-addons-port-tagger", "config.yaml")), &out.tagger); err != nil {
		t.Fatalf("port tagger config.yaml: %v", err)
	}
	return out, nil
}

func configMapData(t *testing.T, objs []*unstructured.Unstructured, name, key string) string {
	t.Helper()
	cm := render.Find(objs, "ConfigMap", name)
	if cm == nil {
		t.Fatalf("no ConfigMap %s", name)
	}
	s, ok, _ := unstructured.NestedString(cm.Object, "data", key)
	if !ok {
		t.Fatalf("ConfigMap %s has no %s", name, key)
	}
	return s
}

// assembleNCPINI runs the NCP pod's init container script with sh on the
// rendered ConfigMap and Secret, its paths moved into a temporary directory,
// and reads the ncp.ini it writes with oslo.config.
func assembleNCPINI(t *testing.T, objs []*unstructured.Unstructured) oslo {
	t.Helper()
	d := render.Find(objs, "Deployment", "epks-addons-ncp")
	if d == nil {
		t.Fatal("no NCP Deployment")
	}
	dep := typed[appsv1.Deployment](t, d)
	var script string
	for _, c := range dep.Spec.Template.Spec.InitContainers {
		if c.Name == "config" {
			script = c.Command[len(c.Command)-1]
		}
	}
	if script == "" {
		t.Fatal("NCP has no config init container")
	}
	dir := t.TempDir()
	for _, sub := range []string{"ncp", "nsx", "ujo"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, data string) {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ini := configMapData(t, objs, "epks-addons-ncp", "ncp.ini")
	write(filepath.Join(dir, "ncp", "ncp.ini"), ini)
	secret := render.Find(objs, "Secret", "epks-addons-nsx")
	cacheKey := script + "\x00" + ini
	for _, k := range []string{"username", "password", "tls.crt", "tls.key", "ca.crt"} {
		if v, err := render.SecretData(secret, k); err == nil {
			write(filepath.Join(dir, "nsx", k), string(v))
			cacheKey += "\x00" + k + "=" + string(v)
		}
	}
	if o, ok := assembled[cacheKey]; ok {
		return o
	}
	moved := strings.NewReplacer("/etc/epks/ncp/", dir+"/ncp/", "/etc/epks/nsx/", dir+"/nsx/", "/etc/nsx-ujo/", dir+"/ujo/").Replace(script)
	if moved == script || strings.Contains(moved, "/etc/") {
		t.Fatalf("the init container's paths changed; update this test:\n%s", script)
	}
	cmd := exec.Command("sh", "-ec", moved)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the init container's script fails: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "ujo", "ncp.ini"))
	if err != nil {
		t.Fatal(err)
	}
	o := readINI(t, string(data))
	assembled[cacheKey] = o
	return o
}

// assembled and read cache what oslo.config read, by input: most cases
// leave ncp.ini as it is.
var assembled, read = map[string]oslo{}, map[string]oslo{}

// readINI reads an ncp.ini with the real oslo.config, options declared as
// NCP and nsxlib declare them (testdata/read_ncp_ini.py).
func readINI(t *testing.T, ini string) oslo {
	t.Helper()
	if o, ok := read[ini]; ok {
		return o
	}
	path := filepath.Join(t.TempDir(), "ncp.ini")
	if err := os.WriteFile(path, []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(systemPython, "testdata/read_ncp_ini.py", path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oslo.config cannot read ncp.ini (install python3-oslo.config: hack/ci-setup.sh): %v\n%s\n%s", err, stderr.String(), ini)
	}
	var o oslo
	if err := json.Unmarshal(out, &o); err != nil {
		t.Fatal(err)
	}
	read[ini] = o
	return o
}

// oddValues are legal values full of what YAML, INI, gcfg, shell and
// oslo.config treat specially.
var oddValues = []string{
	`a: b`, `a #c`, `'a'`, `{a}`, `- a`, `a;c`, `a=b`, `a$b`, `a%b`,
	`"a"`, `x$nsx_api_user`, `a,b`, ` a `, `a\$b`, `a"b\`, "$(id)`id`",
}

// lands says where each parameter that the chart carries lands and how its
// reader returns it.
var lands = map[string]func(o *outputs) any{
	"tier0_router":     func(o *outputs) any { return o.ncp.Values["nsx_v3.top_tier_router"] },
	"overlay_tz":       func(o *outputs) any { return o.ncp.Values["nsx_v3.overlay_tz"] },
	"ip_block":         func(o *outputs) any { return first(o.ncp.Values["nsx_v3.container_ip_blocks"]) },
	"external_ip_pool": func(o *outputs) any { return first(o.ncp.Values["nsx_v3.external_ip_pools"]) },
	"nsx_username":     func(o *outputs) any { return first(o.ncp.Values["nsx_v3.nsx_api_user"]) },
	"nsx_password":     func(o *outputs) any { return first(o.ncp.Values["nsx_v3.nsx_api_password"]) },
	"pod_interface":    func(o *outputs) any { return o.agent.Values["nsx_node_agent.ovs_uplink_port"] },
	"os_username":      func(o *outputs) any { return o.cloudConf.OCCM.Global.Username },
	"os_password":      func(o *outputs) any { return o.cloudConf.OCCM.Global.Password },
	"os_tenant_id":     func(o *outputs) any { return o.cloudConf.OCCM.Global.TenantID },
	"os_domain_id":     func(o *outputs) any { return o.cloudConf.OCCM.Global.UserDomainID },
	"os_project_domain_id": func(o *outputs) any {
		return o.cloudConf.OCCM.Global.TenantDomainID
	},
	"os_region":   func(o *outputs) any { return o.cloudConf.OCCM.Global.Region },
	"pod_network": func(o *outputs) any { return o.tagger["podNetwork"] },
	"cinder_volume_type": func(o *outputs) any {
		return storageClassParam(o, "type")
	},
	"cinder_availability_zone": func(o *outputs) any { return storageClassParam(o, "availability") },
}

func first(v any) any {
	if l, ok := v.([]any); ok && len(l) == 1 {
		return l[0]
	}
	return fmt.Sprintf("not one item: %v", v)
}

func storageClassParam(o *outputs, key string) any {
	sc := render.Find(o.objs, "StorageClass", "cinder")
	if sc == nil {
		return "no StorageClass"
	}
	v, _, _ := unstructured.NestedString(sc.Object, "parameters", key)
	return v
}

// TestOddValuesKeepStructure gives every string parameter, one at a time,
// values that mean something to YAML, INI, shell or oslo.config. Each is
// either refused with its key named (and, for a secret, without the value),
// or rendered without changing the set of objects or the keys of any
// configuration file, and read back exactly by the program that reads it.
func TestOddValuesKeepStructure(t *testing.T) {
	base, err := renderParams(t, hostileBase())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range params.StringKeys() {
		t.Run(key, func(t *testing.T) {
			for _, v := range oddValues {
				m := hostileBase()
				m[key] = v
				got, err := renderParams(t, m)
				if err != nil {
					msg := err.Error()
					// A key of a pair may be refused as its partner's
					// missing pair, which names it too.
					if !strings.Contains(msg, key) {
						t.Errorf("%q refused without naming %s: %v", v, key, err)
					}
					if params.IsSecret(key) && len(strings.TrimSpace(v)) >= 4 && strings.Contains(msg, v) {
						t.Errorf("%q: the error shows the secret: %v", v, err)
					}
					continue
				}
				if !reflect.DeepEqual(got.objects, base.objects) {
					t.Errorf("%q changes the rendered objects:\n%v\nwant\n%v", v, got.objects, base.objects)
				}
				for name, pair := range map[string][2][]string{
					"ncp.ini": {got.ncp.Keys, base.ncp.Keys}, "node agent ncp.ini": {got.agent.Keys, base.agent.Keys},
				} {
					if !reflect.DeepEqual(pair[0], pair[1]) {
						t.Errorf("%q changes the keys of %s: %v, want %v", v, name, pair[0], pair[1])
					}
				}
				if read, ok := lands[key]; ok {
					if back := read(got); back != v {
						t.Errorf("%q is read back as %q", v, back)
					}
				}
			}
		})
	}
}

// TestNCPReadsCredentialsExactly is the audit's list: NSX values that NCP
// misread.
func TestNCPReadsCredentialsExactly(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"nsx_password", "Adm$in!23"},
		{"nsx_password", "'Admin!23'"},
		{"nsx_password", `"Admin!23"`},
		{"nsx_username", "x$nsx_api_user"},
		{"nsx_password", "${nsx_api_user}"},
		{"ip_block", "a$b"},
	} {
		m := hostileBase()
		m[tc.key] = tc.value
		out, err := renderParams(t, m)
		if err != nil {
			t.Fatalf("%s %q: %v", tc.key, tc.value, err)
		}
		if back := lands[tc.key](out); back != tc.value {
			t.Errorf("%s %q: NCP reads %q", tc.key, tc.value, back)
		}
	}
	for _, tc := range []struct{ key, value string }{
		{"nsx_password", "Adm,in"}, {"nsx_username", "ad,min"}, {"ip_block", "a,b"},
		{"external_ip_pool", "a,b"}, {"nsx_password", " Admin!23"}, {"nsx_password", `a\$b`},
	} {
		m := hostileBase()
		m[tc.key] = tc.value
		_, err := renderParams(t, m)
		if err == nil || !strings.Contains(err.Error(), tc.key+": ") {
			t.Errorf("%s %q: want an error naming the key, got %v", tc.key, tc.value, err)
			continue
		}
		if strings.HasPrefix(tc.key, "nsx_") && !strings.Contains(err.Error(), "nsx_client_cert_file") {
			t.Errorf("%s: the error does not name the way out (a principal identity): %v", tc.key, err)
		}
		if strings.Contains(err.Error(), tc.value) {
			t.Errorf("%s: the error shows the value: %v", tc.key, err)
		}
	}
}

// TestChartRefusesLineBreaksInINI renders the chart directly (as helm users
// do, without epks's parameter checks) with the audit's exploit: a
// tier0Router that carries a ClusterRoleBinding after U+2028.
func TestChartRefusesLineBreaksInINI(t *testing.T) {
	exploit, err := os.ReadFile("testdata/tier0-u2028-clusterrolebinding.txt")
	if err != nil {
		t.Fatal(err)
	}
	value := strings.TrimSuffix(string(exploit), "\n")
	if !strings.Contains(value, "\u2028") {
		t.Fatal("the exploit lost its U+2028")
	}
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"nsx.tier0Router", "nsx.overlayTZ", "clusterName", "nsxNodeAgent.ovsUplinkPort"} {
		v := set(fullValues(t), path, value)
		out, err := render.Render(context.Background(), ch, v, render.Options{})
		if err == nil {
			objs, _ := render.Objects(out)
			for _, o := range objs {
				if o.GetKind() == "ClusterRoleBinding" && o.GetName() == "pwned" {
					t.Errorf("%s: the exploit renders a ClusterRoleBinding", path)
				}
			}
			t.Errorf("%s: a value with U+2028 is rendered", path)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: the error does not name the value: %v", path, err)
		}
	}
}
