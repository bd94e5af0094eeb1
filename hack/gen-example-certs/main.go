// Command gen-example-certs writes the example endpoint certificates that
// examples/seed-params.yaml needs beside it (nova.crt and cinder.crt, as the
// seed's runbook exports them from VIO). They are self-signed, valid for 100
// years, and for examples and tests only: their private keys are thrown away.
//
// Usage: go run ./hack/gen-example-certs examples
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen-example-certs DIR")
		os.Exit(2)
	}
	for _, c := range []struct {
		file  string
		names []string
	}{
		{"nova.crt", []string{"nova.vio.local", "nova.openstack.svc.cluster.local"}},
		{"cinder.crt", []string{"cinder.vio.local", "cinder.openstack.svc.cluster.local"}},
	} {
		if err := write(filepath.Join(os.Args[1], c.file), c.names); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func write(path string, names []string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(24 * time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"epks example, not for production"}},
		DNSNames:              names,
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.AddDate(100, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}
