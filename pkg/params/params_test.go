package params

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// seed is the runbook's example, the baseline every case modifies.
func seed() map[string]any {
	return map[string]any{
		"image": "ubuntu_dual_nic", "key_name": "test", "public_network": "public", "name": "k8scluster",
		"node_count": 3, "nsx_package_path": "/root/nsx-container-2.4.1.13515827.zip",
		"pod_network_cidr": "193.167.0.0/16", "kube_token": "yad31n.pil3w87thsvo9img",
		"nsx_api_manager": "192.168.111.94", "nsx_username": "admin", "nsx_password": "Admin!23Admin",
		"tier0_router": "23fd006e-337a-467a-b3a6-1404a71cc2cf", "overlay_tz": "vio-overlay-tz",
		"ip_block": "pod-cidr", "external_ip_pool": "external-ip-pool", "os_username": "admin",
		"os_password": "VMware1!", "os_domain_id": "default", "os_tenant_id": "9a09e26d83854c9cbb321a4e93fd5844",
		"keystone_ip": "192.168.111.200", "keystone_hostname": "keystone.openstack.svc.cluster.local",
		"nova_ip": "192.168.111.200", "nova_hostnames": "nova.vio.local nova.openstack.svc.cluster.local",
		"cinder_ip": "192.168.111.200", "cinder_hostnames": "cinder.vio.local cinder.openstack.svc.cluster.local",
	}
}

var testNow = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

// writeCert writes a self-signed certificate valid from notBefore to
// notAfter and returns its path.
func writeCert(t *testing.T, dir, name string, notBefore, notAfter time.Time) string {
	t.Helper()
	certPEM, _ := makeCert(t, name, notBefore, notAfter)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func makeCert(t *testing.T, cn string, notBefore, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// fixture is a directory with valid nova.crt and cinder.crt.
func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeCert(t, dir, "nova.crt", testNow.AddDate(-1, 0, 0), testNow.AddDate(1, 0, 0))
	writeCert(t, dir, "cinder.crt", testNow.AddDate(-1, 0, 0), testNow.AddDate(1, 0, 0))
	return dir
}

func parse(t *testing.T, dir string, m map[string]any) (*Params, error) {
	t.Helper()
	data, err := yaml.Marshal(map[string]any{"parameters": m})
	if err != nil {
		t.Fatal(err)
	}
	return Parse(data, Source{Name: "params.yaml", Dir: dir, Now: testNow})
}

func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *ValidationError, got %v", err)
	}
	return ve.Problems
}

func TestSeedExampleFile(t *testing.T) {
	p, err := Load("../../examples/seed-params.yaml")
	if err != nil {
		t.Fatalf("the runbook's example must validate: %v", err)
	}
	if p.Name != "k8scluster" || p.NodeCount != 3 || p.IPAccess {
		t.Errorf("name=%q node_count=%d ip_access=%v", p.Name, p.NodeCount, p.IPAccess)
	}
	if !reflect.DeepEqual(p.NovaHostnames, []string{"nova.vio.local", "nova.openstack.svc.cluster.local"}) {
		t.Errorf("nova_hostnames = %q", p.NovaHostnames)
	}
	if len(p.OpenStackCA) == 0 {
		t.Errorf("nova.crt and cinder.crt were not bundled")
	}
}

func TestDefaults(t *testing.T) {
	p, err := parse(t, fixture(t), seed())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"OSAuthURL":               "https://keystone.openstack.svc.cluster.local:5000/v3",
		"OSRegion":                "nova",
		"OSProjectDomainID":       "default",
		"ServiceCIDR":             netip.MustParsePrefix("10.96.0.0/12"),
		"KubeAPIServerHost":       "10.96.0.1",
		"KubeAPIServerPort":       443,
		"NSXAPIMode":              "",
		"LoadBalancerProvider":    "nsx",
		"LBFloatingNetwork":       "public",
		"MTU":                     1500,
		"StorageClassName":        "cinder",
		"VolumeSnapshotClassName": "cinder-snapshot",
		"Namespace":               "epks-system",
		"NSXAPIManagers":          []string{"192.168.111.94"},
	}
	got := reflect.ValueOf(*p)
	for field, w := range want {
		if g := got.FieldByName(field).Interface(); !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %#v, want %#v", field, g, w)
		}
	}
	aliases := p.HostAliases()
	if len(aliases) != 1 || len(aliases[0].Hostnames) != 5 {
		t.Errorf("host aliases = %+v, want the five names on 192.168.111.200", aliases)
	}
}

// TestEndpointsBeyondTheSeed checks the Neutron, Octavia and Barbican host
// names: their IPs default to Keystone's (VIO serves every endpoint on one
// address), and they join the pods' host aliases.
func TestEndpointsBeyondTheSeed(t *testing.T) {
	m := seed()
	m["neutron_hostnames"] = "neutron.vio.local"
	m["octavia_hostname"] = "octavia.vio.local"
	m["barbican_ip"] = "192.168.111.210"
	m["barbican_hostnames"] = []string{"barbican.vio.local"}
	p, err := parse(t, fixture(t), m)
	if err != nil {
		t.Fatal(err)
	}
	if p.NeutronIP != p.KeystoneIP || p.OctaviaIP != p.KeystoneIP {
		t.Errorf("neutron_ip %s, octavia_ip %s, want keystone_ip %s", p.NeutronIP, p.OctaviaIP, p.KeystoneIP)
	}
	want := []HostAlias{
		{IP: netip.MustParseAddr("192.168.111.200"), Hostnames: []string{
			"keystone.openstack.svc.cluster.local", "nova.vio.local", "nova.openstack.svc.cluster.local",
			"cinder.vio.local", "cinder.openstack.svc.cluster.local", "neutron.vio.local", "octavia.vio.local"}},
		{IP: netip.MustParseAddr("192.168.111.210"), Hostnames: []string{"barbican.vio.local"}},
	}
	if got := p.HostAliases(); !reflect.DeepEqual(got, want) {
		t.Errorf("host aliases\n got %+v\nwant %+v", got, want)
	}
}

func TestIPAccessNeedsNoHostnamesOrCerts(t *testing.T) {
	m := seed()
	for _, k := range []string{"keystone_hostname", "nova_ip", "nova_hostnames", "cinder_ip", "cinder_hostnames"} {
		delete(m, k)
	}
	p, err := parse(t, t.TempDir(), m) // no certificate files at all
	if err != nil {
		t.Fatal(err)
	}
	if !p.IPAccess || p.OSAuthURL != "https://192.168.111.200:5000/v3" || p.OpenStackCA != nil {
		t.Errorf("ip_access=%v auth_url=%q ca=%d bytes", p.IPAccess, p.OSAuthURL, len(p.OpenStackCA))
	}
}

// TestRules breaks one rule per case and expects exactly that problem.
func TestRules(t *testing.T) {
	type edit func(m map[string]any)
	set := func(k string, v any) edit { return func(m map[string]any) { m[k] = v } }
	del := func(ks ...string) edit {
		return func(m map[string]any) {
			for _, k := range ks {
				delete(m, k)
			}
		}
	}
	tests := []struct {
		name   string
		edits  []edit
		key    string
		reason string
	}{
		{"token upper case", []edit{set("kube_token", "YAD31N.pil3w87thsvo9img")}, "kube_token", "not a kubeadm bootstrap token"},
		{"token too short", []edit{set("kube_token", "abc.def")}, "kube_token", "not a kubeadm bootstrap token"},
		{"token missing", []edit{del("kube_token")}, "kube_token", "is required"},
		{"token blank", []edit{set("kube_token", nil)}, "kube_token", "is required"},
		{"cidr garbage", []edit{set("pod_network_cidr", "193.167.0.0/33")}, "pod_network_cidr", "is not a CIDR"},
		{"cidr host bits", []edit{set("pod_network_cidr", "193.167.1.0/16")}, "pod_network_cidr", "did you mean 193.167.0.0/16"},
		{"pod overlaps service", []edit{set("service_cidr", "193.167.128.0/20")}, "service_cidr", "overlaps pod_network_cidr 193.167.0.0/16"},
		{"node net overlaps pods", []edit{set("mgmt_net_cidr", "193.0.0.0/8")}, "mgmt_net_cidr", "overlaps pod_network_cidr"},
		{"node nets overlap", []edit{set("mgmt_net_cidr", "10.10.0.0/16"), set("nsx_pod_net_cidr", "10.10.1.0/24")}, "nsx_pod_net_cidr", "overlaps mgmt_net_cidr"},
		{"service too large", []edit{set("service_cidr", "10.0.0.0/8")}, "service_cidr", "too large"},
		{"ip garbage", []edit{set("keystone_ip", "192.168.111")}, "keystone_ip", "not an IP address"},
		{"nameserver", []edit{set("nameserver", "dns.local")}, "nameserver", "not an IP address"},
		{"node_count zero", []edit{set("node_count", 0)}, "node_count", "at least 1"},
		{"node_count word", []edit{set("node_count", "three")}, "node_count", "not a whole number"},
		{"node_count list", []edit{set("node_count", []int{1})}, "node_count", "single value, not a list"},
		{"name not a label", []edit{set("name", "K8s_Cluster")}, "name", "not a DNS label"},
		{"blank tier0", []edit{set("tier0_router", "  ")}, "tier0_router", "must not be blank"},
		{"missing overlay", []edit{del("overlay_tz")}, "overlay_tz", "is required"},
		{"missing ip block", []edit{del("ip_block")}, "ip_block", "is required"},
		{"missing pool", []edit{del("external_ip_pool")}, "external_ip_pool", "is required"},
		{"hostname needed", []edit{del("nova_hostnames")}, "nova_hostnames", "host names are set (IP access disabled)"},
		{"explicit ip_access off", []edit{set("ip_access", false), del("keystone_hostname")}, "keystone_hostname", "because ip_access is false"},
		{"bad hostname", []edit{set("cinder_hostnames", "cinder.vio.local bad_name")}, "cinder_hostnames", `"bad_name" is not a valid host name`},
		{"unknown key", []edit{set("kube_tokn", "x")}, "kube_tokn", `unknown parameter (did you mean "kube_token"?)`},
		{"unknown far key", []edit{set("zzz_widget", "m1.medium")}, "zzz_widget", "unknown parameter"},
		{"alias twice", []edit{set("nova_hostname", "nova.vio.local")}, "nova_hostname", "not both"},
		{"half app credential", []edit{set("os_application_credential_id", "abc")}, "os_application_credential_secret", "required together with os_application_credential_id"},
		{"app credential and password", []edit{set("os_application_credential_id", "a"), set("os_application_credential_secret", "b")}, "os_username", "not both"},
		{"no os username", []edit{del("os_username")}, "os_username", "is required"},
		{"half nsx cert", []edit{set("nsx_client_cert_file", "client.crt")}, "nsx_client_key_file", "required together"},
		{"no nsx password", []edit{del("nsx_password")}, "nsx_password", "is required"},
		{"lb provider", []edit{set("load_balancer_provider", "f5")}, "load_balancer_provider", `"f5" is not one of nsx, octavia`},
		{"octavia needs network", []edit{set("load_balancer_provider", "octavia"), del("public_network")}, "lb_floating_network", "is required"},
		{"nsx api mode", []edit{set("nsx_api_mode", "simplified")}, "nsx_api_mode", "not one of"},
		{"manager mode with NCP 4", []edit{set("nsx_api_mode", "manager")}, "nsx_api_mode", "manager cannot be used with NCP 4.x"},
		{"manager mode with NCP 4 named", []edit{set("nsx_api_mode", "manager"), set("ncp_image", "registry.local/nsx-ncp:v4.1.0")}, "nsx_api_mode", "NCP 4.x uses the Policy API only"},
		{"no mode, NCP tag without a version", []edit{set("ncp_image", "registry.local/nsx-ncp:latest")}, "nsx_api_mode", "names no NCP version"},
		{"policy ID with a slash", []edit{set("tier0_router", "/infra/tier-0s/t0")}, "tier0_router", "give the ID, not the path"},
		{"policy ID with blanks", []edit{set("overlay_tz", "Overlay TZ")}, "overlay_tz", "a display name, not an ID"},
		{"policy ID, explicit policy", []edit{set("nsx_api_mode", "policy"), set("ip_block", "a/b")}, "ip_block", "not an NSX Policy ID"},
		{"http auth url", []edit{set("os_auth_url", "http://keystone:5000/v3")}, "os_auth_url", "clear text"},
		{"auth url garbage", []edit{set("os_auth_url", "keystone")}, "os_auth_url", "not a URL"},
		{"nsx manager http", []edit{set("nsx_api_manager", "http://nsx.local")}, "nsx_api_manager", "must use https"},
		{"nsx manager port", []edit{set("nsx_api_manager", "nsx.local:99999")}, "nsx_api_manager", "invalid port"},
		{"mtu", []edit{set("mtu", 100)}, "mtu", "out of range"},
		{"port", []edit{set("kube_apiserver_port", 70000)}, "kube_apiserver_port", "not a TCP port"},
		{"bool", []edit{set("os_insecure", "maybe")}, "os_insecure", "not a boolean"},
		{"registry with scheme", []edit{set("image_registry", "https://registry.local")}, "image_registry", "without a scheme"},
		{"ncp image", []edit{set("ncp_image", "Registry.local/NCP:latest")}, "ncp_image", "not an image reference"},
		{"namespace", []edit{set("namespace", "EPKS")}, "namespace", "not a DNS label"},
		{"storage class", []edit{set("storage_class_name", "Fast_SSD")}, "storage_class_name", "not a Kubernetes object name"},
		{"relative package path", []edit{set("nsx_package_path", "nsx.zip")}, "nsx_package_path", "absolute path"},
		{"interface", []edit{set("pod_interface", "eth/1")}, "pod_interface", "not a Linux interface name"},
		{"missing cert file", []edit{set("cinder_cert_file", "nope.crt")}, "cinder_cert_file", "cannot be read"},
		{"newline in password", []edit{set("os_password", "a\nb")}, "os_password", "line break or control character, which"},
		{"hostnames as map", []edit{set("nova_hostnames", map[string]any{"a": 1})}, "nova_hostnames", "list of names, not a map"},
		{"endpoint garbage", []edit{set("control_plane_endpoint", "api_server")}, "control_plane_endpoint", "not host or host:port"},
		{"endpoint port", []edit{set("control_plane_endpoint", "10.0.0.10:0")}, "control_plane_endpoint", "invalid port"},
		{"cert san", []edit{set("control_plane_cert_sans", "192.168.111.50 bad_name")}, "control_plane_cert_sans", `"bad_name" is neither`},
		{"mac", []edit{set("pod_interface_mac", "fa:16:3e:12:34")}, "pod_interface_mac", "not a MAC address"},
		{"mac too long", []edit{set("pod_interface_mac", "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01")}, "pod_interface_mac", "not a MAC address"},
		{"kubernetes version", []edit{set("kubernetes_version", "1.36")}, "kubernetes_version", "not a Kubernetes release"},
		{"kubernetes too old", []edit{set("kubernetes_version", "v1.30.4")}, "kubernetes_version", "v1.31 or later"},
		{"package source", []edit{set("package_source", "snap")}, "package_source", `"snap" is not one of apt, bundle`},
		{"relative bundle", []edit{set("offline_bundle_path", "opt/epks")}, "offline_bundle_path", "absolute path"},
		{"bundle with space", []edit{set("offline_bundle_path", "/opt/my bundle")}, "offline_bundle_path", "plain path"},
		{"package path quote", []edit{set("nsx_package_path", "/root/nsx'.zip")}, "nsx_package_path", "plain path"},
		{"epks image", []edit{set("epks_image", "Registry/EPKS")}, "epks_image", "not an image reference"},
		{"ovs bool", []edit{set("ovs_in_container", "sometimes")}, "ovs_in_container", "not a boolean"},
		{"neutron ip without names", []edit{set("neutron_ip", "192.168.111.201")}, "neutron_ip", "neutron_hostnames is not"},
		{"bad octavia name", []edit{set("octavia_hostnames", "octavia.vio.local bad_name")}, "octavia_hostnames", `"bad_name" is not a valid host name`},
		{"barbican alias twice", []edit{set("barbican_hostname", "b.vio.local"), set("barbican_hostnames", "b.vio.local")}, "barbican_hostname", "not both"},
		{"name on two ips", []edit{set("neutron_ip", "192.168.111.201"), set("neutron_hostnames", "nova.vio.local")}, "neutron_hostnames", `"nova.vio.local" is nova_hostnames at 192.168.111.200 already`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := seed()
			for _, e := range tt.edits {
				e(m)
			}
			_, err := parse(t, fixture(t), m)
			if err == nil {
				t.Fatalf("want a problem with %s, got none", tt.key)
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 {
				t.Errorf("want exactly one problem, got %d:\n%v", len(ps), err)
			}
			if ps[0].Key != tt.key || !strings.Contains(ps[0].Reason, tt.reason) {
				t.Errorf("got %s: %s\nwant %s: ...%s...", ps[0].Key, ps[0].Reason, tt.key, tt.reason)
			}
		})
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	m := seed()
	m["kube_token"] = "bad"
	m["node_count"] = 0
	m["pod_network_cidr"] = "nonsense"
	m["nova_ip"] = "999.1.1.1"
	m["overlay_tzz"] = "x"
	delete(m, "tier0_router")
	_, err := parse(t, fixture(t), m)
	ps := problemsOf(t, err)
	var keys []string
	for _, p := range ps {
		keys = append(keys, p.Key)
	}
	want := []string{"kube_token", "node_count", "nova_ip", "overlay_tzz", "pod_network_cidr", "tier0_router"}
	got := append([]string(nil), keys...)
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems for %v, want %v\n%v", keys, want, err)
	}
	// Missing keys come last; the others in file order with their lines.
	if ps[len(ps)-1].Key != "tier0_router" || ps[len(ps)-1].Line != 0 {
		t.Errorf("the missing key must come last without a line: %+v", ps[len(ps)-1])
	}
	for _, p := range ps[:len(ps)-1] {
		if p.Line == 0 {
			t.Errorf("problem %s has no line", p.Key)
		}
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "params.yaml: 6 problem(s):") || !strings.Contains(msg, "\n  params.yaml:") {
		t.Errorf("message format:\n%s", msg)
	}
}

// TestSecretsNeverInErrors gives secret keys invalid values and checks the
// values appear nowhere in the error.
func TestSecretsNeverInErrors(t *testing.T) {
	secrets := map[string]any{
		"kube_token":                       "SUPERSECRETTOKEN.x",
		"nsx_password":                     []string{"NSXSECRET1"},
		"os_password":                      map[string]any{"OSSECRET2": 1},
		"os_application_credential_secret": "APPSECRET3",
	}
	m := seed()
	for k, v := range secrets {
		m[k] = v
	}
	_, err := parse(t, fixture(t), m)
	if err == nil {
		t.Fatal("want problems")
	}
	for _, s := range []string{"SUPERSECRETTOKEN", "NSXSECRET1", "OSSECRET2", "APPSECRET3"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows secret %s:\n%v", s, err)
		}
	}
	for _, k := range []string{"kube_token", "nsx_password", "os_password"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error does not name %s:\n%v", k, err)
		}
	}
}

func TestFileForms(t *testing.T) {
	dir := fixture(t)
	flat, err := yaml.Marshal(seed())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(flat, Source{Name: "flat.yaml", Dir: dir, Now: testNow}); err != nil {
		t.Errorf("a flat map must be accepted: %v", err)
	}
	defaults := seed()
	defaults["node_count"] = 7
	wrapped, _ := yaml.Marshal(map[string]any{
		"parameter_defaults": defaults,
		"parameters":         map[string]any{"node_count": 5},
		"resource_registry":  map[string]any{"OS::Nova::Server": "server.yaml"},
	})
	p, err := Parse(wrapped, Source{Name: "env.yaml", Dir: dir, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if p.NodeCount != 5 {
		t.Errorf("parameters must override parameter_defaults: node_count=%d", p.NodeCount)
	}
	for _, bad := range []struct{ data, want string }{
		{"parameters: [1, 2]", "must be a map of parameters"},
		{"- a\n- b", "must be a map of parameters"},
		{"parameters:\n  name: a\n  name: b\n", "given twice (first on line 2)"},
		{"parameters: {name: [", "not valid YAML"},
		{"", "the file is empty"},
		{"parameters: {}\nresources: {}\n", "unknown section of a HEAT environment file"},
	} {
		_, err := Parse([]byte(bad.data), Source{Name: "x.yaml", Dir: dir, Now: testNow})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: want %q, got %v", bad.data, bad.want, err)
		}
	}
}

func TestCertificateFiles(t *testing.T) {
	dir := fixture(t)
	writeCert(t, dir, "expired.crt", testNow.AddDate(-2, 0, 0), testNow.AddDate(-1, 0, 0))
	_, keyPEM := makeCert(t, "k", testNow.AddDate(-1, 0, 0), testNow.AddDate(1, 0, 0))
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "garbage.crt"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ key, file, want string }{
		{"nova_cert_file", "expired.crt", "expired on"},
		{"cinder_cert_file", "key.pem", "holds a private key"},
		{"os_ca_file", "garbage.crt", "is not a PEM certificate"},
		{"nsx_ca_file", "expired.crt", "expired on"},
	} {
		m := seed()
		m[tt.key] = tt.file
		_, err := parse(t, dir, m)
		if err == nil {
			t.Errorf("%s=%s: want a problem", tt.key, tt.file)
			continue
		}
		ps := problemsOf(t, err)
		if ps[0].Key != tt.key || !strings.Contains(ps[0].Reason, tt.want) || !strings.Contains(ps[0].Reason, tt.file) {
			t.Errorf("%s=%s: got %v", tt.key, tt.file, err)
		}
	}

	// os_ca_file replaces the endpoint certificates.
	m := seed()
	m["os_ca_file"] = writeCert(t, t.TempDir(), "ca.crt", testNow.AddDate(-1, 0, 0), testNow.AddDate(1, 0, 0))
	p, err := parse(t, t.TempDir(), m) // a directory without nova.crt/cinder.crt
	if err != nil {
		t.Fatalf("os_ca_file must make nova.crt and cinder.crt unnecessary: %v", err)
	}
	if !strings.HasPrefix(string(p.OpenStackCA), "-----BEGIN CERTIFICATE-----") {
		t.Errorf("OpenStackCA is not the CA file")
	}

	// An NSX client identity: matching pair accepted, mismatched refused.
	certA, keyA := makeCert(t, "a", testNow.AddDate(-1, 0, 0), testNow.AddDate(1, 0, 0))
	_, keyB := makeCert(t, "b", testNow.AddDate(-1, 0, 0), testNow.AddDate(1, 0, 0))
	for name, data := range map[string][]byte{"a.crt": certA, "a.key": keyA, "b.key": keyB} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m = seed()
	delete(m, "nsx_username")
	delete(m, "nsx_password")
	m["nsx_client_cert_file"], m["nsx_client_key_file"] = "a.crt", "a.key"
	if p, err := parse(t, dir, m); err != nil || len(p.NSXClientKey) == 0 {
		t.Fatalf("matching client pair refused: %v", err)
	}
	m["nsx_client_key_file"] = "b.key"
	_, err = parse(t, dir, m)
	if err == nil || !strings.Contains(err.Error(), "does not belong to certificate") || strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("mismatched pair: %v", err)
	}
}

func TestNamesAreDocumentedAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k.name] {
			t.Errorf("key %s listed twice", k.name)
		}
		seen[k.name] = true
		if k.doc == "" {
			t.Errorf("key %s has no doc", k.name)
		}
	}
	for k := range seed() {
		if !seen[k] {
			t.Errorf("seed key %s unknown", k)
		}
	}
	// Every key of the runbook's tables, including spellings only the table uses.
	for _, k := range []string{"mgmt_net_cidr", "api_net_cidr", "nsx_pod_net_cidr", "nameserver", "nova_hostname", "cinder_hostname"} {
		if kk, ok := keyByName(k); !ok || !kk.seed {
			t.Errorf("runbook key %s missing or not marked seed", k)
		}
	}
}

// TestNodeKeys: node preparation needs the control-plane endpoint, the add-ons
// do not; MACs are normalized; the defaults of node preparation.
func TestNodeKeys(t *testing.T) {
	dir := fixture(t)
	data, err := yaml.Marshal(map[string]any{"parameters": seed()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data, Source{Name: "params.yaml", Dir: dir, Now: testNow})
	if err != nil {
		t.Fatalf("the add-ons need no control-plane endpoint: %v", err)
	}
	if p.KubernetesVersion != DefaultKubernetesVersion || p.PackageSource != PackageSourceAPT ||
		p.OfflineBundlePath != DefaultOfflineBundlePath || p.OVSInContainer {
		t.Errorf("defaults: version=%q source=%q bundle=%q ovs_in_container=%v",
			p.KubernetesVersion, p.PackageSource, p.OfflineBundlePath, p.OVSInContainer)
	}
	_, err = Parse(data, Source{Name: "params.yaml", Dir: dir, Now: testNow, Purpose: ForNodes})
	ps := problemsOf(t, err)
	if len(ps) != 1 || ps[0].Key != "control_plane_endpoint" || !strings.Contains(ps[0].Reason, "is required to prepare nodes") {
		t.Fatalf("want control_plane_endpoint required, got %v", err)
	}

	m := seed()
	m["control_plane_endpoint"] = "api.k8scluster.example:443"
	m["pod_interface_mac"] = []string{"FA:16:3E:AA:BB:CC", "fa-16-3e-00-11-22"}
	data, _ = yaml.Marshal(map[string]any{"parameters": m})
	p, err = Parse(data, Source{Name: "params.yaml", Dir: dir, Now: testNow, Purpose: ForNodes})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"fa:16:3e:aa:bb:cc", "fa:16:3e:00:11:22"}; !reflect.DeepEqual(p.PodInterfaceMACs, want) {
		t.Errorf("MACs = %q, want %q", p.PodInterfaceMACs, want)
	}
	if p.KubeAPIServerHost != "api.k8scluster.example" || p.KubeAPIServerPort != 443 {
		t.Errorf("NCP must reach the API at the control-plane endpoint, got %s:%d", p.KubeAPIServerHost, p.KubeAPIServerPort)
	}
}

func TestSplitEndpoint(t *testing.T) {
	for _, tt := range []struct {
		in   string
		host string
		port int
		ok   bool
	}{
		{"10.0.0.10", "10.0.0.10", 6443, true},
		{"10.0.0.10:443", "10.0.0.10", 443, true},
		{"api.example.com", "api.example.com", 6443, true},
		{"[fd00::10]:6443", "fd00::10", 6443, true},
		{"fd00::10", "fd00::10", 6443, true},
		{"api.example.com:http", "", 0, false},
		{"https://api.example.com", "", 0, false},
		{"", "", 0, false},
	} {
		host, port, err := SplitEndpoint(tt.in)
		if (err == nil) != tt.ok || host != tt.host || port != tt.port {
			t.Errorf("SplitEndpoint(%q) = %q, %d, %v", tt.in, host, port, err)
		}
	}
}
