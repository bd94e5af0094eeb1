package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"
)

// FetchTimeout bounds FetchChain when the context has no deadline.
const FetchTimeout = 15 * time.Second

// FetchChain connects to the TLS server at addr (https://host[:port]/...,
// host:port, or host with port 443) and returns the certificates it
// presents, leaf first. The chain is not verified: it is what `epks trust`
// shows the user to compare out of band before pinning it, and nothing else
// may use it.
func FetchChain(ctx context.Context, addr string) ([]*x509.Certificate, error) {
	return FetchChainVia(ctx, addr, "")
}

// FetchChainVia is FetchChain connecting to the IP via instead of resolving
// the host name of addr (see CheckVia).
func FetchChainVia(ctx context.Context, addr, via string) ([]*x509.Certificate, error) {
	hostport, host, err := hostPort(addr)
	if err != nil {
		return nil, err
	}
	hostport = dialAddress(hostport, via)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, FetchTimeout)
		defer cancel()
	}
	d := tls.Dialer{Config: &tls.Config{
		ServerName: host,
		// The chain is fetched to be shown and compared; verifying it
		// against roots that do not know it yet would always fail.
		InsecureSkipVerify: true, //nolint:gosec // shown to the user, never trusted as is
		MinVersion:         tls.VersionTLS12,
	}}
	conn, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, fmt.Errorf("fetching the certificate of %s: %w", hostport, err)
	}
	defer conn.Close()
	chain := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(chain) == 0 {
		return nil, fmt.Errorf("%s presented no certificate", hostport)
	}
	return chain, nil
}
