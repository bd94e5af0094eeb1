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
	// As many connections kept as requests run at once (Concurrency).
	transport.MaxIdleConnsPerHost = Concurrency
	provider.HTTPClient = http.Client{Transport: transport, Timeout: 2 * time.Minute}
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
