package cloudconf_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	csi "k8s.io/cloud-provider-openstack/pkg/csi/cinder/openstack"
	occm "k8s.io/cloud-provider-openstack/pkg/openstack"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/cloudconf"
	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/render"
	"github.com/epks/epks/pkg/values"
)

// baseParams is the runbook's example with IP access, so no certificate
// files are needed.
func baseParams() map[string]any {
	return map[string]any{
		"name": "k8scluster", "node_count": 3, "pod_network_cidr": "193.167.0.0/16",
		"kube_token": "yad31n.pil3w87thsvo9img", "nsx_api_manager": "127.0.0.1",
		"nsx_username": "admin", "nsx_password": "Admin!23Admin", "tier0_router": "t0",
		"overlay_tz": "tz", "ip_block": "pod-cidr", "external_ip_pool": "pool",
		"os_username": "admin", "os_password": "VMware1!", "os_domain_id": "default",
		"os_tenant_id": "9a09e26d83854c9cbb321a4e93fd5844", "keystone_ip": "127.0.0.1",
		"pod_network": "pod-net",
	}
}

// rendered returns cloud.conf as the chart renders it and as the Go model
// renders it, for the same parameters.
func rendered(t *testing.T, m map[string]any, ca []byte) (chart, model string) {
	t.Helper()
	data, err := yaml.Marshal(map[string]any{"parameters": m})
	if err != nil {
		t.Fatal(err)
	}
	p, err := params.Parse(data, params.Source{Name: "params.yaml", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	res := values.For(p, ca)
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := render.Render(context.Background(), ch, res.Values, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Objects(manifest)
	if err != nil {
		t.Fatal(err)
	}
	secret := render.Find(objs, "Secret", "epks-addons-cloud-config")
	if secret == nil {
		t.Fatal("no cloud-config Secret rendered")
	}
	conf, err := render.SecretData(secret, "cloud.conf")
	if err != nil {
		t.Fatal(err)
	}
	oct, _ := res.Values["loadBalancer"].(map[string]any)["octavia"].(map[string]any)
	fnet, _ := oct["floatingNetworkID"].(string)
	subnet, _ := oct["subnetID"].(string)
	return string(conf), cloudconf.FromParams(p, len(ca) > 0, fnet, subnet).Render()
}

// parseBoth reads a cloud.conf with the OCCM's and the CSI plugin's readers.
func parseBoth(t *testing.T, conf string) (occm.Config, csi.Config) {
	t.Helper()
	o, err := occm.ReadConfig(strings.NewReader(conf))
	if err != nil {
		t.Fatalf("OCCM ReadConfig: %v\n%s", err, conf)
	}
	path := filepath.Join(t.TempDir(), "cloud.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := csi.GetConfigFromFiles([]string{path})
	if err != nil {
		t.Fatalf("CSI GetConfigFromFiles: %v\n%s", err, conf)
	}
	return o, c
}

// TestHostileValuesRoundTrip renders values full of gcfg's special
// characters and checks that both upstream readers return them unchanged.
func TestHostileValuesRoundTrip(t *testing.T) {
	hostile := []string{
		`pa"ss`, `back\slash`, `trailing\`, `#hash`, `semi;colon`, `eq=uals`, `  spaces around  `,
		`"quoted"`, `\"`, `;#=\"`, `ünïcødé ✓`, `a: b`, `a #c`, `{a}`, `- a`, `a%b`, `$a`, `${HOME} $(id) %s`, "`back`",
		`[Global]`, `a = b`, `'single'`,
	}
	for _, pw := range hostile {
		t.Run(pw, func(t *testing.T) {
			m := baseParams()
			m["os_password"] = pw
			m["os_username"] = "user " + pw
			m["os_tenant_id"] = "tenant" + pw
			m["os_region"] = "region " + pw
			m["os_domain_id"] = "domain" + pw
			m["os_project_domain_id"] = "pdomain" + pw
			chartConf, modelConf := rendered(t, m, nil)
			if chartConf != modelConf {
				t.Fatalf("chart and Go model disagree:\n--- chart\n%s--- model\n%s", chartConf, modelConf)
			}
			o, c := parseBoth(t, chartConf)
			g := c.Global[""]
			if g == nil {
				t.Fatal("CSI reader found no [Global]")
			}
			for _, got := range []struct{ reader, field, value, want string }{
				{"OCCM", "password", o.Global.Password, pw},
				{"OCCM", "username", o.Global.Username, "user " + pw},
				{"OCCM", "tenant-id", o.Global.TenantID, "tenant" + pw},
				{"OCCM", "region", o.Global.Region, "region " + pw},
				{"OCCM", "user-domain-id", o.Global.UserDomainID, "domain" + pw},
				{"OCCM", "tenant-domain-id", o.Global.TenantDomainID, "pdomain" + pw},
				{"CSI", "user-domain-id", g.UserDomainID, "domain" + pw},
				{"CSI", "tenant-domain-id", g.TenantDomainID, "pdomain" + pw},
				{"CSI", "tenant-id", g.TenantID, "tenant" + pw},
				{"CSI", "password", g.Password, pw},
				{"CSI", "username", g.Username, "user " + pw},
				{"CSI", "region", g.Region, "region " + pw},
			} {
				if got.value != got.want {
					t.Errorf("%s reads %s as %q, want %q", got.reader, got.field, got.value, got.want)
				}
			}
		})
	}
}

func TestVariants(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(m map[string]any)
		ca    []byte
		check func(t *testing.T, o occm.Config, c csi.Config)
	}{
		{"nsx load balancers", func(map[string]any) {}, nil, func(t *testing.T, o occm.Config, c csi.Config) {
			if o.LoadBalancer.Enabled {
				t.Error("with NSX load balancers the OCCM's must be off")
			}
			if o.Global.CAFile != "" || o.Global.TLSInsecure != "" {
				t.Errorf("no CA and no insecure expected: %q %q", o.Global.CAFile, o.Global.TLSInsecure)
			}
			if o.Global.UserDomainID != "default" || o.Global.TenantDomainID != "default" || o.Global.AuthURL != "https://127.0.0.1:5000/v3" {
				t.Errorf("global: %+v", o.Global)
			}
			if !c.BlockStorage.RescanOnResize || c.Metadata.SearchOrder != "configDrive,metadataService" {
				t.Errorf("CSI sections: %+v %+v", c.BlockStorage, c.Metadata)
			}
		}},
		{"octavia", func(m map[string]any) {
			m["load_balancer_provider"] = "octavia"
			m["lb_floating_network"] = "0b9e2c45-2d5b-4b8b-8f3c-1e1f6b3d9a10"
			m["lb_subnet"] = "5f1f7a63-8a0e-4c1f-9e0b-9f3b0e6e6b11"
		}, nil, func(t *testing.T, o occm.Config, _ csi.Config) {
			lb := o.LoadBalancer
			if !lb.Enabled || lb.FloatingNetworkID != "0b9e2c45-2d5b-4b8b-8f3c-1e1f6b3d9a10" ||
				lb.SubnetID != "5f1f7a63-8a0e-4c1f-9e0b-9f3b0e6e6b11" || lb.LBProvider != "amphora" || !lb.CreateMonitor {
				t.Errorf("load balancer: %+v", lb)
			}
		}},
		{"nodes' addresses on the management network", func(m map[string]any) {
			m["mgmt_network"] = `k8s "mgmt" #1; net`
			m["mgmt_net_cidr"] = "10.10.0.0/24"
		}, nil, func(t *testing.T, o occm.Config, _ csi.Config) {
			n := o.Networking
			if !reflect.DeepEqual(n.InternalNetworkName, []string{`k8s "mgmt" #1; net`}) || n.AddressSortOrder != "10.10.0.0/24" {
				t.Errorf("networking: %+v", n)
			}
		}},
		{"no management network, no [Networking]", func(map[string]any) {}, nil, func(t *testing.T, o occm.Config, _ csi.Config) {
			if n := o.Networking; len(n.InternalNetworkName) > 0 || n.AddressSortOrder != "" {
				t.Errorf("networking without mgmt_network and mgmt_net_cidr: %+v", n)
			}
		}},
		{"application credential, CA, insecure", func(m map[string]any) {
			delete(m, "os_username")
			delete(m, "os_password")
			m["os_application_credential_secret"] = `s3cr=t"#;`
			m["os_application_credential_id"] = `app-id ;#"\`
			m["os_insecure"] = true
		}, []byte("-----BEGIN CERTIFICATE-----\n"), func(t *testing.T, o occm.Config, c csi.Config) {
			g := o.Global
			if g.ApplicationCredentialID != `app-id ;#"\` || g.ApplicationCredentialSecret != `s3cr=t"#;` || g.Username != "" {
				t.Errorf("application credential: %+v", g)
			}
			if g.CAFile != cloudconf.CAFile || g.TLSInsecure != "true" {
				t.Errorf("ca-file %q tls-insecure %q", g.CAFile, g.TLSInsecure)
			}
			if c.Global[""].ApplicationCredentialSecret != `s3cr=t"#;` {
				t.Errorf("CSI reads the secret as %q", c.Global[""].ApplicationCredentialSecret)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := baseParams()
			tt.edit(m)
			chartConf, modelConf := rendered(t, m, tt.ca)
			if chartConf != modelConf {
				t.Fatalf("chart and Go model disagree:\n--- chart\n%s--- model\n%s", chartConf, modelConf)
			}
			o, c := parseBoth(t, chartConf)
			tt.check(t, o, c)
			checkKnownKeys(t, chartConf)
		})
	}
}

// checkKnownKeys checks that every key written is one the upstream readers
// know: gcfg silently ignores unknown keys, so a typo would go unnoticed.
func checkKnownKeys(t *testing.T, conf string) {
	t.Helper()
	known := map[string]map[string]bool{}
	for _, cfg := range []any{occm.Config{}, csi.Config{}} {
		collectKeys(reflect.TypeOf(cfg), known)
	}
	section := ""
	header := regexp.MustCompile(`^\[([^\]]+)\]$`)
	for _, line := range strings.Split(conf, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if m := header.FindStringSubmatch(line); m != nil {
			section = strings.ToLower(m[1])
			if known[section] == nil {
				t.Errorf("section [%s] is read by neither the OCCM nor the CSI plugin", m[1])
			}
			continue
		}
		key := strings.TrimSpace(strings.SplitN(line, "=", 2)[0])
		if !known[section][key] {
			t.Errorf("key %q of [%s] is read by neither the OCCM nor the CSI plugin", key, section)
		}
	}
}

// collectKeys walks a config struct: each field is a section (a struct, or a
// map of subsections) whose fields carry gcfg tags.
func collectKeys(cfg reflect.Type, known map[string]map[string]bool) {
	for i := 0; i < cfg.NumField(); i++ {
		f := cfg.Field(i)
		st := f.Type
		for st.Kind() == reflect.Map || st.Kind() == reflect.Pointer {
			st = st.Elem()
		}
		if st.Kind() != reflect.Struct {
			continue
		}
		name := strings.ToLower(f.Name)
		if known[name] == nil {
			known[name] = map[string]bool{}
		}
		for j := 0; j < st.NumField(); j++ {
			// gcfg matches an untagged field by its name, ignoring case.
			key := strings.Split(st.Field(j).Tag.Get("gcfg"), ",")[0]
			if key == "" {
				key = strings.ToLower(st.Field(j).Name)
			}
			known[name][key] = true
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		``:       `""`,
		`plain`:  `"plain"`,
		`a"b`:    `"a\"b"`,
		`a\b`:    `"a\\b"`,
		`\"`:     `"\\\""`,
		`#;= x `: `"#;= x "`,
	} {
		if got := cloudconf.Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}
