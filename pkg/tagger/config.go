package tagger

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/epks/epks/pkg/certs"
	"github.com/epks/epks/pkg/nsx"
)

// Config is the port tagger's configuration file, as the chart's ConfigMap
// writes it. Credentials are not in it: they are files of the NSX Secret.
type Config struct {
	// ClusterName is the value of the ncp/cluster tag; the chart takes it
	// from the same value as ncp.ini's [coe] cluster.
	ClusterName string `json:"clusterName"`
	NSX         struct {
		Managers []string `json:"managers"`
		// APIMode is manager (logical ports) or policy (segment ports).
		APIMode string `json:"apiMode"`
		// Insecure skips TLS verification of the Managers.
		Insecure bool `json:"insecure"`
		// Thumbprints pin the Managers' certificates by SHA-256 instead
		// of a CA (nsx.thumbprints of the chart).
		Thumbprints []string `json:"thumbprints"`
		// CredentialsDir holds username and password, or tls.crt and
		// tls.key, and optionally ca.crt.
		CredentialsDir string  `json:"credentialsDir"`
		RateLimit      float64 `json:"rateLimit"`
		MaxConcurrency int     `json:"maxConcurrency"`
	} `json:"nsx"`
	// PodNetwork is the Neutron network (id or name) of the pod NICs.
	PodNetwork string `json:"podNetwork"`
	// PodNetworkCIDR finds the pod network by a subnet when PodNetwork is
	// empty.
	PodNetworkCIDR string `json:"podNetworkCIDR"`
	// ResyncPeriod is how often every node's ports are checked again.
	ResyncPeriod Duration `json:"resyncPeriod"`
}

// Duration reads "10m" from YAML.
type Duration struct{ time.Duration }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 10m", s)
	}
	d.Duration = v
	return nil
}

// LoadConfig reads and checks a configuration file, reporting every
// problem at once.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("configuration %s: %w", path, err)
	}
	if c.NSX.APIMode == "" {
		c.NSX.APIMode = nsx.ManagerMode
	}
	if c.ResyncPeriod.Duration == 0 {
		c.ResyncPeriod.Duration = 10 * time.Minute
	}
	var problems []string
	if c.ClusterName == "" {
		problems = append(problems, "clusterName is required")
	}
	if len(c.NSX.Managers) == 0 {
		problems = append(problems, "nsx.managers is required")
	}
	if c.NSX.APIMode != nsx.ManagerMode && c.NSX.APIMode != nsx.PolicyMode {
		problems = append(problems, fmt.Sprintf("nsx.apiMode %q is not manager or policy", c.NSX.APIMode))
	}
	for i, t := range c.NSX.Thumbprints {
		if _, err := certs.NormalizeThumbprint(t); err != nil {
			problems = append(problems, fmt.Sprintf("nsx.thumbprints[%d] %v", i, err))
		}
	}
	if c.NSX.CredentialsDir == "" {
		problems = append(problems, "nsx.credentialsDir is required")
	}
	if c.NSX.RateLimit < 0 || c.NSX.RateLimit >= 100 {
		problems = append(problems, fmt.Sprintf("nsx.rateLimit %v must be between 0 and 100 (NSX allows 100 requests/s per client)", c.NSX.RateLimit))
	}
	if c.NSX.MaxConcurrency < 0 || c.NSX.MaxConcurrency >= 40 {
		problems = append(problems, fmt.Sprintf("nsx.maxConcurrency %d must be between 0 and 40 (NSX allows 40 per client)", c.NSX.MaxConcurrency))
	}
	if c.PodNetwork == "" && c.PodNetworkCIDR == "" {
		problems = append(problems, "podNetwork or podNetworkCIDR is required")
	}
	if c.ResyncPeriod.Duration < time.Second {
		problems = append(problems, "resyncPeriod must be at least 1s")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("configuration %s:\n  %s", path, strings.Join(problems, "\n  "))
	}
	return &c, nil
}

// NSXConfig builds the NSX client configuration, reading the credentials.
func (c *Config) NSXConfig() (nsx.Config, error) {
	out := nsx.Config{Managers: append([]string(nil), c.NSX.Managers...), Insecure: c.NSX.Insecure,
		Thumbprints: append([]string(nil), c.NSX.Thumbprints...),
		RateLimit:   c.NSX.RateLimit, Concurrency: c.NSX.MaxConcurrency}
	dir := c.NSX.CredentialsDir
	read := func(name string) ([]byte, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return data, err
	}
	cert, err := read("tls.crt")
	if err != nil {
		return out, err
	}
	if len(cert) > 0 {
		key, err := read("tls.key")
		if err != nil {
			return out, err
		}
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return out, fmt.Errorf("NSX client certificate in %s: the certificate and key do not load", dir)
		}
		out.Certificate = &pair
	} else {
		user, err := read("username")
		if err != nil {
			return out, err
		}
		password, err := read("password")
		if err != nil {
			return out, err
		}
		out.Username, out.Password = strings.TrimSpace(string(user)), strings.TrimRight(string(password), "\r\n")
		if out.Username == "" || out.Password == "" {
			return out, fmt.Errorf("%s holds neither username and password nor tls.crt and tls.key", dir)
		}
	}
	ca, err := read("ca.crt")
	if err != nil {
		return out, err
	}
	if len(strings.TrimSpace(string(ca))) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return out, fmt.Errorf("%s/ca.crt holds no PEM certificate", dir)
		}
		out.RootCAs = pool
	}
	return out, nil
}
