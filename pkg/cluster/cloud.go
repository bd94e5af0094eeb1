package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/epks/epks/pkg/cluster/scope"
	"github.com/epks/epks/pkg/params"
)

// Connect authenticates to the project of the parameters and returns its
// service clients. ca is the trust of the endpoints (PEM); empty trusts
// the system roots.
func Connect(ctx context.Context, p *params.Params, ca []byte) (scope.Clients, error) {
	var c scope.Clients
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: p.OSInsecure} //nolint:gosec // the user's opt-out
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return c, errors.New("the OpenStack CA bundle holds no certificate")
		}
		tlsConfig.RootCAs = pool
	}
	provider, err := openstack.NewClient(p.OSAuthURL)
	if err != nil {
		return c, fmt.Errorf("os_auth_url %s: %w", p.OSAuthURL, err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	// As many connections kept as requests run at once.
	transport.MaxIdleConnsPerHost = Concurrency
	provider.HTTPClient = http.Client{Transport: Limit(transport, Concurrency), Timeout: 2 * time.Minute}
	opts := gophercloud.AuthOptions{
		IdentityEndpoint: p.OSAuthURL, AllowReauth: true,
		ApplicationCredentialID: p.OSApplicationCredentialID, ApplicationCredentialSecret: p.OSApplicationCredentialSecret,
	}
	if opts.ApplicationCredentialID == "" {
		opts.Username, opts.Password, opts.DomainID = p.OSUsername, p.OSPassword, p.OSDomainID
		opts.Scope = &gophercloud.AuthScope{ProjectID: p.OSTenantID}
	}
	if err := openstack.Authenticate(ctx, provider, opts); err != nil {
		return c, fmt.Errorf("authenticating to OpenStack at %s: %w", p.OSAuthURL, err)
	}
	eo := gophercloud.EndpointOpts{Region: p.OSRegion}
	if c.Compute, err = openstack.NewComputeV2(provider, eo); err != nil {
		return c, fmt.Errorf("finding Nova in the catalog: %w", err)
	}
	if c.Network, err = openstack.NewNetworkV2(provider, eo); err != nil {
		return c, fmt.Errorf("finding Neutron in the catalog: %w", err)
	}
	if c.Image, err = openstack.NewImageV2(provider, eo); err != nil {
		return c, fmt.Errorf("finding Glance in the catalog: %w", err)
	}
	if c.BlockStorage, err = openstack.NewBlockStorageV3(provider, eo); err != nil {
		return c, fmt.Errorf("finding Cinder in the catalog: %w", err)
	}
	if lb, err := openstack.NewLoadBalancerV2(provider, eo); err == nil {
		c.LoadBalancer = lb
	}
	c.ProjectID = p.OSTenantID
	return c, nil
}

// Concurrency is how many requests a run has in flight at most: the
// reconcile starts every resource as soon as what it needs exists, and
// the client holds back what is beyond this.
const Concurrency = 128

// Limit returns a RoundTripper that lets at most n requests through next
// at once; the others wait for a slot (or their context).
func Limit(next http.RoundTripper, n int) http.RoundTripper {
	return &limited{next: next, slots: make(chan struct{}, n)}
}

type limited struct {
	next  http.RoundTripper
	slots chan struct{}
}

func (l *limited) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case l.slots <- struct{}{}:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	// The cloud has done its part once it answers: the slot is free for
	// the next request while this one's body is read.
	defer func() { <-l.slots }()
	return l.next.RoundTrip(r)
}
