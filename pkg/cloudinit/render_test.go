package cloudinit

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/values"
)

// TestUserDataByRole checks what each node gets: the files, their modes,
// and the node's environment.
func TestUserDataByRole(t *testing.T) {
	p := seedParams(t, nil)
	everyNode(t, func(t *testing.T, role Role, sys OS) {
		ud := parseUserData(t, render(t, p, role, sys))
		if want := [][]string{{"/usr/local/lib/epks/epks-node.sh"}}; !reflect.DeepEqual(ud.RunCmd, want) {
			t.Errorf("runcmd = %q, want %q", ud.RunCmd, want)
		}
		if !strings.Contains(ud.FinalMessage, "/var/lib/epks/status") || !strings.Contains(ud.FinalMessage, string(role)) {
			t.Errorf("final_message does not say where the outcome is: %q", ud.FinalMessage)
		}
		controlPlane := role == RoleControlPlane || role == RoleControlPlaneJoin
		for _, tc := range []struct {
			path string
			want bool
			mode string
		}{
			{"/etc/epks/node.env", true, "0644"},
			{"/etc/modules-load.d/epks.conf", true, "0644"},
			{"/etc/sysctl.d/90-epks.conf", true, "0644"},
			{"/usr/local/lib/epks/epks-node.sh", true, "0755"},
			{"/usr/local/lib/epks/epks-br-int.sh", true, "0755"},
			{"/etc/epks/kubeadm.yaml", true, "0600"},
			{"/etc/kubernetes/pki/ca.crt", controlPlane, "0644"},
			{"/etc/kubernetes/pki/ca.key", controlPlane, "0600"},
			{"/etc/kubernetes/pki/etcd/ca.key", controlPlane, "0600"},
			{"/etc/kubernetes/pki/sa.key", controlPlane, "0600"},
			{"/etc/epks/values.yaml", role == RoleControlPlane, "0600"},
		} {
			if ud.has(tc.path) != tc.want {
				t.Errorf("%s written: %v, want %v", tc.path, ud.has(tc.path), tc.want)
				continue
			}
			if tc.want {
				if f := ud.file(t, tc.path); f.Permissions != tc.mode || f.Owner != "root:root" {
					t.Errorf("%s: mode %s owner %s, want %s root:root", tc.path, f.Permissions, f.Owner, tc.mode)
				}
			}
		}
		env := ud.file(t, "/etc/epks/node.env").Content
		netcfg := "netplan"
		if sys == Ubuntu1604 || sys == Ubuntu1804 || sys == Debian12 {
			netcfg = "ifupdown"
		}
		for _, want := range []string{"EPKS_ROLE='" + string(role) + "'", "EPKS_OS='" + string(sys) + "'",
			"EPKS_NETWORK_CONFIG='" + netcfg + "'", "EPKS_POD_INTERFACE='ens224'", "EPKS_OVS='host'",
			"EPKS_KUBERNETES_VERSION='v1.36.2'", "EPKS_IMAGE='ghcr.io/epks/epks:v0.1.0'", "EPKS_MTU='1500'",
			"EPKS_NSX_PACKAGE='/root/nsx-container-2.4.1.13515827.zip'"} {
			if !strings.Contains(env, want+"\n") {
				t.Errorf("node.env lacks %s:\n%s", want, env)
			}
		}
	})
}

// TestSecretsByRole: workers get the token only, joining control planes the
// token and the shared keys, the first control plane also the credentials;
// every secret is inside a file of mode 0600 and nowhere else.
func TestSecretsByRole(t *testing.T) {
	p := seedParams(t, nil)
	secrets := map[string][]Role{
		seedToken:       {RoleControlPlane, RoleControlPlaneJoin, RoleWorker},
		"PRIVATE KEY":   {RoleControlPlane, RoleControlPlaneJoin},
		seedNSXPassword: {RoleControlPlane},
		seedOSPassword:  {RoleControlPlane},
	}
	for _, role := range Roles() {
		data := render(t, p, role, DefaultOS)
		ud := parseUserData(t, data)
		for s, roles := range secrets {
			want := contains(roles, role)
			if got := strings.Contains(string(data), s); got != want {
				t.Errorf("%s: user data holds %q: %v, want %v", role, s, got, want)
			}
			for _, f := range ud.WriteFiles {
				if !f.Secret() && strings.Contains(f.Content, s) {
					t.Errorf("%s: %s (mode %s) holds %q", role, f.Path, f.Permissions, s)
				}
			}
		}
		// Outside write_files (header, runcmd, final message) there is no secret.
		var rest strings.Builder
		rest.WriteString(ud.FinalMessage)
		for _, c := range ud.RunCmd {
			rest.WriteString(strings.Join(c, " "))
		}
		header := strings.SplitN(string(data), "write_files:", 2)[0]
		for s := range secrets {
			if strings.Contains(rest.String()+header, s) {
				t.Errorf("%s: %q outside the secret files", role, s)
			}
		}
	}
}

// TestScriptsReadOnlyNodeEnv: every EPKS_ variable a script uses is set in
// node.env (or is one of the documented overrides with a default), and no
// script traces its commands.
func TestScriptsReadOnlyNodeEnv(t *testing.T) {
	overrides := map[string]bool{"EPKS_ENV": true, "EPKS_ROOT": true, "EPKS_SYSFS": true, "EPKS_NIC_WAIT": true, "EPKS_IMAGE_MOUNT": true}
	ud := parseUserData(t, render(t, seedParams(t, nil), RoleControlPlane, DefaultOS))
	env := ud.file(t, "/etc/epks/node.env").Content
	set := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^(EPKS_[A-Z_]+)=`).FindAllStringSubmatch(env, -1) {
		set[m[1]] = true
	}
	used := regexp.MustCompile(`\$\{?(EPKS_[A-Z_]+)`)
	trace := regexp.MustCompile(`(?m)^\s*set\s+-[a-z]*x|bash\s+-[a-z]*x|set\s+-o\s+xtrace`)
	n := 0
	for _, f := range ud.WriteFiles {
		if !strings.HasSuffix(f.Path, ".sh") {
			continue
		}
		n++
		for _, m := range used.FindAllStringSubmatch(f.Content, -1) {
			if !set[m[1]] && !overrides[m[1]] {
				t.Errorf("%s uses %s, which node.env does not set", f.Path, m[1])
			}
		}
		if trace.MatchString(f.Content) {
			t.Errorf("%s traces its commands, which would print secrets", f.Path)
		}
	}
	if n != len(scripts()) || n < 7 {
		t.Errorf("%d scripts in the user data, want all %d", n, len(scripts()))
	}
}

// TestCAPin: the workers' pin is kubeadm's hash of the CA's public key, the
// same on every render from the same directory, and a new directory makes a
// new CA.
func TestCAPin(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	first, created, err := LoadOrCreatePKI(dir, testNow)
	if err != nil || !created {
		t.Fatalf("created=%v err=%v", created, err)
	}
	again, created, err := LoadOrCreatePKI(dir, testNow)
	if err != nil || created {
		t.Fatalf("second run: created=%v err=%v", created, err)
	}
	if first.CACertHash() != again.CACertHash() {
		t.Fatalf("the pin changed between runs: %s, %s", first.CACertHash(), again.CACertHash())
	}
	cert := readCert(t, filepath.Join(dir, "ca.crt"))
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	if want := "sha256:" + hex.EncodeToString(sum[:]); first.CACertHash() != want {
		t.Errorf("pin %s, want %s", first.CACertHash(), want)
	}
	other, _, err := LoadOrCreatePKI(filepath.Join(t.TempDir(), "pki"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if other.CACertHash() == first.CACertHash() {
		t.Error("two new directories have the same CA")
	}

	// The join configurations carry the pin of the directory they came from.
	p := seedParams(t, nil)
	for _, role := range []Role{RoleWorker, RoleControlPlaneJoin} {
		cfg, err := KubeadmConfig(p, role, again)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(cfg), first.CACertHash()) {
			t.Errorf("%s: no pin %s in\n%s", role, first.CACertHash(), cfg)
		}
	}

	// Modes: the directory and every file are for the owner only.
	for _, name := range append([]string{""}, pkiFiles...) {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v", filepath.Join(dir, name), st.Mode().Perm())
		}
	}
}

// TestPKIDirectoryProblems: a directory that is not a whole PKI is refused
// with the names of what is wrong, and is left as it was.
func TestPKIDirectoryProblems(t *testing.T) {
	good := filepath.Join(t.TempDir(), "pki")
	if _, _, err := LoadOrCreatePKI(good, testNow); err != nil {
		t.Fatal(err)
	}
	copyPKI := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "pki")
		for _, name := range pkiFiles {
			data, err := os.ReadFile(filepath.Join(good, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	for _, tc := range []struct {
		name   string
		damage func(dir string) error
		want   []string
	}{
		{"missing files", func(dir string) error {
			os.Remove(filepath.Join(dir, "sa.pub"))
			return os.Remove(filepath.Join(dir, "etcd/ca.key"))
		}, []string{"lacks etcd/ca.key, sa.pub"}},
		{"key of another CA", func(dir string) error {
			data, _ := os.ReadFile(filepath.Join(dir, "front-proxy-ca.key"))
			return os.WriteFile(filepath.Join(dir, "ca.key"), data, 0o600)
		}, []string{"ca.crt: does not belong to its key"}},
		{"not a certificate", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "etcd/ca.crt"), []byte("hello"), 0o600)
		}, []string{"etcd/ca.crt: is not a PEM certificate"}},
		{"service-account halves", func(dir string) error {
			data, _ := os.ReadFile(filepath.Join(dir, "ca.key"))
			return os.WriteFile(filepath.Join(dir, "sa.key"), data, 0o600)
		}, []string{"sa.key: sa.pub is not the public half of sa.key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyPKI(t)
			if err := tc.damage(dir); err != nil {
				t.Fatal(err)
			}
			before := listDir(t, dir)
			_, _, err := LoadOrCreatePKI(dir, testNow)
			if err == nil {
				t.Fatal("a broken PKI was accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("the error shows a key: %v", err)
			}
			if after := listDir(t, dir); !reflect.DeepEqual(before, after) {
				t.Errorf("the directory changed: %v -> %v", before, after)
			}
		})
	}
	// An expired CA (ten years on).
	if _, _, err := LoadOrCreatePKI(good, testNow.AddDate(11, 0, 0)); err == nil || !strings.Contains(err.Error(), "is valid from") {
		t.Errorf("an expired CA: %v", err)
	}
}

func listDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		out[p] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestKubeadmConfigs checks the values kubeadm gets from the parameters.
func TestKubeadmConfigs(t *testing.T) {
	p := seedParams(t, map[string]any{"kubernetes_version": "v1.35.4", "service_cidr": "10.100.0.0/16"})
	docs := func(role Role) []map[string]any {
		t.Helper()
		cfg, err := KubeadmConfig(p, role, sharedPKI)
		if err != nil {
			t.Fatal(err)
		}
		var out []map[string]any
		dec := yaml.NewDecoder(strings.NewReader(string(cfg)))
		for {
			var d map[string]any
			if err := dec.Decode(&d); err != nil {
				break
			}
			out = append(out, d)
		}
		return out
	}
	get := func(d map[string]any, path string) any {
		var v any = d
		for _, k := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		}
		return v
	}
	kubeletArgs := []any{map[string]any{"name": "cloud-provider", "value": "external"}}

	init := docs(RoleControlPlane)
	if len(init) != 3 {
		t.Fatalf("init has %d documents, want InitConfiguration, ClusterConfiguration, KubeletConfiguration", len(init))
	}
	tokens := get(init[0], "bootstrapTokens").([]any)
	for path, want := range map[string]any{
		"kind": "InitConfiguration", "nodeRegistration.criSocket": "unix:///run/containerd/containerd.sock",
		"patches.directory": "/etc/epks/kubeadm-patches", "timeouts.controlPlaneComponentHealthCheck": "15m0s",
		"timeouts.kubeletHealthCheck": "15m0s", "timeouts.kubernetesAPICall": "5m0s", "timeouts.etcdAPICall": "5m0s",
	} {
		if got := get(init[0], path); got != want {
			t.Errorf("init %s = %v, want %v", path, got, want)
		}
	}
	if !reflect.DeepEqual(get(init[0], "nodeRegistration.kubeletExtraArgs"), kubeletArgs) {
		t.Errorf("init kubelet args %v", get(init[0], "nodeRegistration.kubeletExtraArgs"))
	}
	if len(tokens) != 1 || get(tokens[0].(map[string]any), "token") != seedToken {
		t.Errorf("init tokens %v", tokens)
	}
	for path, want := range map[string]any{
		"kind": "ClusterConfiguration", "clusterName": "k8scluster", "kubernetesVersion": "v1.35.4",
		"controlPlaneEndpoint": "10.0.0.10:6443", "networking.podSubnet": "193.167.0.0/16",
		"networking.serviceSubnet": "10.100.0.0/16",
	} {
		if got := get(init[1], path); got != want {
			t.Errorf("cluster %s = %v, want %v", path, got, want)
		}
	}
	if sans := get(init[1], "apiServer.certSANs"); !reflect.DeepEqual(sans, []any{floatingIP, "k8scluster.example.com"}) {
		t.Errorf("certSANs = %v", sans)
	}
	if get(init[2], "cgroupDriver") != "systemd" {
		t.Errorf("kubelet cgroup driver %v", get(init[2], "cgroupDriver"))
	}

	for _, role := range []Role{RoleWorker, RoleControlPlaneJoin} {
		join := docs(role)
		if len(join) != 1 {
			t.Fatalf("%s: %d documents", role, len(join))
		}
		for path, want := range map[string]any{
			"kind": "JoinConfiguration", "discovery.bootstrapToken.token": seedToken,
			"discovery.bootstrapToken.apiServerEndpoint": "10.0.0.10:6443", "timeouts.discovery": "30m0s",
			"patches.directory": "/etc/epks/kubeadm-patches", "timeouts.tlsBootstrap": "15m0s",
			"timeouts.kubeletHealthCheck": "15m0s", "timeouts.kubernetesAPICall": "5m0s",
		} {
			if got := get(join[0], path); got != want {
				t.Errorf("%s %s = %v, want %v", role, path, got, want)
			}
		}
		if !reflect.DeepEqual(get(join[0], "discovery.bootstrapToken.caCertHashes"), []any{sharedPKI.CACertHash()}) {
			t.Errorf("%s pin %v", role, get(join[0], "discovery.bootstrapToken.caCertHashes"))
		}
		if _, isCP := join[0]["controlPlane"]; isCP != (role == RoleControlPlaneJoin) {
			t.Errorf("%s: controlPlane present: %v", role, isCP)
		}
	}
}

// TestInstallValues: the first control-plane node installs with the values
// epks values would print, OVS on the host, NCP reaching the API server at
// the control-plane endpoint.
func TestInstallValues(t *testing.T) {
	p := seedParams(t, nil)
	ud := parseUserData(t, render(t, p, RoleControlPlane, DefaultOS))
	var got map[string]any
	if err := sigsyaml.Unmarshal([]byte(ud.file(t, "/etc/epks/values.yaml").Content), &got); err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	data, _ := sigsyaml.Marshal(values.For(p, p.OpenStackCA).Values)
	if err := sigsyaml.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("values.yaml differs from the parameters' values")
	}
	k := got["kubernetes"].(map[string]any)
	if k["apiServerHost"] != "10.0.0.10" || k["apiServerPort"] != float64(6443) {
		t.Errorf("NCP reaches the API at %v:%v", k["apiServerHost"], k["apiServerPort"])
	}
	if got["nsxNodeAgent"].(map[string]any)["ovsInContainer"] != false {
		t.Errorf("OVS must run on the host that br-int is built on")
	}
}

// TestOptionsAndParams: roles, systems and parameters that change the
// user data.
func TestOptionsAndParams(t *testing.T) {
	p := seedParams(t, map[string]any{"ovs_in_container": true, "pod_interface_mac": "FA:16:3E:00:00:01",
		"image_registry": "registry.local", "package_source": "bundle", "offline_bundle_path": "/srv/bundle"})
	env := NodeEnv(p, Options{Role: RoleWorker, OS: Ubuntu2204})
	for _, want := range []string{"EPKS_OVS='container'", "EPKS_POD_MACS='fa:16:3e:00:00:01'",
		"EPKS_IMAGE='registry.local/epks/epks:v0.1.0'", "EPKS_PACKAGE_SOURCE='bundle'", "EPKS_BUNDLE='/srv/bundle'"} {
		if !strings.Contains(env, want+"\n") {
			t.Errorf("node.env lacks %s", want)
		}
	}
	if got := EPKSImage(seedParams(t, map[string]any{"epks_image": "registry.local/tools/epks@sha256:" + strings.Repeat("a", 64)})); !strings.HasSuffix(got, strings.Repeat("a", 64)) {
		t.Errorf("epks_image ignored: %s", got)
	}
	for _, o := range []Options{
		{Role: "master", OS: DefaultOS, PKI: sharedPKI},
		{Role: RoleWorker, OS: "ubuntu-20.04", PKI: sharedPKI},
		{Role: RoleWorker, OS: DefaultOS},
	} {
		if _, err := Render(p, o); err == nil {
			t.Errorf("%+v rendered", o)
		}
	}
	if got := shellQuote("it's"); got != `'it'\''s'` {
		t.Errorf("shellQuote = %s", got)
	}
	var noEndpoint params.Params = *p
	noEndpoint.ControlPlaneEndpoint = ""
	if _, err := KubeadmConfig(&noEndpoint, RoleWorker, sharedPKI); err == nil {
		t.Error("a join configuration without an endpoint")
	}
}
