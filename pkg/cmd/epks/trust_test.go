package epks

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/epks/epks/pkg/certs"
	"github.com/epks/epks/pkg/render"
	"github.com/epks/epks/pkg/sim"
)

func startSim(t *testing.T, opts ...sim.Options) *sim.Server {
	t.Helper()
	var o sim.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s, err := sim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// presented is the leaf a TLS server presents, read through a verified
// handshake.
func presented(t *testing.T, addr string, cfg *tls.Config) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return certs.Thumbprint(conn.ConnectionState().PeerCertificates[0])
}

// TestTrustStep: with IP access and nothing pinned, template refuses
// without connecting anywhere and says what to run; epks trust shows the
// chains of viosim's Keystone and NSX Manager, writes Keystone's CA and
// (with --write) names it and the NSX thumbprint in the parameters; then
// template renders exactly that trust.
func TestTrustStep(t *testing.T) {
	s := startSim(t)
	m := s.Params(sim.ParamsOptions{})
	delete(m, "os_ca_file")
	delete(m, "nsx_ca_file")
	m["control_plane_endpoint"] = "10.0.0.10"
	p := writeParams(t, m)
	dir := filepath.Dir(p)

	// No trust: exit 2, the exact command, and no certificate fetched.
	before := s.CountsWithPrefix("")
	code, out, errOut := run(t, "template", "-p", p)
	if code != ExitBadInput || out != "" || !strings.Contains(errOut, "epks trust -p "+p+" --write") || !strings.Contains(errOut, "os_ca_file") {
		t.Fatalf("template without trust: exit %d, stdout %d bytes:\n%s", code, len(out), errOut)
	}
	if strings.Contains(errOut, "Trusting") {
		t.Errorf("template trusts a fetched chain:\n%s", errOut)
	}
	if after := s.CountsWithPrefix(""); after != before {
		t.Errorf("template talked to viosim (%d requests)", after-before)
	}
	for _, verb := range [][]string{{"values", "-p", p}, {"cloud-init", "-p", p, "--role", "worker", "--pki-dir", t.TempDir()}} {
		if code, _, errOut := run(t, verb...); code != ExitBadInput || !strings.Contains(errOut, "epks trust -p") {
			t.Errorf("%s without trust: exit %d:\n%s", verb[0], code, errOut)
		}
	}

	// epks trust: the chains, the thumbprint, the keys to add.
	nsxTP := presented(t, s.NSXAddress(), s.TLSConfig())
	code, out, errOut = run(t, "trust", "-p", p)
	if code != 0 {
		t.Fatalf("trust: exit %d: %s\n%s", code, errOut, out)
	}
	caPEM := s.CACertPEM()
	ca, _ := certs.ParseCertificates(caPEM, timeNow())
	for _, want := range []string{
		"Keystone at " + s.URL(sim.Keystone) + " presents:", "subject:  CN=viosim", "issuer:   CN=viosim CA,O=viosim",
		"valid:", "SHA-256:  " + certs.Fingerprint(ca[0]),
		"NSX Manager " + s.NSXAddress() + " presents:", nsxTP,
		"os_ca_file: " + DefaultKeystoneCAFile, "nsx_thumbprint: [" + nsxTP + "]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trust output lacks %q:\n%s", want, out)
		}
	}
	written, err := os.ReadFile(filepath.Join(dir, DefaultKeystoneCAFile))
	if err != nil || !bytes.Equal(written, caPEM) {
		t.Fatalf("%s holds %q (%v), want viosim's CA only (the last certificate of the chain)", DefaultKeystoneCAFile, written, err)
	}
	// Printing changed nothing in the parameters.
	if data, _ := os.ReadFile(p); bytes.Contains(data, []byte("os_ca_file")) {
		t.Error("trust without --write edited the parameters")
	}

	// --write adds the keys, keeping a comment and the file's mode.
	data, _ := os.ReadFile(p)
	if err := os.WriteFile(p, append([]byte("# site parameters\n"), data...), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, "trust", "-p", p, "--write"); code != 0 || !strings.Contains(out, "Added to "+p) {
		t.Fatalf("trust --write: exit %d: %s\n%s", code, errOut, out)
	}
	data, _ = os.ReadFile(p)
	var doc struct{ Parameters map[string]any }
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Parameters["os_ca_file"] != DefaultKeystoneCAFile || len(doc.Parameters["nsx_thumbprint"].([]any)) != 1 ||
		doc.Parameters["nsx_thumbprint"].([]any)[0] != nsxTP || !strings.HasPrefix(string(data), "# site parameters") ||
		doc.Parameters["nsx_password"] == nil {
		t.Fatalf("parameters after --write:\n%s", data)
	}
	if info, _ := os.Stat(p); info.Mode().Perm() != 0o600 {
		t.Errorf("--write changed the mode to %v", info.Mode().Perm())
	}

	// Now pinned: trust checks and adds nothing; template renders the pins.
	if code, out, errOut := run(t, "trust", "-p", p); code != 0 || !strings.Contains(out, "Everything the parameters pin matches") {
		t.Errorf("trust on pinned parameters: exit %d: %s\n%s", code, errOut, out)
	}
	code, out, errOut = run(t, "template", "-p", p)
	if code != 0 {
		t.Fatalf("template with trust: exit %d: %s", code, errOut)
	}
	if strings.Contains(errOut, "no trust is set for the NSX") {
		t.Errorf("an NSX trust warning although nsx_thumbprint is set:\n%s", errOut)
	}
	objs, _ := render.Objects(out)
	got, err := render.SecretData(render.Find(objs, "Secret", "epks-addons-cloud-config"), "ca.crt")
	if err != nil || !bytes.Equal(got, caPEM) {
		t.Errorf("ca.crt = %q, %v; want the pinned CA", got, err)
	}
	ini := render.Find(objs, "ConfigMap", "epks-addons-ncp").Object["data"].(map[string]any)["ncp.ini"].(string)
	if !strings.Contains(ini, "\nthumbprint = \""+nsxTP+"\"\n") {
		t.Errorf("ncp.ini lacks the thumbprint:\n%s", ini)
	}
	tagger := render.Find(objs, "ConfigMap", "epks-addons-port-tagger").Object["data"].(map[string]any)["config.yaml"].(string)
	if !strings.Contains(tagger, `thumbprints: ["`+nsxTP+`"]`) {
		t.Errorf("the tagger's config lacks the thumbprint:\n%s", tagger)
	}

	// Keystone's address now presents another certificate: trust says it
	// does not match, exit 1.
	other := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer other.Close()
	m["os_ca_file"] = filepath.Join(dir, DefaultKeystoneCAFile)
	m["nsx_thumbprint"] = nsxTP
	m["os_auth_url"] = other.URL + "/v3"
	p2 := writeParams(t, m)
	code, _, errOut = run(t, "trust", "-p", p2)
	if code != ExitFailure || !strings.Contains(errOut, "does not verify with the CA the parameters pin") {
		t.Errorf("trust with a changed Keystone certificate: exit %d:\n%s", code, errOut)
	}
}

// TestTrustWrongNSXThumbprint: a pinned thumbprint the Manager does not
// present is reported with the one it does, exit 1.
func TestTrustWrongNSXThumbprint(t *testing.T) {
	s := startSim(t)
	m := s.Params(sim.ParamsOptions{})
	delete(m, "nsx_ca_file")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "viosim-ca.crt"), s.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	m["os_ca_file"] = filepath.Join(dir, "viosim-ca.crt")
	m["nsx_thumbprint"] = strings.Repeat("0", 64)
	p := writeParams(t, m)
	code, out, errOut := run(t, "trust", "-p", p)
	nsxTP := presented(t, s.NSXAddress(), s.TLSConfig())
	if code != ExitFailure || !strings.Contains(errOut, "has SHA-256 thumbprint "+nsxTP+", which is not a pinned thumbprint") {
		t.Errorf("exit %d:\n%s\n%s", code, errOut, out)
	}
}

// TestTrustSystemRootsFlag: --trust-system-roots is the explicit way to
// trust the system roots for OpenStack; nothing is fetched.
func TestTrustSystemRootsFlag(t *testing.T) {
	var conns atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	p := writeParams(t, map[string]any{
		"name": "lab", "node_count": 1, "pod_network_cidr": "193.167.0.0/16", "kube_token": "abcdef.0123456789abcdef",
		"nsx_api_manager": "127.0.0.1", "nsx_username": "admin", "nsx_password": "x", "tier0_router": "t0",
		"overlay_tz": "tz", "ip_block": "b", "external_ip_pool": "p", "os_username": "u", "os_password": "p",
		"os_tenant_id": "t", "os_domain_id": "d", "keystone_ip": "127.0.0.1", "os_auth_url": "https://" + ln.Addr().String() + "/v3",
		"pod_network": "pods", "nsx_thumbprint": strings.Repeat("ab", 32),
	})
	code, out, errOut := run(t, "template", "-p", p, "--trust-system-roots")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	objs, _ := render.Objects(out)
	if ca, _ := render.SecretData(render.Find(objs, "Secret", "epks-addons-cloud-config"), "ca.crt"); len(ca) != 0 {
		t.Errorf("ca.crt = %q, want empty (system roots)", ca)
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("template connected to Keystone %d times", n)
	}
}

// TestInstallPreflightTrust: epks install refuses, before it contacts the
// cluster, an NSX Manager that presents a certificate the parameters do not
// pin, and one with no trust at all.
func TestInstallPreflightTrust(t *testing.T) {
	s := startSim(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "viosim-ca.crt"), s.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		edit   func(m map[string]any)
		errHas string
	}{
		{"wrong thumbprint", func(m map[string]any) { m["nsx_thumbprint"] = strings.Repeat("0", 64) }, "not a pinned thumbprint"},
		{"no NSX trust", func(m map[string]any) {}, "no trust is set for it"},
	} {
		m := s.Params(sim.ParamsOptions{})
		delete(m, "nsx_ca_file")
		m["os_ca_file"] = filepath.Join(dir, "viosim-ca.crt")
		tt.edit(m)
		p := writeParams(t, m)
		code, _, errOut := run(t, "install", "-p", p, "--kubeconfig", filepath.Join(dir, "no-such-kubeconfig"))
		if code != ExitFailure || !strings.Contains(errOut, "preflight") || !strings.Contains(errOut, "NSX Manager "+s.NSXAddress()) ||
			!strings.Contains(errOut, tt.errHas) || strings.Contains(errOut, "kubeconfig") {
			t.Errorf("%s: exit %d:\n%s", tt.name, code, errOut)
		}
	}
}

// TestTrustThroughHostAliases: a Keystone named by a host name that only
// the pods' hostAliases resolve (keystone_hostname, keystone_ip) is fetched
// at that IP and verified for that name.
func TestTrustThroughHostAliases(t *testing.T) {
	const name = "keystone.vio.invalid"
	s := startSim(t, sim.Options{DNSNames: []string{name}})
	m := s.Params(sim.ParamsOptions{})
	delete(m, "os_ca_file")
	delete(m, "nsx_ca_file")
	byName := strings.Replace(s.URL(sim.Keystone), "127.0.0.1", name, 1)
	m["ip_access"], m["keystone_hostname"], m["keystone_ip"], m["os_auth_url"] = true, name, "127.0.0.1", byName
	p := writeParams(t, m)
	code, out, errOut := run(t, "trust", "-p", p)
	if code != 0 || !strings.Contains(out, "Keystone at "+byName+" presents:") || !strings.Contains(out, "os_ca_file: "+DefaultKeystoneCAFile) {
		t.Errorf("exit %d: %s\n%s", code, errOut, out)
	}
}
