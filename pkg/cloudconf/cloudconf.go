// Package cloudconf is cloud.conf as epks's components read it: the
// sections and keys of the file that the epks-addons chart writes for the
// OpenStack cloud controller manager, the cinder CSI plugin and the port
// tagger, and Read, which parses it with gcfg (the git-config syntax
// reader cloud-provider-openstack uses) as the port tagger does.
//
// The chart is the one writer of cloud.conf (templates/cloud-config.yaml).
// Tests read what it renders back with the upstream readers and with Read
// (test/chartconf).
package cloudconf

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"

	gcfg "gopkg.in/gcfg.v1"
	warnings "gopkg.in/warnings.v0"
)

// Config is the content of cloud.conf.
type Config struct {
	Global       Global
	LoadBalancer LoadBalancer
	BlockStorage BlockStorage
	Metadata     Metadata
	Networking   Networking
}

// Global is the [Global] section: how to authenticate to Keystone. The
// chart writes auth-url, username, password, user-domain-id (or the
// application credential's id and secret), tenant-id, tenant-domain-id,
// region, ca-file and tls-insecure; the other keys are what the upstream
// components also read from a cloud.conf of one's own (existingSecret).
type Global struct {
	AuthURL                     string `gcfg:"auth-url"`
	UserID                      string `gcfg:"user-id"`
	Username                    string `gcfg:"username"`
	Password                    string `gcfg:"password"`
	UserDomainID                string `gcfg:"user-domain-id"`
	UserDomainName              string `gcfg:"user-domain-name"`
	ApplicationCredentialID     string `gcfg:"application-credential-id"`
	ApplicationCredentialName   string `gcfg:"application-credential-name"`
	ApplicationCredentialSecret string `gcfg:"application-credential-secret"`
	TenantID                    string `gcfg:"tenant-id"`
	TenantName                  string `gcfg:"tenant-name"`
	TenantDomainID              string `gcfg:"tenant-domain-id"`
	TenantDomainName            string `gcfg:"tenant-domain-name"`
	DomainID                    string `gcfg:"domain-id"`
	DomainName                  string `gcfg:"domain-name"`
	Region                      string `gcfg:"region"`
	// CAFile is the PEM bundle of the CAs the endpoints' certificates are
	// verified with; empty: the system roots.
	CAFile string `gcfg:"ca-file"`
	// TLSInsecure skips verification when it is exactly "true", as
	// cloud-provider-openstack reads it.
	TLSInsecure string `gcfg:"tls-insecure"`
}

// Insecure says whether TLS verification is off.
func (g Global) Insecure() bool { return g.TLSInsecure == "true" }

// LoadBalancer is the [LoadBalancer] section of the OCCM.
type LoadBalancer struct {
	Enabled           bool   `gcfg:"enabled"`
	LBProvider        string `gcfg:"lb-provider"`
	CreateMonitor     bool   `gcfg:"create-monitor"`
	FloatingNetworkID string `gcfg:"floating-network-id"`
	SubnetID          string `gcfg:"subnet-id"`
}

// BlockStorage is the [BlockStorage] section of the CSI plugin.
type BlockStorage struct {
	RescanOnResize bool `gcfg:"rescan-on-resize"`
}

// Metadata is the [Metadata] section: where the node plugin learns its server.
type Metadata struct {
	SearchOrder string `gcfg:"search-order"`
}

// Networking is the [Networking] section of the OCCM: which addresses of a
// server are the node's.
type Networking struct {
	// InternalNetworkNames are the networks whose addresses are the node's
	// InternalIPs (internal-network-name, repeated); empty: every network's.
	InternalNetworkNames []string `gcfg:"internal-network-name"`
	// AddressSortOrder lists CIDRs, separated by commas, whose addresses
	// come first.
	AddressSortOrder string `gcfg:"address-sort-order"`
}

// UnknownKeysError names [Global] keys that Read does not know. A key that
// changes how to authenticate (trust-id, use-clouds, ...) must not be
// ignored, so Read refuses them; keys of the other sections are the other
// components' business and are ignored, as their readers ignore what they
// do not know.
type UnknownKeysError struct {
	Source string
	Keys   []string
}

func (e *UnknownKeysError) Error() string {
	return fmt.Sprintf("%s: [Global] %s: not supported by epks (supported: %s)",
		e.Source, strings.Join(e.Keys, ", "), strings.Join(GlobalKeys(), ", "))
}

// GlobalKeys are the keys of [Global] that Read knows, sorted.
func GlobalKeys() []string {
	return Keys()["global"]
}

// Keys are the keys of the model, by section (lower case), sorted: the keys
// Read stores.
func Keys() map[string][]string {
	out := map[string][]string{}
	t := reflect.TypeOf(Config{})
	for i := range t.NumField() {
		section := t.Field(i)
		var names []string
		for j := range section.Type.NumField() {
			names = append(names, section.Type.Field(j).Tag.Get("gcfg"))
		}
		sort.Strings(names)
		out[strings.ToLower(section.Name)] = names
	}
	return out
}

// extraVariable is how gcfg (v1.2.3) words a key it has no field for.
var extraVariable = regexp.MustCompile(`^can't store data at section "([^"]*)", variable "([^"]*)"$`)

// Read parses a cloud.conf. source names it in errors.
func Read(r io.Reader, source string) (*Config, error) {
	var c Config
	err := gcfg.ReadInto(&c, r)
	if fatal := gcfg.FatalOnly(err); fatal != nil {
		return nil, fmt.Errorf("%s: %w", source, fatal)
	}
	var unknown []string
	for _, w := range warnings.WarningsOnly(err) {
		if m := extraVariable.FindStringSubmatch(w.Error()); m != nil && strings.EqualFold(m[1], "global") {
			unknown = append(unknown, m[2])
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, &UnknownKeysError{Source: source, Keys: unknown}
	}
	return &c, nil
}

// ReadFile parses the cloud.conf at path.
func ReadFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, path)
}
