package nodedns

import (
	"context"
	"errors"
	"net"
	"testing"
)

// TestResolve asks the server with Go's own resolver, as the components'
// processes do through a resolv.conf that names it.
func TestResolve(t *testing.T) {
	s, err := Start(map[string]string{"octavia.vio.local": "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", net.JoinHostPort(s.Address(), "53"))
	}}
	got, err := r.LookupHost(context.Background(), "Octavia.vio.local")
	if err != nil || len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("octavia.vio.local: %v, %v", got, err)
	}
	_, err = r.LookupHost(context.Background(), "neutron.vio.local")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("neutron.vio.local: %v, want no such host", err)
	}
}
