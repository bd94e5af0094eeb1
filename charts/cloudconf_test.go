package charts_test

import (
	"context"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/values"
	"github.com/epks/epks/test/chartconf"
)

// cloudConf renders cloud.conf from a parameters file, as epks does, and
// reads it back with every component's reader (chartconf.Read: the OCCM's,
// the cinder CSI plugin's and the port tagger's, every key known, the
// readers agreeing).
func cloudConf(t *testing.T, m map[string]any, ca []byte) *chartconf.Readings {
	t.Helper()
	data, err := yaml.Marshal(map[string]any{"parameters": m})
	if err != nil {
		t.Fatal(err)
	}
	p, err := params.Parse(data, params.Source{Name: "params.yaml", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	files, err := chartconf.Render(context.Background(), values.For(p, ca).Values)
	if err != nil {
		t.Fatal(err)
	}
	r, err := chartconf.Read(string(files["cloud.conf"]))
	if err != nil {
		t.Fatalf("%v\n%s", err, files["cloud.conf"])
	}
	if string(files["ca.crt"]) != string(ca) {
		t.Errorf("ca.crt is %q, want %q", files["ca.crt"], ca)
	}
	return r
}

// TestCloudConfHostileValues renders values full of gcfg's special
// characters into cloud.conf and checks that every component reads them
// back unchanged.
func TestCloudConfHostileValues(t *testing.T) {
	hostile := []string{
		`pa"ss`, `back\slash`, `trailing\`, `#hash`, `semi;colon`, `eq=uals`, `  spaces around  `,
		`"quoted"`, `\"`, `;#=\"`, `ünïcødé ✓`, `a: b`, `a #c`, `{a}`, `- a`, `a%b`, `$a`, `${HOME} $(id) %s`, "`back`",
		`[Global]`, `a = b`, `'single'`,
	}
	for _, v := range hostile {
		t.Run(v, func(t *testing.T) {
			m := hostileBase()
			m["os_password"] = v
			m["os_username"] = "user " + v
			m["os_tenant_id"] = "tenant" + v
			m["os_region"] = "region " + v
			m["os_domain_id"] = "domain" + v
			m["os_project_domain_id"] = "pdomain" + v
			r := cloudConf(t, m, nil)
			// chartconf.Read checked that the CSI plugin and the port
			// tagger read every key as the OCCM does.
			g := r.OCCM.Global
			for _, got := range []struct{ key, value, want string }{
				{"password", g.Password, v},
				{"username", g.Username, "user " + v},
				{"tenant-id", g.TenantID, "tenant" + v},
				{"region", g.Region, "region " + v},
				{"user-domain-id", g.UserDomainID, "domain" + v},
				{"tenant-domain-id", g.TenantDomainID, "pdomain" + v},
			} {
				if got.value != got.want {
					t.Errorf("%s is read as %q, want %q", got.key, got.value, got.want)
				}
			}
			if r.CSI.Global[""].Password != v || r.Tagger.Global.Password != v {
				t.Errorf("password: the CSI plugin reads %q, the port tagger %q", r.CSI.Global[""].Password, r.Tagger.Global.Password)
			}
		})
	}
}

func TestCloudConfVariants(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(m map[string]any)
		ca    []byte
		check func(t *testing.T, r *chartconf.Readings)
	}{
		{"nsx load balancers", func(map[string]any) {}, nil, func(t *testing.T, r *chartconf.Readings) {
			o, c := r.OCCM, r.CSI
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
		}, nil, func(t *testing.T, r *chartconf.Readings) {
			lb := r.OCCM.LoadBalancer
			if !lb.Enabled || lb.FloatingNetworkID != "0b9e2c45-2d5b-4b8b-8f3c-1e1f6b3d9a10" ||
				lb.SubnetID != "5f1f7a63-8a0e-4c1f-9e0b-9f3b0e6e6b11" || lb.LBProvider != "amphora" || !lb.CreateMonitor {
				t.Errorf("load balancer: %+v", lb)
			}
		}},
		{"nodes' addresses on the management network", func(m map[string]any) {
			m["mgmt_network"] = `k8s "mgmt" #1; net`
			m["mgmt_net_cidr"] = "10.10.0.0/24"
		}, nil, func(t *testing.T, r *chartconf.Readings) {
			n := r.OCCM.Networking
			if !reflect.DeepEqual(n.InternalNetworkName, []string{`k8s "mgmt" #1; net`}) || n.AddressSortOrder != "10.10.0.0/24" {
				t.Errorf("networking: %+v", n)
			}
		}},
		{"no management network, no [Networking]", func(map[string]any) {}, nil, func(t *testing.T, r *chartconf.Readings) {
			if n := r.OCCM.Networking; len(n.InternalNetworkName) > 0 || n.AddressSortOrder != "" {
				t.Errorf("networking without mgmt_network and mgmt_net_cidr: %+v", n)
			}
			if _, ok := r.Keys["networking"]; ok {
				t.Errorf("[Networking] written: %v", r.Keys["networking"])
			}
		}},
		{"application credential, CA, insecure", func(m map[string]any) {
			delete(m, "os_username")
			delete(m, "os_password")
			m["os_application_credential_secret"] = `s3cr=t"#;`
			m["os_application_credential_id"] = `app-id ;#"\`
			m["os_insecure"] = true
		}, []byte("-----BEGIN CERTIFICATE-----\n"), func(t *testing.T, r *chartconf.Readings) {
			g := r.OCCM.Global
			if g.ApplicationCredentialID != `app-id ;#"\` || g.ApplicationCredentialSecret != `s3cr=t"#;` || g.Username != "" {
				t.Errorf("application credential: %+v", g)
			}
			if g.CAFile != chartconf.MountPath+"/ca.crt" || g.TLSInsecure != "true" || !r.Tagger.Global.Insecure() {
				t.Errorf("ca-file %q tls-insecure %q", g.CAFile, g.TLSInsecure)
			}
			if r.CSI.Global[""].ApplicationCredentialSecret != `s3cr=t"#;` {
				t.Errorf("CSI reads the secret as %q", r.CSI.Global[""].ApplicationCredentialSecret)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := hostileBase()
			tt.edit(m)
			tt.check(t, cloudConf(t, m, tt.ca))
		})
	}
}
