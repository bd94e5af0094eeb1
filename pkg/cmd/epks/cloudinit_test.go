package epks

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nodeParams writes the seed's example with a control-plane endpoint (and
// extra lines) beside copies of its certificates.
func nodeParams(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"seed-params.yaml", "nova.crt", "cinder.crt"} {
		data, err := os.ReadFile(filepath.Join("../../../examples", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "seed-params.yaml" {
			data = append(data, []byte(extra)...)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "seed-params.yaml")
}

const endpointLine = "  control_plane_endpoint: 10.0.0.10\n"

func TestCloudInit(t *testing.T) {
	p := nodeParams(t, endpointLine)
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	out := filepath.Join(dir, "cp.yaml")
	code, stdout, stderr := run(t, "cloud-init", "-p", p, "--role", "control-plane", "--pki-dir", pki, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != "" || !strings.Contains(stderr, "Created the cluster's CAs") || !strings.Contains(stderr, "Wrote the user data") {
		t.Errorf("stdout %q stderr %q", stdout, stderr)
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("output: %v %v", st, err)
	}
	cp, _ := os.ReadFile(out)
	if !bytes.HasPrefix(cp, []byte("#cloud-config\n")) || !bytes.Contains(cp, []byte("Admin!23Admin")) {
		t.Errorf("the control plane's user data lacks the header or the credentials for epks install")
	}

	// A worker from the same directory: printed, the same pin, no key.
	code, worker, stderr := run(t, "cloud-init", "-p", p, "--role", "worker", "--os", "ubuntu-18.04", "--pki-dir", pki)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "Created") || !strings.Contains(stderr, "Warning: ubuntu-18.04 has no containerd 2 packages") {
		t.Errorf("stderr: %s", stderr)
	}
	if strings.Contains(worker, "PRIVATE KEY") || strings.Contains(worker, "Admin!23Admin") || strings.Contains(worker, "VMware1!") {
		t.Error("a worker's user data holds a key or a credential")
	}
	if !strings.Contains(worker, "caCertHashes:") || !strings.Contains(worker, "EPKS_NETWORK_CONFIG='ifupdown'") {
		t.Errorf("worker user data:\n%.2000s", worker)
	}
	for _, secret := range []string{"yad31n.pil3w87thsvo9img", "Admin!23Admin", "VMware1!", "PRIVATE KEY"} {
		if strings.Contains(stderr, secret) {
			t.Errorf("stderr shows %s", secret)
		}
	}

	// --gzip: what cloud-init unpacks.
	code, zipped, stderr := run(t, "cloud-init", "-p", p, "--role", "control-plane-join", "--pki-dir", pki, "--gzip")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	zr, err := gzip.NewReader(strings.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.HasPrefix(plain, []byte("#cloud-config\n")) || !bytes.Contains(plain, []byte("controlPlane: {}")) {
		t.Errorf("gunzipped: %v\n%.300s", err, plain)
	}
}

// TestCloudInitBadInput: exit 2, every problem of flags and parameters at
// once, nothing written.
func TestCloudInitBadInput(t *testing.T) {
	noEndpoint := nodeParams(t, "")
	good := nodeParams(t, endpointLine)
	brokenPKI := t.TempDir()
	if err := os.WriteFile(filepath.Join(brokenPKI, "ca.crt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"everything wrong", []string{"--role", "master", "--os", "centos-7", "-p", noEndpoint},
			[]string{`--role "master" is not one of control-plane, control-plane-join, worker`, `--os "centos-7" is not one of ubuntu-24.04`,
				"--pki-dir", "control_plane_endpoint: is required to prepare nodes"}},
		{"no params", []string{"--role", "worker", "--pki-dir", "PKI"}, []string{"give the parameters file with --params"}},
		{"no endpoint", []string{"--role", "worker", "--pki-dir", "PKI", "-p", noEndpoint}, []string{"control_plane_endpoint: is required"}},
		{"broken PKI", []string{"--role", "worker", "--pki-dir", brokenPKI, "-p", good}, []string{"lacks ca.key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "user-data")
			args := []string{"cloud-init", "-o", out}
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "PKI", filepath.Join(dir, "pki")))
			}
			code, stdout, stderr := run(t, args...)
			if code != ExitBadInput || stdout != "" {
				t.Fatalf("exit %d stdout %q stderr %s", code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, f := range []string{out, filepath.Join(dir, "pki")} {
				if _, err := os.Stat(f); err == nil {
					t.Errorf("%s was written", f)
				}
			}
			if strings.Contains(stderr, "yad31n.pil3w87thsvo9img") {
				t.Error("the token is echoed")
			}
		})
	}
}
