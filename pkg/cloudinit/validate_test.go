package cloudinit

// The tests of this file validate the rendered node configuration with the
// real tools: cloud-init's schema, kubeadm built from the pinned module,
// netplan (with Open vSwitch), ifupdown's ifquery, shellcheck and openssl.
// A missing tool fails the test and says how to install it.

import (
	"bytes"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/test/toolbin"
)

// TestCloudInitSchema validates every role x OS with `cloud-init schema`.
func TestCloudInitSchema(t *testing.T) {
	cloudInit := tool(t, "cloud-init", "cloud-init")
	p := seedParams(t, nil)
	everyNode(t, func(t *testing.T, role Role, sys OS) {
		file := filepath.Join(t.TempDir(), "user-data")
		if err := os.WriteFile(file, render(t, p, role, sys), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(cloudInit, "schema", "--config-file", file).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Valid cloud-config") {
			t.Fatalf("cloud-init schema: %v\n%s", err, out)
		}
		if strings.Contains(strings.ToLower(string(out)), "deprecat") {
			t.Errorf("cloud-init schema reports deprecations:\n%s", out)
		}
	})
}

// TestCloudInitSchemaCatchesErrors makes sure the schema check can fail.
func TestCloudInitSchemaCatchesErrors(t *testing.T) {
	cloudInit := tool(t, "cloud-init", "cloud-init")
	file := filepath.Join(t.TempDir(), "user-data")
	if err := os.WriteFile(file, []byte("#cloud-config\nwrite_files:\n  - content: x\nruncmd: 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(cloudInit, "schema", "--config-file", file).CombinedOutput(); err == nil {
		t.Fatalf("cloud-init schema accepted a broken file:\n%s", out)
	}
}

// TestKubernetesVersionIsPinned: the nodes' default Kubernetes is the one
// whose kubeadm validates their configuration here.
func TestKubernetesVersionIsPinned(t *testing.T) {
	v, err := toolbin.Version("kubeadm")
	if err != nil {
		t.Fatal(err)
	}
	if params.DefaultKubernetesVersion != v {
		t.Errorf("params.DefaultKubernetesVersion is %s, hack/versions.env pins kubeadm %s", params.DefaultKubernetesVersion, v)
	}
}

func kubeadm(t *testing.T) string {
	t.Helper()
	path, err := toolbin.Path("kubeadm")
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKubeadmConfigValidate validates the kubeadm configuration of every
// role x OS with `kubeadm config validate` (strict decoding).
func TestKubeadmConfigValidate(t *testing.T) {
	k := kubeadm(t)
	p := seedParams(t, nil)
	everyNode(t, func(t *testing.T, role Role, sys OS) {
		ud := parseUserData(t, render(t, p, role, sys))
		file := filepath.Join(t.TempDir(), "kubeadm.yaml")
		if err := os.WriteFile(file, []byte(ud.file(t, "/etc/epks/kubeadm.yaml").Content), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(k, "config", "validate", "--config", file).CombinedOutput()
		if err != nil {
			t.Fatalf("kubeadm config validate: %v\n%s", err, out)
		}
		if strings.Contains(string(out), seedToken) {
			t.Errorf("kubeadm printed the token")
		}
	})
}

// TestKubeadmUsesThePKI runs `kubeadm init phase certs all` with the first
// control-plane node's configuration and the PKI files its user data ships:
// kubeadm must take the CAs as they are and sign the API server's
// certificate for the endpoint and the SANs with them. openssl computes the
// workers' pin as kubeadm's documentation does.
func TestKubeadmUsesThePKI(t *testing.T) {
	k := kubeadm(t)
	openssl := tool(t, "openssl", "openssl")
	p := seedParams(t, nil)
	ud := parseUserData(t, render(t, p, RoleControlPlane, DefaultOS))
	root := t.TempDir()
	ud.extract(t, root)
	pki := filepath.Join(root, "etc/kubernetes/pki")

	// The same configuration, with the certificates under the scratch root.
	var docs []map[string]any
	dec := yaml.NewDecoder(strings.NewReader(ud.file(t, "/etc/epks/kubeadm.yaml").Content))
	for {
		var d map[string]any
		if dec.Decode(&d) != nil {
			break
		}
		if d["kind"] == "ClusterConfiguration" {
			d["certificatesDir"] = pki
		}
		docs = append(docs, d)
	}
	cfg, err := yamlDocs(anySlice(docs)...)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(root, "kubeadm.yaml")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	caBefore, _ := os.ReadFile(filepath.Join(pki, "ca.crt"))
	out, err := exec.Command(k, "init", "phase", "certs", "all", "--config", cfgFile).CombinedOutput()
	if err != nil {
		t.Fatalf("kubeadm init phase certs all: %v\n%s", err, out)
	}
	for _, name := range []string{"ca", "front-proxy-ca", "etcd/ca"} {
		if !strings.Contains(string(out), "Using existing "+name+" certificate authority") {
			t.Errorf("kubeadm did not use the shipped %s:\n%s", name, out)
		}
	}
	if caAfter, _ := os.ReadFile(filepath.Join(pki, "ca.crt")); !bytes.Equal(caBefore, caAfter) {
		t.Error("kubeadm replaced ca.crt")
	}
	cert := readCert(t, filepath.Join(pki, "apiserver.crt"))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caBefore)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: cert.NotBefore.Add(1)}); err != nil {
		t.Errorf("apiserver.crt is not signed by the shipped CA: %v", err)
	}
	var ips []string
	for _, ip := range cert.IPAddresses {
		ips = append(ips, ip.String())
	}
	for _, want := range []string{"10.0.0.10", floatingIP} {
		if !strings.Contains(strings.Join(ips, " "), want) {
			t.Errorf("apiserver.crt lacks IP SAN %s: %v", want, ips)
		}
	}
	if !strings.Contains(strings.Join(cert.DNSNames, " "), "k8scluster.example.com") {
		t.Errorf("apiserver.crt lacks DNS SAN k8scluster.example.com: %v", cert.DNSNames)
	}

	// The pin, the way kubeadm's documentation computes it.
	pipeline := openssl + " x509 -pubkey -in " + filepath.Join(pki, "ca.crt") + " | " +
		openssl + " pkey -pubin -outform der | " + openssl + " dgst -sha256 -hex"
	out, err = exec.Command("sh", "-c", pipeline).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	fields := strings.Fields(string(out))
	if want := "sha256:" + fields[len(fields)-1]; sharedPKI.CACertHash() != want {
		t.Errorf("pin %s, openssl says %s", sharedPKI.CACertHash(), want)
	}
}

func anySlice[T any](in []T) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = v
	}
	return out
}

// TestShellcheck runs shellcheck on every script of every role x OS, with
// the node.env of that node, which the scripts source.
func TestShellcheck(t *testing.T) {
	sc := tool(t, "shellcheck", "shellcheck")
	p := seedParams(t, nil)
	everyNode(t, func(t *testing.T, role Role, sys OS) {
		ud := parseUserData(t, render(t, p, role, sys))
		root := t.TempDir()
		ud.extract(t, root)
		var files []string
		for _, f := range ud.WriteFiles {
			if strings.HasSuffix(f.Path, ".sh") {
				files = append(files, filepath.Join(root, f.Path))
			}
		}
		args := append([]string{"--external-sources", "--source-path", filepath.Join(root, "etc/epks"), "--severity", "style"}, files...)
		if out, err := exec.Command(sc, args...).CombinedOutput(); err != nil {
			t.Errorf("shellcheck: %v\n%s", err, out)
		}
		// node.env itself is sh (assignments only: that they are used is the scripts' part).
		if out, err := exec.Command(sc, "--shell", "sh", "--exclude", "SC2034", filepath.Join(root, "etc/epks/node.env")).CombinedOutput(); err != nil {
			t.Errorf("shellcheck node.env: %v\n%s", err, out)
		}
	})
}
