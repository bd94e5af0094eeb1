// Package cloudconf is the cloud.conf that epks gives the OpenStack cloud
// controller manager, the cinder CSI plugin and the port tagger: which
// sections and keys are written, and how values are quoted so that any
// string reads back unchanged through gcfg, the git-config syntax reader
// cloud-provider-openstack uses.
//
// The chart renders the same file from its values (templates/cloud-config.yaml);
// the tests of this package check that both renderings are byte for byte
// equal and that the upstream readers parse every value back.
package cloudconf

import (
	"fmt"
	"strings"

	"github.com/epks/epks/pkg/params"
)

// CAFile is where the components find the CA bundle: the cloud-config
// Secret is mounted at /etc/config.
const CAFile = "/etc/config/ca.crt"

// Config is the content of cloud.conf.
type Config struct {
	Global       Global
	LoadBalancer LoadBalancer
	BlockStorage BlockStorage
	Metadata     Metadata
	Networking   Networking
}

// Global is the [Global] section: how to authenticate to Keystone.
type Global struct {
	AuthURL                     string
	Username                    string
	Password                    string
	UserDomainID                string
	ApplicationCredentialID     string
	ApplicationCredentialSecret string
	TenantID                    string
	TenantDomainID              string
	Region                      string
	// CAFile is set when a CA bundle is mounted.
	CAFile      string
	TLSInsecure bool
}

// LoadBalancer is the [LoadBalancer] section of the OCCM.
type LoadBalancer struct {
	Enabled           bool
	LBProvider        string
	CreateMonitor     bool
	FloatingNetworkID string
	SubnetID          string
}

// BlockStorage is the [BlockStorage] section of the CSI plugin.
type BlockStorage struct {
	RescanOnResize bool
}

// Metadata is the [Metadata] section: where the node plugin learns its server.
type Metadata struct {
	SearchOrder string
}

// Networking is the [Networking] section of the OCCM: which addresses of a
// server are the node's. It is written only when a key is set.
type Networking struct {
	// InternalNetworkNames are the networks whose addresses are the node's
	// InternalIPs (internal-network-name, repeated); empty: every network's.
	InternalNetworkNames []string
	// AddressSortOrder lists CIDRs, separated by commas, whose addresses
	// come first (address-sort-order).
	AddressSortOrder string
}

// Defaults of the chart's values that cloud.conf depends on.
const (
	DefaultLBProvider  = "amphora"
	DefaultSearchOrder = "configDrive,metadataService"
)

// FromParams is the cloud.conf for a parameters file. hasCA says whether a
// CA bundle is mounted beside it. octaviaFloatingNetworkID and
// octaviaSubnetID are the IDs the chart values carry (see pkg/values).
func FromParams(p *params.Params, hasCA bool, octaviaFloatingNetworkID, octaviaSubnetID string) Config {
	c := Config{
		Global: Global{
			AuthURL:        p.OSAuthURL,
			TenantID:       p.OSTenantID,
			TenantDomainID: p.OSProjectDomainID,
			Region:         p.OSRegion,
			TLSInsecure:    p.OSInsecure,
		},
		BlockStorage: BlockStorage{RescanOnResize: true},
		Metadata:     Metadata{SearchOrder: DefaultSearchOrder},
	}
	if p.OSApplicationCredentialID != "" {
		c.Global.ApplicationCredentialID = p.OSApplicationCredentialID
		c.Global.ApplicationCredentialSecret = p.OSApplicationCredentialSecret
	} else {
		c.Global.Username = p.OSUsername
		c.Global.Password = p.OSPassword
		c.Global.UserDomainID = p.OSDomainID
	}
	if hasCA {
		c.Global.CAFile = CAFile
	}
	if p.MgmtNetwork != "" {
		c.Networking.InternalNetworkNames = []string{p.MgmtNetwork}
	}
	if p.MgmtNetCIDR.IsValid() {
		c.Networking.AddressSortOrder = p.MgmtNetCIDR.String()
	}
	if p.LoadBalancerProvider == params.LBProviderOctavia {
		c.LoadBalancer = LoadBalancer{
			Enabled: true, LBProvider: DefaultLBProvider, CreateMonitor: true,
			FloatingNetworkID: octaviaFloatingNetworkID, SubnetID: octaviaSubnetID,
		}
	}
	return c
}

// Render writes the file. Strings are quoted; see Quote.
func (c Config) Render() string {
	var b strings.Builder
	kv := func(key, value string) { fmt.Fprintf(&b, "%s = %s\n", key, Quote(value)) }
	g := c.Global
	b.WriteString("[Global]\n")
	kv("auth-url", g.AuthURL)
	if g.ApplicationCredentialID != "" {
		kv("application-credential-id", g.ApplicationCredentialID)
		kv("application-credential-secret", g.ApplicationCredentialSecret)
	} else {
		kv("username", g.Username)
		kv("password", g.Password)
		kv("user-domain-id", g.UserDomainID)
	}
	kv("tenant-id", g.TenantID)
	kv("tenant-domain-id", g.TenantDomainID)
	kv("region", g.Region)
	if g.CAFile != "" {
		kv("ca-file", g.CAFile)
	}
	if g.TLSInsecure {
		kv("tls-insecure", "true")
	}

	b.WriteString("\n[LoadBalancer]\n")
	lb := c.LoadBalancer
	if lb.Enabled {
		b.WriteString("enabled = true\n")
		kv("lb-provider", lb.LBProvider)
		fmt.Fprintf(&b, "create-monitor = %t\n", lb.CreateMonitor)
		if lb.FloatingNetworkID != "" {
			kv("floating-network-id", lb.FloatingNetworkID)
		}
		if lb.SubnetID != "" {
			kv("subnet-id", lb.SubnetID)
		}
	} else {
		b.WriteString("enabled = false\n")
	}

	b.WriteString("\n[BlockStorage]\n")
	fmt.Fprintf(&b, "rescan-on-resize = %t\n", c.BlockStorage.RescanOnResize)

	b.WriteString("\n[Metadata]\n")
	kv("search-order", c.Metadata.SearchOrder)

	if n := c.Networking; len(n.InternalNetworkNames) > 0 || n.AddressSortOrder != "" {
		b.WriteString("\n[Networking]\n")
		for _, name := range n.InternalNetworkNames {
			kv("internal-network-name", name)
		}
		if n.AddressSortOrder != "" {
			kv("address-sort-order", n.AddressSortOrder)
		}
	}
	return b.String()
}

// Quote writes s as a gcfg quoted string: in double quotes, with backslash
// and double quote escaped. Inside quotes, `#`, `;`, `=` and spaces are
// ordinary characters. Control characters cannot be written; Check refuses
// them (pkg/params refuses them).
func Quote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	return `"` + s + `"`
}
