// Package openstack is what the port tagger asks of OpenStack: a node's
// server, the pod network, and the Neutron ports on it. It authenticates with
// the [Global] section of the cloud.conf the cloud controller manager reads
// (pkg/cloudconf), so one file serves both.
package openstack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"github.com/epks/epks/pkg/cloudconf"
)

// API is what the port tagger reads from OpenStack: servers by name, the
// pod network and its ports. *Client implements it over Nova and Neutron;
// tests may give another.
type API interface {
	// ServerIDByName finds the one server named exactly name.
	ServerIDByName(ctx context.Context, name string) (string, error)
	// ResolveNetwork finds a network by id or name, or by a subnet's CIDR.
	ResolveNetwork(ctx context.Context, idOrName, cidr string) (string, error)
	// NetworkPorts calls fn with every port of a network, a page at a time.
	NetworkPorts(ctx context.Context, networkID string, fn func([]PortRef) error) error
	// ServerPorts returns a server's ports on a network.
	ServerPorts(ctx context.Context, serverID, networkID string) ([]PortRef, error)
}

var _ API = (*Client)(nil)

// Client reads servers and ports.
type Client struct {
	compute *gophercloud.ServiceClient
	network *gophercloud.ServiceClient
	// PageSize of port lists [1000].
	PageSize int
}

// Observer is told about every HTTP request to OpenStack.
type Observer func(method string, status int, d time.Duration)

// FromCloudConf authenticates with the [Global] section of a cloud.conf,
// read as pkg/cloudconf reads it; userAgent names the program to OpenStack.
func FromCloudConf(ctx context.Context, path, userAgent string, observe Observer) (*Client, error) {
	cfg, err := cloudconf.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the OpenStack configuration: %w", err)
	}
	g := cfg.Global
	provider, err := openstack.NewClient(g.AuthURL)
	if err != nil {
		return nil, fmt.Errorf("%s: auth-url: %w", path, err)
	}
	provider.UserAgent.Prepend(userAgent)
	transport, err := tlsTransport(g)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	provider.HTTPClient.Transport = transport
	if observe != nil {
		provider.HTTPClient.Transport = &observing{next: transport, observe: observe}
	}
	if err := openstack.Authenticate(ctx, provider, AuthOptions(g)); err != nil {
		return nil, fmt.Errorf("authenticating to OpenStack at %s: %w", g.AuthURL, err)
	}
	eo := gophercloud.EndpointOpts{Region: g.Region}
	compute, err := openstack.NewComputeV2(provider, eo)
	if err != nil {
		return nil, fmt.Errorf("finding Nova in the catalog: %w", err)
	}
	network, err := openstack.NewNetworkV2(provider, eo)
	if err != nil {
		return nil, fmt.Errorf("finding Neutron in the catalog: %w", err)
	}
	return &Client{compute: compute, network: network, PageSize: 1000}, nil
}

// AuthOptions are the Keystone v3 options of a [Global] section, as
// cloud-provider-openstack builds them: an application credential, or a
// user scoped to a project (by ID, or by name in its domain) or to a
// domain. Tokens are renewed when they expire.
func AuthOptions(g cloudconf.Global) gophercloud.AuthOptions {
	ao := gophercloud.AuthOptions{
		IdentityEndpoint: g.AuthURL,
		UserID:           g.UserID, Username: g.Username, Password: g.Password,
		DomainID: first(g.UserDomainID, g.DomainID), DomainName: first(g.UserDomainName, g.DomainName),
		ApplicationCredentialID:     g.ApplicationCredentialID,
		ApplicationCredentialName:   g.ApplicationCredentialName,
		ApplicationCredentialSecret: g.ApplicationCredentialSecret,
		AllowReauth:                 true,
	}
	if g.ApplicationCredentialID != "" || g.ApplicationCredentialName != "" {
		// An application credential carries its own project.
		return ao
	}
	switch {
	case g.TenantID != "":
		ao.Scope = &gophercloud.AuthScope{ProjectID: g.TenantID}
	case g.TenantName != "":
		ao.Scope = &gophercloud.AuthScope{ProjectName: g.TenantName,
			DomainID: first(g.TenantDomainID, g.DomainID), DomainName: first(g.TenantDomainName, g.DomainName)}
	case g.DomainID != "" || g.DomainName != "":
		ao.Scope = &gophercloud.AuthScope{DomainID: g.DomainID, DomainName: g.DomainName}
	}
	return ao
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// tlsTransport verifies the endpoints with ca-file's CAs only (the system
// roots without it), or not at all with tls-insecure.
func tlsTransport(g cloudconf.Global) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// tls-insecure is the user's choice (os_insecure), which epks warns about.
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: g.Insecure()}
	if g.CAFile != "" {
		pem, err := os.ReadFile(g.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca-file %s: no PEM certificate", g.CAFile)
		}
		t.TLSClientConfig.RootCAs = pool
	}
	return t, nil
}

type observing struct {
	next    http.RoundTripper
	observe Observer
}

func (o *observing) RoundTrip(r *http.Request) (*http.Response, error) {
	next := o.next
	if next == nil {
		next = http.DefaultTransport
	}
	start := time.Now()
	resp, err := next.RoundTrip(r)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	o.observe(r.Method, status, time.Since(start))
	return resp, err
}

// ErrNotFound says a server or network does not exist.
var ErrNotFound = errors.New("not found")

// ServerIDByName finds the one server named exactly name.
func (c *Client) ServerIDByName(ctx context.Context, name string) (string, error) {
	page, err := servers.List(c.compute, servers.ListOpts{Name: "^" + regexp.QuoteMeta(name) + "$"}).AllPages(ctx)
	if err != nil {
		return "", fmt.Errorf("finding server %s: %w", name, err)
	}
	list, err := servers.ExtractServers(page)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, s := range list {
		if s.Name == name {
			ids = append(ids, s.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("server %s: %w", name, ErrNotFound)
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("%d servers are named %s; set the node's provider ID to choose", len(ids), name)
}

// ResolveNetwork finds the pod network: by id or name, or else as the
// network of the subnet with cidr.
func (c *Client) ResolveNetwork(ctx context.Context, idOrName, cidr string) (string, error) {
	if idOrName != "" {
		for _, opts := range []networks.ListOpts{{ID: idOrName}, {Name: idOrName}} {
			page, err := networks.List(c.network, opts).AllPages(ctx)
			if err != nil {
				return "", fmt.Errorf("finding network %s: %w", idOrName, err)
			}
			list, _ := networks.ExtractNetworks(page)
			if len(list) == 1 {
				return list[0].ID, nil
			}
			if len(list) > 1 {
				return "", fmt.Errorf("%d networks are named %s; give the pod network's id", len(list), idOrName)
			}
		}
		return "", fmt.Errorf("network %s: %w", idOrName, ErrNotFound)
	}
	page, err := subnets.List(c.network, subnets.ListOpts{CIDR: cidr}).AllPages(ctx)
	if err != nil {
		return "", fmt.Errorf("finding the subnet %s: %w", cidr, err)
	}
	list, _ := subnets.ExtractSubnets(page)
	nets := map[string]bool{}
	for _, s := range list {
		nets[s.NetworkID] = true
	}
	if len(nets) != 1 {
		return "", fmt.Errorf("%d networks have a subnet %s, want exactly one: %w", len(nets), cidr, ErrNotFound)
	}
	for id := range nets {
		return id, nil
	}
	return "", nil
}

// PortRef is a Neutron port and the server it belongs to.
type PortRef struct {
	ID       string
	DeviceID string
}

// NetworkPorts calls fn with every port of a network, a page at a time.
// It asks Neutron for the two fields it keeps (fields=id, fields=device_id)
// and decodes each page straight into them, following Neutron's next
// links: a list of thousands of ports then costs a fraction of the memory
// that gophercloud's pager takes, which decodes every page into generic
// maps and then again into full Port structs.
func (c *Client) NetworkPorts(ctx context.Context, networkID string, fn func([]PortRef) error) error {
	q := url.Values{"network_id": {networkID}, "fields": {"id", "device_id"}}
	if c.PageSize > 0 {
		q.Set("limit", strconv.Itoa(c.PageSize))
	}
	next := c.network.ServiceURL("ports") + "?" + q.Encode()
	for next != "" {
		var page struct {
			Ports []struct {
				ID       string `json:"id"`
				DeviceID string `json:"device_id"`
			} `json:"ports"`
			Links []struct {
				Href string `json:"href"`
				Rel  string `json:"rel"`
			} `json:"ports_links"`
		}
		if _, err := c.network.Get(ctx, next, &page, &gophercloud.RequestOpts{OkCodes: []int{http.StatusOK}}); err != nil {
			return fmt.Errorf("listing the ports of network %s: %w", networkID, err)
		}
		refs := make([]PortRef, len(page.Ports))
		for i, p := range page.Ports {
			refs[i] = PortRef{ID: p.ID, DeviceID: p.DeviceID}
		}
		if err := fn(refs); err != nil {
			return err
		}
		next = ""
		for _, l := range page.Links {
			if l.Rel == "next" && len(page.Ports) > 0 {
				next = l.Href
			}
		}
	}
	return nil
}

// ServerPorts returns a server's ports on a network.
func (c *Client) ServerPorts(ctx context.Context, serverID, networkID string) ([]PortRef, error) {
	page, err := ports.List(c.network, ports.ListOpts{DeviceID: serverID, NetworkID: networkID}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the ports of server %s: %w", serverID, err)
	}
	list, err := ports.ExtractPorts(page)
	if err != nil {
		return nil, err
	}
	refs := make([]PortRef, len(list))
	for i, p := range list {
		refs[i] = PortRef{ID: p.ID, DeviceID: p.DeviceID}
	}
	return refs, nil
}
