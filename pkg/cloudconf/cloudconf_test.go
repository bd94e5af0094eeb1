package cloudconf_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/epks/epks/pkg/cloudconf"
)

// The chart's own rendering is read back in test/chartconf and charts/;
// these cases are files of other writers (existingSecret) and gcfg's
// syntax at its edges.
func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		want       cloudconf.Config
	}{
		{"quoting as the chart writes it", `[Global]
auth-url = "https://keystone:5000/v3"
username = "us\"er #1"
password = "pa;ss\\word = x "
region = "nova"
tls-insecure = "true"
`, cloudconf.Config{Global: cloudconf.Global{AuthURL: "https://keystone:5000/v3", Username: `us"er #1`,
			Password: `pa;ss\word = x `, Region: "nova", TLSInsecure: "true"}}},
		{"bare values, comments, every section", `; a comment
[Global]
auth-url=https://k/v3 # trailing comment
tenant-name = demo
tenant-domain-name = Default
user-domain-name = Default
user-id = u1
domain-id = d1
application-credential-name = ac
[LoadBalancer]
enabled = true
create-monitor = yes
lb-provider = amphora
floating-network-id = f1
subnet-id = s1
[BlockStorage]
rescan-on-resize = true
[Metadata]
search-order = configDrive,metadataService
[Networking]
internal-network-name = a
internal-network-name = b
address-sort-order = 10.0.0.0/8
`, cloudconf.Config{
			Global: cloudconf.Global{AuthURL: "https://k/v3", TenantName: "demo", TenantDomainName: "Default",
				UserDomainName: "Default", UserID: "u1", DomainID: "d1", ApplicationCredentialName: "ac"},
			LoadBalancer: cloudconf.LoadBalancer{Enabled: true, CreateMonitor: true, LBProvider: "amphora", FloatingNetworkID: "f1", SubnetID: "s1"},
			BlockStorage: cloudconf.BlockStorage{RescanOnResize: true},
			Metadata:     cloudconf.Metadata{SearchOrder: "configDrive,metadataService"},
			Networking:   cloudconf.Networking{InternalNetworkNames: []string{"a", "b"}, AddressSortOrder: "10.0.0.0/8"},
		}},
		{"other components' keys and sections are theirs", `[Global]
auth-url = "https://k/v3"
[LoadBalancer]
use-octavia = true
lb-method = ROUND_ROBIN
[Route]
router-id = r1
`, cloudconf.Config{Global: cloudconf.Global{AuthURL: "https://k/v3"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cloudconf.Read(strings.NewReader(tc.conf), "cloud.conf")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("Read:\n got %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func TestReadRefuses(t *testing.T) {
	for _, tc := range []struct{ name, conf, want string }{
		{"authentication epks does not do", "[Global]\nauth-url = x\ntrust-id = t\nuse-clouds = true\n",
			"cloud.conf: [Global] trust-id, use-clouds: not supported by epks"},
		{"a misspelt key", "[Global]\nproject-id = x\n", "[Global] project-id: not supported"},
		{"a line break in a quoted value", "[Global]\npassword = \"a\nb\"\n", "cloud.conf:"},
		{"a bad boolean", "[BlockStorage]\nrescan-on-resize = maybe\n", "cloud.conf:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cloudconf.Read(strings.NewReader(tc.conf), "cloud.conf")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Read = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	_, err := cloudconf.Read(strings.NewReader("[Global]\ntoken = x\n"), "cloud.conf")
	var uk *cloudconf.UnknownKeysError
	if !errors.As(err, &uk) || !reflect.DeepEqual(uk.Keys, []string{"token"}) {
		t.Errorf("an unknown [Global] key: %v", err)
	}
}

func TestInsecure(t *testing.T) {
	for v, want := range map[string]bool{"true": true, "": false, "false": false, "True": false, "yes": false} {
		if got := (cloudconf.Global{TLSInsecure: v}).Insecure(); got != want {
			t.Errorf("tls-insecure %q: Insecure() = %t, want %t (as cloud-provider-openstack reads it)", v, got, want)
		}
	}
}

func TestKeys(t *testing.T) {
	k := cloudconf.Keys()
	for section, key := range map[string]string{"global": "tenant-domain-id", "loadbalancer": "floating-network-id",
		"blockstorage": "rescan-on-resize", "metadata": "search-order", "networking": "internal-network-name"} {
		found := false
		for _, have := range k[section] {
			found = found || have == key
		}
		if !found {
			t.Errorf("Keys()[%s] = %v, lacks %s", section, k[section], key)
		}
	}
}
