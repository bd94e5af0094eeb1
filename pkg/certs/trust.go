package certs

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Thumbprint is the SHA-256 thumbprint of a certificate as NSX prints it
// (`get certificate api thumbprint`) and NCP's `[nsx_v3] thumbprint` takes
// it: 64 lower-case hex digits.
func Thumbprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// NormalizeThumbprint accepts a SHA-256 thumbprint as 64 hex digits, in
// either case, with or without colons between the pairs, and returns it in
// Thumbprint's form. Errors say what is wrong without echoing the value.
func NormalizeThumbprint(s string) (string, error) {
	t := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	if len(t) != sha256.Size*2 {
		if len(t) == 40 {
			return "", errors.New("is 40 hex digits, a SHA-1 thumbprint; give the SHA-256 one (64 hex digits)")
		}
		return "", fmt.Errorf("has %d characters; a SHA-256 thumbprint is 64 hex digits (colons allowed)", len(t))
	}
	if _, err := hex.DecodeString(t); err != nil {
		return "", errors.New("is not hex digits; a SHA-256 thumbprint is 64 hex digits (colons allowed)")
	}
	return t, nil
}

// ThumbprintMismatchError is a server presenting a leaf certificate whose
// thumbprint is not among the pinned ones.
type ThumbprintMismatchError struct {
	// Got is the presented leaf's thumbprint.
	Got string
}

func (e *ThumbprintMismatchError) Error() string {
	return fmt.Sprintf("the server's certificate has SHA-256 thumbprint %s, which is not a pinned thumbprint", e.Got)
}

// PinnedVerifier returns a tls.Config VerifyConnection function that
// accepts a server exactly when its leaf certificate's SHA-256 thumbprint
// is one of thumbprints (in Thumbprint's form), as NCP's `thumbprint`
// option does. It checks no CA and no host name: the pin is the trust. The
// config using it must set InsecureSkipVerify, or the CA check runs first.
func PinnedVerifier(thumbprints []string) func(tls.ConnectionState) error {
	pins := make([][]byte, 0, len(thumbprints))
	for _, t := range thumbprints {
		if b, err := hex.DecodeString(t); err == nil {
			pins = append(pins, b)
		}
	}
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the server presented no certificate")
		}
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		for _, p := range pins {
			if subtle.ConstantTimeCompare(p, sum[:]) == 1 {
				return nil
			}
		}
		return &ThumbprintMismatchError{Got: hex.EncodeToString(sum[:])}
	}
}

// Anchor returns the certificate of a presented chain to pin as its CA:
// the last one the server sent (the root or the highest intermediate; a
// self-signed leaf is its own). It fails when the chain does not verify up
// to it for host, since every client would then refuse the server too.
func Anchor(chain []*x509.Certificate, host string, now time.Time) (*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, errors.New("empty certificate chain")
	}
	for _, c := range chain {
		if err := checkValidity(c, now); err != nil {
			return nil, fmt.Errorf("the server presents a %w", err)
		}
	}
	anchor := chain[len(chain)-1]
	roots := x509.NewCertPool()
	roots.AddCert(anchor)
	inter := x509.NewCertPool()
	if len(chain) > 2 {
		for _, c := range chain[1 : len(chain)-1] {
			inter.AddCert(c)
		}
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter, CurrentTime: now}); err != nil {
		return nil, fmt.Errorf("the chain the server presents does not verify for %s even when its last certificate %q is trusted: %w", host, subject(anchor), err)
	}
	return anchor, nil
}

// Describe writes what a user compares out of band for one certificate:
// subject, issuer, validity and SHA-256 fingerprint.
func Describe(c *x509.Certificate) string {
	return fmt.Sprintf("subject:  %s\nissuer:   %s\nvalid:    %s to %s\nSHA-256:  %s",
		c.Subject.String(), c.Issuer.String(),
		c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), Fingerprint(c))
}

// Trust says how a TLS server is trusted. The zero value trusts the
// system roots.
type Trust struct {
	// CABundle is PEM; empty means the system roots.
	CABundle []byte
	// Thumbprints pin the leaf certificate instead of any CA.
	Thumbprints []string
	// Insecure skips verification.
	Insecure bool
}

// Config returns the client TLS configuration of t for serverName.
func (t Trust) Config(serverName string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	switch {
	case t.Insecure:
		cfg.InsecureSkipVerify = true //nolint:gosec // the user's opt-out
	case len(t.Thumbprints) > 0:
		cfg.InsecureSkipVerify = true //nolint:gosec // the pin is checked by VerifyConnection
		cfg.VerifyConnection = PinnedVerifier(t.Thumbprints)
	case len(t.CABundle) > 0:
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(t.CABundle) {
			return nil, errors.New("the CA bundle holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Check connects to the TLS server at addr (https://host[:port]/..., or
// host[:port] with port 443 by default) and completes a handshake with the
// trust of t: it fails when the server presents a chain that t does not
// accept.
func Check(ctx context.Context, addr string, t Trust) error {
	return CheckVia(ctx, addr, "", t)
}

// CheckVia is Check connecting to the IP via instead of resolving the
// host name of addr (still verified for that name), as a pod whose
// hostAliases map the name does. An empty via resolves the name.
func CheckVia(ctx context.Context, addr, via string, t Trust) error {
	hostport, host, err := hostPort(addr)
	if err != nil {
		return err
	}
	hostport = dialAddress(hostport, via)
	cfg, err := t.Config(host)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, FetchTimeout)
		defer cancel()
	}
	conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", hostport)
	if err != nil {
		return fmt.Errorf("TLS to %s: %w", hostport, err)
	}
	return conn.Close()
}

// hostPort reads https://host[:port]/..., host:port or host.
func hostPort(addr string) (hostport, host string, err error) {
	raw := addr
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("%q is not an address", addr)
	}
	if u.Scheme != "https" {
		return "", "", fmt.Errorf("%s does not use TLS, there is no certificate to check", addr)
	}
	hostport = u.Host
	if u.Port() == "" {
		hostport = net.JoinHostPort(u.Hostname(), "443")
	}
	return hostport, u.Hostname(), nil
}

// dialAddress replaces the host of hostport by via, when via is set.
func dialAddress(hostport, via string) string {
	if via == "" {
		return hostport
	}
	_, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return net.JoinHostPort(via, port)
}
