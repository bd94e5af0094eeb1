package localcluster

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"strings"
	"testing"

	kwokv1alpha1 "sigs.k8s.io/kwok/pkg/apis/v1alpha1"
	"sigs.k8s.io/yaml"
)

// TestStagesAreKwokStages decodes every stage strictly into kwok's own type.
func TestStagesAreKwokStages(t *testing.T) {
	for _, gate := range []bool{false, true} {
		names := checkStages(t, gate)
		if gate && (!names["epks-pod-ready-host-network"] || !names["epks-pod-ready"]) {
			t.Errorf("the gated stages lack the host-network or the pod-network pod-ready stage: %v", names)
		}
	}
}

func checkStages(t *testing.T, gate bool) map[string]bool {
	t.Helper()
	data, err := stagesYAML(gate)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		doc = strings.TrimPrefix(doc, "---\n")
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var st kwokv1alpha1.Stage
		if err := yaml.UnmarshalStrict([]byte(doc), &st); err != nil {
			t.Fatalf("not a kwok Stage: %v\n%s", err, doc)
		}
		if st.Kind != "Stage" || st.Spec.ResourceRef.Kind == "" || st.Spec.Next.StatusTemplate == "" && !st.Spec.Next.Delete {
			t.Errorf("stage %s does nothing: %+v", st.Name, st.Spec)
		}
		names[st.Name] = true
	}
	for _, want := range []string{"epks-node-ready", "epks-node-heartbeat", "epks-pod-ready", "epks-pod-delete"} {
		if !names[want] {
			t.Errorf("stage %s missing", want)
		}
	}
	return names
}

func TestPKI(t *testing.T) {
	p, err := newPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.serving("apiserver", []net.IP{net.ParseIP("127.0.0.1")}, []string{"kubernetes.default.svc"}); err != nil {
		t.Fatal(err)
	}
	if err := p.client(p.ca, "kcm", "system:kube-controller-manager"); err != nil {
		t.Fatal(err)
	}
	if err := p.client(p.frontProxy, "front-proxy-client", "front-proxy-client"); err != nil {
		t.Fatal(err)
	}
	if err := p.serviceAccountKey(); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.cert)
	load := func(name string) *x509.Certificate {
		data, err := os.ReadFile(p.path(name))
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(data)
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	srv := load("apiserver.crt")
	if _, err := srv.Verify(x509.VerifyOptions{Roots: roots, DNSName: "kubernetes.default.svc"}); err != nil {
		t.Errorf("serving certificate: %v", err)
	}
	if err := srv.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("serving certificate lacks 127.0.0.1: %v", err)
	}
	cl := load("kcm.crt")
	if _, err := cl.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if cl.Subject.CommonName != "system:kube-controller-manager" {
		t.Errorf("client CN %q", cl.Subject.CommonName)
	}
	// The front proxy's client is its own CA's, not the cluster CA's: a
	// component's client certificate cannot pass for the proxy.
	fp := load("front-proxy-client.crt")
	proxyRoots := x509.NewCertPool()
	proxyRoots.AddCert(p.frontProxy.cert)
	if _, err := fp.Verify(x509.VerifyOptions{Roots: proxyRoots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("front proxy client: %v", err)
	}
	if _, err := fp.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("the front proxy client verifies against the cluster CA")
	}
	if st, err := os.Stat(p.path("sa.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("sa.key: %v %v", st, err)
	}
}

func TestFirstServiceIP(t *testing.T) {
	ip, err := firstServiceIP("10.96.0.0/12")
	if err != nil || ip.String() != "10.96.0.1" {
		t.Fatalf("firstServiceIP = %v, %v", ip, err)
	}
	if _, err := firstServiceIP("nope"); err == nil {
		t.Fatal("want an error")
	}
}
