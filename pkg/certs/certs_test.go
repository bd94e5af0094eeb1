package certs

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issue makes a certificate for cn signed by parent (self-signed when nil).
func issue(t *testing.T, cn string, parent *keyPair, notBefore, notAfter time.Time, ca bool) *keyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: ca, BasicConstraintsValid: true,
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &keyPair{cert: cert, key: key}
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func TestParseCertificates(t *testing.T) {
	valid := issue(t, "ca", nil, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), true)
	other := issue(t, "other", nil, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), true)
	expired := issue(t, "old", nil, now.AddDate(-2, 0, 0), now.AddDate(0, 0, -1), true)
	future := issue(t, "new", nil, now.AddDate(0, 0, 1), now.AddDate(1, 0, 0), true)
	keyDER, _ := x509.MarshalECPrivateKey(valid.key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	tests := []struct {
		name  string
		data  []byte
		count int
		err   string
	}{
		{"one", pemOf(valid.cert), 1, ""},
		{"bundle", append(pemOf(valid.cert), pemOf(other.cert)...), 2, ""},
		{"expired", pemOf(expired.cert), 0, `certificate "old" expired on 2026-11-23`},
		{"not yet valid", pemOf(future.cert), 0, `"new" is not valid before`},
		{"private key", keyPEM, 0, "holds a private key"},
		{"key after cert", append(pemOf(valid.cert), keyPEM...), 0, "holds a private key"},
		{"garbage", []byte("not a certificate"), 0, "is not a PEM certificate"},
		{"empty", nil, 0, "holds no certificate"},
		{"other block", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1}}), 0, `"CERTIFICATE REQUEST" block`},
		{"corrupt der", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}), 0, "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := ParseCertificates(tt.data, now)
			if tt.err == "" {
				if err != nil || len(certs) != tt.count {
					t.Fatalf("got %d certs, %v; want %d", len(certs), err, tt.count)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("got %v, want %q", err, tt.err)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY-----") || strings.Contains(err.Error(), "not a certificate\"") {
				t.Errorf("error shows file contents: %v", err)
			}
		})
	}
}

func TestBundleDeduplicates(t *testing.T) {
	a := issue(t, "a", nil, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), true)
	b := issue(t, "b", nil, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), true)
	out := Bundle([]*x509.Certificate{a.cert, b.cert}, []*x509.Certificate{b.cert, a.cert})
	certs, err := ParseCertificates(out, now)
	if err != nil || len(certs) != 2 || certs[0].Subject.CommonName != "a" || certs[1].Subject.CommonName != "b" {
		t.Fatalf("bundle = %d certs (%v), want a then b", len(certs), err)
	}
	if fp := Fingerprint(a.cert); len(fp) != 95 || strings.Count(fp, ":") != 31 {
		t.Errorf("fingerprint %q is not 32 colon-separated pairs", fp)
	}
}

// TestFetchChainFromTLSServer fetches the chain of a loopback TLS server
// whose leaf is issued by an intermediate, pins its anchor (the last
// certificate presented, not every one), and checks that a client trusting
// only the anchor verifies the server.
func TestFetchChainFromTLSServer(t *testing.T) {
	root := issue(t, "root", nil, now.AddDate(-1, 0, 0), now.AddDate(5, 0, 0), true)
	inter := issue(t, "intermediate", root, now.AddDate(-1, 0, 0), now.AddDate(5, 0, 0), true)
	leaf := issue(t, "keystone", inter, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), false)
	srv := tlsServer(t, leaf, inter)

	chain, err := FetchChain(context.Background(), srv.URL+"/v3")
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 2 || chain[0].Subject.CommonName != "keystone" || chain[1].Subject.CommonName != "intermediate" {
		t.Fatalf("chain = %v", chain)
	}
	anchor, err := Anchor(chain, "127.0.0.1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if anchor.Subject.CommonName != "intermediate" {
		t.Fatalf("anchor %q, want the last certificate presented", anchor.Subject.CommonName)
	}
	if err := Check(context.Background(), srv.URL, Trust{CABundle: pemOf(anchor)}); err != nil {
		t.Fatalf("a client trusting the anchor cannot reach the server: %v", err)
	}
	// host:port works as an address too (NSX Managers are given so).
	if _, err := FetchChain(context.Background(), strings.TrimPrefix(srv.URL, "https://")); err != nil {
		t.Errorf("host:port: %v", err)
	}

	if _, err := Anchor(chain, "127.0.0.1", now.AddDate(3, 0, 0)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an expired leaf must be refused, got %v", err)
	}
	if _, err := Anchor(chain, "keystone.example.com", time.Now()); err == nil || !strings.Contains(err.Error(), "does not verify for keystone.example.com") {
		t.Errorf("a chain not valid for the host must be refused, got %v", err)
	}
	// A chain out of order (the leaf not issued by what follows it) is refused.
	if _, err := Anchor([]*x509.Certificate{leaf.cert, root.cert}, "127.0.0.1", time.Now()); err == nil {
		t.Error("a broken chain is accepted")
	}
}

func tlsServer(t *testing.T, leaf *keyPair, chain ...*keyPair) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	c := tls.Certificate{Certificate: [][]byte{leaf.cert.Raw}, PrivateKey: leaf.key}
	for _, k := range chain {
		c.Certificate = append(c.Certificate, k.cert.Raw)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{c}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// TestCheck: pinned trust accepts the server it pins and refuses any other,
// by CA and by leaf thumbprint.
func TestCheck(t *testing.T) {
	ca := issue(t, "ca", nil, now.AddDate(-1, 0, 0), now.AddDate(5, 0, 0), true)
	leaf := issue(t, "nsx", ca, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), false)
	self := issue(t, "nsx-self-signed", nil, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), false)
	other := issue(t, "other", nil, now.AddDate(-1, 0, 0), now.AddDate(5, 0, 0), true)
	srv := tlsServer(t, leaf)
	selfSrv := tlsServer(t, self)
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		url    string
		trust  Trust
		errHas string
	}{
		{"pinned CA", srv.URL, Trust{CABundle: pemOf(ca.cert)}, ""},
		{"another CA", srv.URL, Trust{CABundle: pemOf(other.cert)}, "unknown authority"},
		{"system roots", srv.URL, Trust{}, "unknown authority"},
		{"leaf thumbprint", srv.URL, Trust{Thumbprints: []string{Thumbprint(other.cert), Thumbprint(leaf.cert)}}, ""},
		{"self-signed thumbprint", selfSrv.URL, Trust{Thumbprints: []string{Thumbprint(self.cert)}}, ""},
		{"CA thumbprint is not the leaf's", srv.URL, Trust{Thumbprints: []string{Thumbprint(ca.cert)}}, "is not a pinned thumbprint"},
		{"wrong thumbprint", selfSrv.URL, Trust{Thumbprints: []string{Thumbprint(leaf.cert)}}, Thumbprint(self.cert)},
		{"insecure", selfSrv.URL, Trust{Insecure: true}, ""},
	} {
		err := Check(ctx, tt.url, tt.trust)
		switch {
		case tt.errHas == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)):
			t.Errorf("%s: got %v, want an error with %q", tt.name, err, tt.errHas)
		}
	}
}

func TestNormalizeThumbprint(t *testing.T) {
	c := issue(t, "a", nil, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), true)
	tp := Thumbprint(c.cert)
	if len(tp) != 64 || strings.ToLower(tp) != tp {
		t.Fatalf("thumbprint %q is not 64 lower-case hex digits", tp)
	}
	for _, tt := range []struct{ in, want, errHas string }{
		{tp, tp, ""},
		{strings.ToUpper(tp), tp, ""},
		{Fingerprint(c.cert), tp, ""},
		{" " + tp + " ", tp, ""},
		{tp[:40], "", "SHA-1"},
		{tp[:63], "", "63 characters"},
		{strings.Repeat("g", 64), "", "not hex"},
	} {
		got, err := NormalizeThumbprint(tt.in)
		if got != tt.want || (tt.errHas == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.errHas)) {
			t.Errorf("NormalizeThumbprint(%q) = %q, %v; want %q, error with %q", tt.in, got, err, tt.want, tt.errHas)
		}
	}
}

func TestFetchChainErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, tt := range []struct{ url, want string }{
		{"http://127.0.0.1:1/v3", "does not use TLS"},
		{"not a url", "is not an address"},
		{"https://" + addr + "/v3", "fetching the certificate of " + addr},
	} {
		if _, err := FetchChain(ctx, tt.url); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.url, err, tt.want)
		}
	}
}

func TestCheckKeyPair(t *testing.T) {
	a := issue(t, "a", nil, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), false)
	b := issue(t, "b", nil, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), false)
	keyPEM := func(k *ecdsa.PrivateKey) []byte {
		der, _ := x509.MarshalECPrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	if err := CheckKeyPair(pemOf(a.cert), keyPEM(a.key), now); err != nil {
		t.Errorf("matching pair: %v", err)
	}
	if err := CheckKeyPair(pemOf(a.cert), keyPEM(b.key), now); err == nil || !strings.Contains(err.Error(), `does not belong to certificate "a"`) {
		t.Errorf("mismatched pair: %v", err)
	}
	if err := CheckKeyPair(pemOf(a.cert), []byte("nope"), now); err == nil || !strings.Contains(err.Error(), "no PEM private key") {
		t.Errorf("garbage key: %v", err)
	}
}
