package install_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/epks/epks/pkg/certs"
	"github.com/epks/epks/pkg/install"
	"github.com/epks/epks/pkg/sim"
)

// TestCheckTrust: the preflight accepts viosim's Keystone and NSX Manager
// exactly when the values pin what they present, and names every endpoint
// a component would refuse.
func TestCheckTrust(t *testing.T) {
	s := startSim(t, sim.Options{})
	conn, err := tls.Dial("tcp", s.NSXAddress(), s.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	right := certs.Thumbprint(conn.ConnectionState().PeerCertificates[0])
	conn.Close()
	wrong := strings.Repeat("0", 64)
	ca := string(s.CACertPEM())
	other := otherCA(t)
	values := func(osCA, nsxCA string, thumbprints []any, nsxInsecure bool) map[string]any {
		return map[string]any{
			"openstack": map[string]any{"authURL": s.URL(sim.Keystone), "caBundle": osCA},
			"nsx":       map[string]any{"managers": []any{s.NSXAddress()}, "caBundle": nsxCA, "thumbprints": thumbprints, "insecure": nsxInsecure},
		}
	}
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		values map[string]any
		errHas []string
	}{
		{"pinned CA and thumbprint", values(ca, "", []any{right}, false), nil},
		{"pinned CAs", values(ca, ca, nil, false), nil},
		{"NSX insecure", values(ca, "", nil, true), nil},
		{"wrong thumbprint", values(ca, "", []any{wrong}, false), []string{"NSX Manager " + s.NSXAddress(), "NCP and the port tagger (nsx.thumbprints)", "not a pinned thumbprint", "was replaced"}},
		{"no NSX trust", values(ca, "", nil, false), []string{"NSX Manager", "no trust is set", "nsx_thumbprint"}},
		{"NSX CA right, thumbprint wrong: the tagger would refuse", values(ca, ca, []any{wrong}, false), []string{"the port tagger (nsx.thumbprints)"}},
		{"Keystone presents what the CA does not sign", values(other, "", []any{right}, false), []string{"Keystone (" + s.URL(sim.Keystone) + ")", "openstack.caBundle"}},
		{"no Keystone CA: system roots", values("", "", []any{right}, false), []string{"Keystone", "os_ca_file"}},
	} {
		err := install.CheckTrust(ctx, install.TrustTargetsFromValues(tt.values))
		if len(tt.errHas) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var te *install.TrustError
		if !errors.As(err, &te) {
			t.Errorf("%s: got %v, want a TrustError", tt.name, err)
			continue
		}
		for _, want := range tt.errHas {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error lacks %q:\n%v", tt.name, want, err)
			}
		}
	}
}

// otherCA is a CA that signed nothing viosim presents.
func otherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "another CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestCheckTrustThroughHostAliases: endpoints named by host names that only
// the pods' hostAliases resolve (VIO without IP access) are checked at the
// aliases' IPs, for their names.
func TestCheckTrustThroughHostAliases(t *testing.T) {
	const name = "keystone.vio.invalid"
	s := startSim(t, sim.Options{DNSNames: []string{name}})
	u := s.URL(sim.Keystone)
	byName := strings.Replace(u, "127.0.0.1", name, 1)
	if byName == u {
		t.Fatalf("viosim's URL %s is not on 127.0.0.1", u)
	}
	v := map[string]any{
		"openstack":   map[string]any{"authURL": byName, "caBundle": string(s.CACertPEM())},
		"hostAliases": []any{map[string]any{"ip": "127.0.0.1", "hostnames": []any{name}}},
	}
	if err := install.CheckTrust(context.Background(), install.TrustTargetsFromValues(v)); err != nil {
		t.Fatalf("through hostAliases: %v", err)
	}
	delete(v, "hostAliases")
	if err := install.CheckTrust(context.Background(), install.TrustTargetsFromValues(v)); err == nil {
		t.Fatal("a name nothing resolves passed the preflight")
	}
}

func startSim(t *testing.T, opts sim.Options) *sim.Server {
	t.Helper()
	s, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
