// Package certs reads, checks and bundles the certificates epks hands to the
// components (the CA bundle of the OpenStack endpoints, the NSX Managers'
// trust and client identity), fetches a presented chain for `epks trust` to
// show, and checks endpoints against pinned trust: a CA bundle, or SHA-256
// thumbprints of the leaf certificate.
package certs

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ParseCertificates reads every PEM certificate in data and checks each is
// valid at now. It fails when data holds no certificate, holds something that
// is not a certificate (a private key, garbage), or a certificate is expired
// or not yet valid. Errors never include the data.
func ParseCertificates(data []byte, now time.Time) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch {
		case block.Type == "CERTIFICATE":
		case strings.Contains(block.Type, "PRIVATE KEY"):
			return nil, errors.New("holds a private key; a certificate was expected (never hand out private keys as CA files)")
		default:
			return nil, fmt.Errorf("holds a PEM %q block; only CERTIFICATE blocks are allowed", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse: %w", len(out)+1, err)
		}
		if err := checkValidity(cert, now); err != nil {
			return nil, err
		}
		out = append(out, cert)
	}
	if len(bytes.TrimSpace(rest)) > 0 && len(out) == 0 {
		return nil, errors.New("is not a PEM certificate (no \"-----BEGIN CERTIFICATE-----\" block)")
	}
	if len(out) == 0 {
		return nil, errors.New("holds no certificate")
	}
	return out, nil
}

func checkValidity(c *x509.Certificate, now time.Time) error {
	switch {
	case now.After(c.NotAfter):
		return fmt.Errorf("certificate %q expired on %s", subject(c), c.NotAfter.UTC().Format(time.DateOnly))
	case now.Before(c.NotBefore):
		return fmt.Errorf("certificate %q is not valid before %s", subject(c), c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

func subject(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return c.Subject.String()
}

// Bundle encodes certificates as one PEM bundle, dropping duplicates and
// keeping the order of first appearance.
func Bundle(certs ...[]*x509.Certificate) []byte {
	var b bytes.Buffer
	seen := map[string]bool{}
	for _, list := range certs {
		for _, c := range list {
			fp := Fingerprint(c)
			if seen[fp] {
				continue
			}
			seen[fp] = true
			_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
	}
	return b.Bytes()
}

// Fingerprint is the SHA-256 fingerprint of a certificate, as hex pairs
// separated by colons (the form browsers and openssl print).
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// CheckKeyPair checks that a PEM certificate and a PEM private key belong
// together and that the certificate is valid at now. Errors never include
// the key.
func CheckKeyPair(certPEM, keyPEM []byte, now time.Time) error {
	certs, err := ParseCertificates(certPEM, now)
	if err != nil {
		return err
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		if block, _ := pem.Decode(keyPEM); block == nil || !strings.Contains(block.Type, "PRIVATE KEY") {
			return errors.New("the key file holds no PEM private key")
		}
		return fmt.Errorf("the key does not belong to certificate %q", subject(certs[0]))
	}
	return nil
}
