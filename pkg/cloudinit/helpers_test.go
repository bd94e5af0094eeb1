package cloudinit

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/values"
)

// The secrets of examples/seed-params.yaml, which must stay where they belong.
const (
	seedToken       = "yad31n.pil3w87thsvo9img"
	seedNSXPassword = "Admin!23Admin"
	seedOSPassword  = "VMware1!"
	floatingIP      = "192.168.111.50"
)

var testNow = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

// sharedPKI is made once for the package's tests (RSA keys take a while).
var sharedPKI *PKI

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "epks-pki-")
	if err != nil {
		panic(err)
	}
	pki, _, err := LoadOrCreatePKI(filepath.Join(dir, "pki"), testNow)
	if err != nil {
		panic(err)
	}
	sharedPKI = pki
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// seedParams reads the runbook's example with what node preparation needs,
// and edits.
func seedParams(t *testing.T, edits map[string]any) *params.Params {
	t.Helper()
	data, err := os.ReadFile("../../examples/seed-params.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	m := doc["parameters"]
	m["control_plane_endpoint"] = "10.0.0.10"
	m["control_plane_cert_sans"] = floatingIP + " k8scluster.example.com"
	m["nsx_pod_net_cidr"] = "172.16.0.0/24"
	for k, v := range edits {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	out, err := yaml.Marshal(map[string]any{"parameters": m})
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("../../examples")
	p, err := params.Parse(out, params.Source{Name: "seed-params.yaml", Dir: abs, Now: testNow, Purpose: params.ForNodes})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// render renders the user data of a node from p with the shared PKI.
func render(t *testing.T, p *params.Params, role Role, sys OS) []byte {
	t.Helper()
	data, err := Render(p, Options{Role: role, OS: sys, PKI: sharedPKI, Values: values.For(p, p.OpenStackCA).Values, Version: "v0.0.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// userData is what a test reads back from rendered user data.
type userData struct {
	WriteFiles   []File     `yaml:"write_files"`
	RunCmd       [][]string `yaml:"runcmd"`
	FinalMessage string     `yaml:"final_message"`
}

func parseUserData(t *testing.T, data []byte) userData {
	t.Helper()
	if !strings.HasPrefix(string(data), "#cloud-config\n") {
		t.Fatalf("user data does not start with #cloud-config:\n%.200s", data)
	}
	var ud userData
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&ud); err != nil {
		t.Fatalf("user data is not the cloud-config epks writes: %v", err)
	}
	return ud
}

func (ud userData) file(t *testing.T, path string) File {
	t.Helper()
	for _, f := range ud.WriteFiles {
		if f.Path == path {
			return f
		}
	}
	t.Fatalf("user data writes no %s", path)
	return File{}
}

func (ud userData) has(path string) bool {
	for _, f := range ud.WriteFiles {
		if f.Path == path {
			return true
		}
	}
	return false
}

// extract writes the files of the user data under root, as cloud-init would.
func (ud userData) extract(t *testing.T, root string) {
	t.Helper()
	for _, f := range ud.WriteFiles {
		p := filepath.Join(root, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if f.Permissions == "0755" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(f.Content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// tool finds a validator on PATH; a missing one fails the test with how to
// install it.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: it validates the node configuration; install Debian's %s (hack/ci-setup.sh does)", name, pkg)
	}
	return p
}

// everyNode runs f for every role and system.
func everyNode(t *testing.T, f func(t *testing.T, role Role, sys OS)) {
	for _, role := range Roles() {
		for _, sys := range OSes() {
			t.Run(string(role)+"/"+string(sys), func(t *testing.T) { f(t, role, sys) })
		}
	}
}

// readCert reads a PEM certificate file.
func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s is not PEM", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
