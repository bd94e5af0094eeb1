package epks

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/epks/epks/pkg/render"
)

const seedParams = "../../../examples/seed-params.yaml"

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeParams(t *testing.T, m map[string]any) string {
	t.Helper()
	data, err := yaml.Marshal(map[string]any{"parameters": m})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "params.yaml")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTemplateSeedExample(t *testing.T) {
	code, out, errOut := run(t, "template", "--params", seedParams)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	objs, err := render.Objects(out)
	if err != nil {
		t.Fatal(err)
	}
	cm := render.Find(objs, "ConfigMap", "epks-addons-ncp")
	if cm == nil {
		t.Fatal("no NCP ConfigMap")
	}
	ini := cm.Object["data"].(map[string]any)["ncp.ini"].(string)
	for _, want := range []string{`cluster = "k8scluster"`, `nsx_api_managers = "192.168.111.94"`,
		`top_tier_router = "23fd006e-337a-467a-b3a6-1404a71cc2cf"`, `overlay_tz = "vio-overlay-tz"`,
		`container_ip_blocks = "pod-cidr"`, `external_ip_pools = "external-ip-pool"`, `apiserver_host_ip = "10.96.0.1"`} {
		if !strings.Contains(ini, want) {
			t.Errorf("ncp.ini lacks %q:\n%s", want, ini)
		}
	}
	if strings.Contains(ini, "Admin!23Admin") {
		t.Error("ncp.ini holds the NSX password")
	}
	// The seed's example has no pod network: the tagger is off, and the user is told.
	if !strings.Contains(errOut, "port tagger is off") {
		t.Errorf("no warning about the port tagger:\n%s", errOut)
	}
	if render.Find(objs, "Deployment", "epks-addons-port-tagger") != nil {
		t.Error("the port tagger is rendered without a pod network")
	}
	for _, secret := range []string{"Admin!23Admin", "VMware1!", "yad31n.pil3w87thsvo9img"} {
		if strings.Contains(errOut, secret) {
			t.Errorf("stderr shows a secret")
		}
	}
}

// TestTemplateBadParams: exit 2, every problem listed, nothing rendered.
func TestTemplateBadParams(t *testing.T) {
	p := writeParams(t, map[string]any{
		"name": "Bad_Name", "node_count": 0, "pod_network_cidr": "10.0.0.0/8", "service_cidr": "10.96.0.0/12",
		"kube_token": "TOKEN-s3cr3t", "nsx_api_manager": "nsx", "nsx_username": "admin", "nsx_password": "x",
		"tier0_router": "t0", "overlay_tz": "tz", "ip_block": "b", "external_ip_pool": "p",
		"os_username": "u", "os_password": "p", "os_tenant_id": "t", "os_domain_id": "d",
		"keystone_ip": "not-an-ip", "overlay_zt": "typo",
	})
	code, out, errOut := run(t, "template", "-p", p)
	if code != ExitBadInput {
		t.Fatalf("exit %d, want %d\n%s", code, ExitBadInput, errOut)
	}
	if out != "" {
		t.Errorf("something was rendered: %q", out)
	}
	for _, want := range []string{"name:", "node_count:", "service_cidr:", "overlaps pod_network_cidr", "kube_token:",
		"keystone_ip:", `overlay_zt: unknown parameter (did you mean "overlay_tz"?)`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "TOKEN-s3cr3t") {
		t.Error("the token is echoed")
	}
}

func TestBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"template"},
		{"template", "--params", "/nonexistent/params.yaml"},
		{"template", "--nope"},
		{"template", "-p", seedParams, "extra"},
		{"frobnicate"},
		{"template", "-p", seedParams, "--kustomize", "/nonexistent"},
	} {
		code, out, errOut := run(t, args...)
		if code != ExitBadInput || out != "" || !strings.HasPrefix(errOut, "Error: ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

func TestValuesAndOverrides(t *testing.T) {
	extra := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(extra, []byte("ncp:\n  replicas: 2\nclusterName: override\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "values", "-p", seedParams, "-f", extra)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v map[string]any
	if err := yaml.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if v["clusterName"] != "override" || v["ncp"].(map[string]any)["replicas"] != 2 {
		t.Errorf("values files do not win over the parameters: %v", v)
	}
	// Values from the parameters stay where the file says nothing.
	if v["nsx"].(map[string]any)["tier0Router"] != "23fd006e-337a-467a-b3a6-1404a71cc2cf" {
		t.Errorf("parameters lost: %v", v["nsx"])
	}
}

func TestTemplateOutputDir(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := run(t, "template", "-p", seedParams, "--output-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "kind:") {
		t.Error("manifests printed although --output-dir was given")
	}
	if _, err := os.Stat(filepath.Join(dir, "epks-addons", "templates", "occm", "daemonset.yaml")); err != nil {
		t.Error(err)
	}
	// The files hold Secrets: owner-only, as the directories.
	n := 0
	err := filepath.WalkDir(filepath.Join(dir, "epks-addons"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700 | os.ModeDir
		}
		if info.Mode() != want {
			t.Errorf("%s is %v, want %v", path, info.Mode(), want)
		}
		n++
		return nil
	})
	if err != nil || n < 10 {
		t.Errorf("walked %d entries: %v", n, err)
	}
}

func TestHelp(t *testing.T) {
	for _, verb := range []string{"template", "values", "install", "uninstall", "status", "cloud-init", "trust"} {
		code, out, _ := run(t, verb, "--help")
		if code != 0 || !strings.Contains(out, "Usage:") || !strings.Contains(out, "epks "+verb) {
			t.Errorf("%s --help: exit %d\n%s", verb, code, out)
		}
	}
}

// TestHostileInputFiles: a FIFO or a device as the parameters file is
// refused at once (exit 2) instead of hanging, and a key full of terminal
// escapes is printed escaped.
func TestHostileInputFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "params.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, "/dev/zero"} {
		code, _, errOut := run(t, "template", "-p", p)
		if code != ExitBadInput || !strings.Contains(errOut, "not a regular file") {
			t.Errorf("%s: exit %d: %s", p, code, errOut)
		}
	}
	m := map[string]any{"\x1b]0;owned\x07\x1b[2Jname": "x"}
	code, _, errOut := run(t, "template", "-p", writeParams(t, m))
	if code != ExitBadInput {
		t.Errorf("exit %d: %s", code, errOut)
	}
	if strings.ContainsAny(errOut, "\x1b\x07") || !strings.Contains(errOut, `\x1b]0;owned\x07\x1b[2Jname: unknown parameter`) {
		t.Errorf("the unknown key is not escaped:\n%q", errOut)
	}
}
