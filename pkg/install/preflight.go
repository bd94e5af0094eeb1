package install

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

// HostResolver resolves host names as the nodes do (net.Resolver does).
type HostResolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// EndpointCheck says what CheckEndpoints checks.
type EndpointCheck struct {
	// Values are the chart values about to be installed: openstack.* (the
	// auth URL, credentials and CA), hostAliases, the enabled components
	// and loadBalancer.provider.
	Values map[string]any
	// Resolver is the nodes' resolver, which the host-network pods use
	// (dnsPolicy Default) [net.DefaultResolver: epks install runs on the
	// first control-plane node].
	Resolver HostResolver
	// Timeout bounds the check [30s].
	Timeout time.Duration
}

// UnresolvedHost is a host of an endpoint that the pods cannot resolve.
type UnresolvedHost struct {
	// Service is the catalog's service type (identity, compute, network...).
	Service string
	// URL is the endpoint, Host its host name.
	URL, Host string
	// Parameter is the parameter that gives the pods the name.
	Parameter string
	// Err is what the nodes' resolver said.
	Err error
}

// EndpointsError lists every endpoint host the pods cannot resolve.
type EndpointsError struct {
	Hosts []UnresolvedHost
}

func (e *EndpointsError) Error() string {
	var b strings.Builder
	b.WriteString("the pods cannot resolve these endpoints of Keystone's catalog (they look in their hostAliases, then the nodes' resolver; there is no cluster DNS yet):")
	for _, h := range e.Hosts {
		fmt.Fprintf(&b, "\n  %s %s: %s is not in the host aliases and the nodes' resolver says: %v; set %s (or add it to the nodes' DNS)",
			h.Service, h.URL, h.Host, h.Err, h.Parameter)
	}
	return b.String()
}

// parameterOf names the parameter whose host names the pods get for a
// service type of Keystone's catalog.
var parameterOf = map[string]string{
	"identity":      "keystone_hostname",
	"compute":       "nova_hostnames",
	"block-storage": "cinder_hostnames",
	"volumev3":      "cinder_hostnames",
	"network":       "neutron_hostnames",
	"load-balancer": "octavia_hostnames",
	"key-manager":   "barbican_hostnames",
}

// CheckEndpoints checks, before anything is applied, that the pods will
// resolve the host of every endpoint of Keystone's catalog that the enabled
// components call: Keystone itself, Nova and Neutron (the OCCM, the port
// tagger), Cinder (the CSI plugin), Octavia and Barbican (the OCCM with
// Octavia load balancers). A pod looks a name up in its hostAliases, then
// with the nodes' resolver: the bootstrap components run on the host network
// with dnsPolicy Default, before any cluster DNS. It authenticates to
// Keystone, as the components will, to read the catalog. An
// *EndpointsError names every host that does not resolve.
//
// With openstack.existingSecret the credentials are not in the values and
// nothing is checked.
func CheckEndpoints(ctx context.Context, c EndpointCheck) error {
	v := c.Values
	osv := valueMap(v, "openstack")
	if valueString(osv, "existingSecret") != "" {
		return nil
	}
	services := calledServices(v)
	if len(services) == 0 {
		return nil
	}
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	r := &podResolver{aliases: aliasesOf(v), node: c.Resolver}

	authURL := valueString(osv, "authURL")
	u, err := url.Parse(authURL)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("checking the endpoints: openstack.authURL %q is not a URL", authURL)
	}
	if _, err := r.resolve(ctx, u.Hostname()); err != nil {
		return &EndpointsError{Hosts: []UnresolvedHost{{Service: "identity", URL: authURL, Host: u.Hostname(), Parameter: parameterOf["identity"], Err: err}}}
	}
	catalog, err := readCatalog(ctx, osv, r)
	if err != nil {
		return fmt.Errorf("checking the endpoints the components call: reading Keystone's catalog at %s: %w", authURL, err)
	}

	region := valueString(osv, "region")
	var bad []UnresolvedHost
	seen := map[string]bool{}
	for _, entry := range catalog.Entries {
		if !services[entry.Type] {
			continue
		}
		for _, ep := range entry.Endpoints {
			if ep.Interface != "public" || (region != "" && ep.Region != region && ep.RegionID != region) {
				continue
			}
			eu, err := url.Parse(ep.URL)
			if err != nil || eu.Hostname() == "" {
				bad = append(bad, UnresolvedHost{Service: entry.Type, URL: ep.URL, Parameter: parameterOf[entry.Type], Err: errors.New("not a URL")})
				continue
			}
			host := eu.Hostname()
			if seen[entry.Type+" "+host] {
				continue
			}
			seen[entry.Type+" "+host] = true
			if _, err := r.resolve(ctx, host); err != nil {
				bad = append(bad, UnresolvedHost{Service: entry.Type, URL: ep.URL, Host: host, Parameter: parameterOf[entry.Type], Err: err})
			}
		}
	}
	if len(bad) > 0 {
		sort.SliceStable(bad, func(i, j int) bool { return bad[i].Service < bad[j].Service })
		return &EndpointsError{Hosts: bad}
	}
	return nil
}

// calledServices are the catalog's service types the enabled components
// call, identity aside.
func calledServices(v map[string]any) map[string]bool {
	out := map[string]bool{}
	if componentEnabled(v, "occm") {
		out["compute"], out["network"] = true, true
		if valueString(valueMap(v, "loadBalancer"), "provider") == "octavia" {
			// TLS listeners take their certificates from Barbican.
			out["load-balancer"], out["key-manager"] = true, true
		}
	}
	if componentEnabled(v, "cinderCSI") {
		out["compute"], out["block-storage"], out["volumev3"] = true, true, true
	}
	if componentEnabled(v, "portTagger") {
		out["compute"], out["network"] = true, true
	}
	return out
}

// componentEnabled reads <component>.enabled, which the chart defaults to true.
func componentEnabled(v map[string]any, component string) bool {
	e, ok := valueMap(v, component)["enabled"].(bool)
	return !ok || e
}

// podResolver resolves as a pod does: its hostAliases, then the nodes'
// resolver.
type podResolver struct {
	aliases map[string]string
	node    HostResolver
}

func (r *podResolver) resolve(ctx context.Context, host string) (string, error) {
	if _, err := netip.ParseAddr(host); err == nil {
		return host, nil
	}
	if ip, ok := r.aliases[strings.ToLower(host)]; ok {
		return ip, nil
	}
	addrs, err := r.node.LookupHost(ctx, host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			return "", errors.New(dnsErr.Err)
		}
		return "", err
	}
	if len(addrs) == 0 {
		return "", errors.New("no address")
	}
	return addrs[0], nil
}

// aliasesOf maps the host names of the values' hostAliases to their IPs.
func aliasesOf(v map[string]any) map[string]string {
	out := map[string]string{}
	list, _ := v["hostAliases"].([]any)
	for _, item := range list {
		a, _ := item.(map[string]any)
		ip := valueString(a, "ip")
		names, _ := a["hostnames"].([]any)
		for _, n := range names {
			if s, ok := n.(string); ok {
				if _, dup := out[strings.ToLower(s)]; !dup {
					out[strings.ToLower(s)] = ip
				}
			}
		}
	}
	return out
}

// readCatalog authenticates to Keystone with the values' credentials,
// reaching it as a pod would (its name through r), and returns the catalog.
func readCatalog(ctx context.Context, osv map[string]any, r *podResolver) (*tokens.ServiceCatalog, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if b, _ := osv["insecure"].(bool); b {
		tlsConfig.InsecureSkipVerify = true //nolint:gosec // the user opted out (os_insecure)
	} else if ca := valueString(osv, "caBundle"); ca != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(ca)) {
			return nil, errors.New("openstack.caBundle holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		TLSClientConfig: tlsConfig,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ip, err := r.resolve(ctx, host)
			if err != nil {
				return nil, fmt.Errorf("resolving %s: %w", host, err)
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort(ip, port))
		},
	}
	defer tr.CloseIdleConnections()
	provider, err := openstack.NewClient(valueString(osv, "authURL"))
	if err != nil {
		return nil, err
	}
	provider.HTTPClient = http.Client{Transport: tr, Timeout: 30 * time.Second}
	opts := gophercloud.AuthOptions{
		IdentityEndpoint: valueString(osv, "authURL"),
		TenantID:         valueString(osv, "projectID"),
	}
	if id := valueString(osv, "applicationCredentialID"); id != "" {
		opts.ApplicationCredentialID, opts.ApplicationCredentialSecret = id, valueString(osv, "applicationCredentialSecret")
		opts.TenantID = ""
	} else {
		opts.Username, opts.Password, opts.DomainID = valueString(osv, "username"), valueString(osv, "password"), valueString(osv, "userDomainID")
	}
	if err := openstack.Authenticate(ctx, provider, opts); err != nil {
		return nil, err
	}
	res, ok := provider.GetAuthResult().(tokens.CreateResult)
	if !ok {
		return nil, errors.New("Keystone's answer has no v3 token")
	}
	return res.ExtractServiceCatalog()
}

func valueMap(v map[string]any, key string) map[string]any {
	m, _ := v[key].(map[string]any)
	return m
}

func valueString(v map[string]any, key string) string {
	s, _ := v[key].(string)
	return s
}
