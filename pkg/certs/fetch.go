package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// FetchTimeout bounds FetchChain when the context has no deadline.
const FetchTimeout = 15 * time.Second

// FetchChain connects to the TLS server at rawURL (https://host[:port]/...)
// and returns the certificates it presents, leaf first. This is how the seed's
// HEAT stack got Keystone's certificate with IP access enabled: trust on
// first use. The chain is not verified (it is what the caller is about to
// trust), so callers should show its fingerprints to the user.
func FetchChain(ctx context.Context, rawURL string) ([]*x509.Certificate, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%q is not a URL", rawURL)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("%s does not use TLS, there is no certificate to fetch", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, FetchTimeout)
		defer cancel()
	}
	d := tls.Dialer{Config: &tls.Config{
		ServerName: u.Hostname(),
		// The chain is fetched to be trusted; verifying it against roots
		// that do not know it yet would always fail.
		InsecureSkipVerify: true, //nolint:gosec // trust on first use, fingerprints shown
		MinVersion:         tls.VersionTLS12,
	}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fetching the certificate of %s: %w", addr, err)
	}
	defer conn.Close()
	chain := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(chain) == 0 {
		return nil, fmt.Errorf("%s presented no certificate", addr)
	}
	return chain, nil
}

// TrustBundle makes a CA bundle that trusts a fetched chain: every
// certificate the server presented, so that both clients that need the
// issuing CA and clients that pin the leaf accept it. It fails when a
// certificate of the chain is not valid at now.
func TrustBundle(chain []*x509.Certificate, now time.Time) ([]byte, error) {
	if len(chain) == 0 {
		return nil, errors.New("empty certificate chain")
	}
	for _, c := range chain {
		if err := checkValidity(c, now); err != nil {
			return nil, fmt.Errorf("the server presents a %w", err)
		}
	}
	return Bundle(chain), nil
}
