//go:build boot

package boot_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/epks/epks/pkg/cloudinit"
	"github.com/epks/epks/pkg/cluster"
	"github.com/epks/epks/pkg/cluster/scope"
	"github.com/epks/epks/pkg/inputs"
	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/proc"
)

// The cluster the test builds.
const (
	cpCluster = "boot"
	cpImage   = "debian-12-epks-node"
	cpKeyName = "boot-test"
	cpNodeIP  = "10.0.0.10" // epks cluster create's first control-plane address
	podCIDR   = "193.167.0.0/16"
)

// controlPlaneInNetns is the inner half of TestControlPlane, run in the
// network namespace.
func controlPlaneInNetns(t *testing.T, cfgJSON string) {
	var cfg innerConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		t.Fatal(err)
	}
	// Canceled last, after the cleanups (the dump of a failure asks Nova).
	ctx, cancel := context.WithDeadline(context.Background(), cfg.Deadline)
	t.Cleanup(cancel)
	ph := &phases{t: t}
	dir := cfg.Dir

	// viosim in the namespace, as VIO with IP access off: a project, a
	// flavor, the node image in Glance and a public network; the cluster's
	// networks are epks cluster create's to make. Only the control plane
	// boots: two emulated machines do not fit a 2-core host.
	p := ph.start("viosim")
	seed := model.Seed{
		Project: model.SeedProject{Name: "demo"},
		Users:   []model.SeedUser{{Name: "admin", Password: "viosim-password"}},
		Flavors: []model.SeedFlavor{{ID: "3", Name: "m1.medium", VCPUs: 2, RAM: 4096, Disk: 40}},
		Images:  []model.SeedImage{{Name: cpImage}},
		Networks: []model.SeedNetwork{
			{Name: "public", CIDR: "198.51.100.0/24", External: true},
		},
		NSX: model.SeedNSX{Tier0Router: "t0-router", OverlayTZ: "overlay-tz", IPBlock: "pod-ip-block", ExternalIPPool: "external-ip-pool"},
	}
	writeYAML(t, filepath.Join(dir, "seed.yaml"), seed)
	v, err := proc.Start(proc.Spec{Name: "viosim", Dir: dir, Path: cfg.Viosim, Args: []string{
		"--dir", dir, "--seed", filepath.Join(dir, "seed.yaml"), "--hostnames",
		"--boot", "qemu", "--boot-image", cfg.NodeImage, "--boot-netns", cfg.NetNS,
		"--boot-bridge", cpCluster + "-mgmt=br-mgmt", "--boot-bridge", cpCluster + "-pod=br-pod", "--boot-address", cpGateway,
		"--boot-servers", "^" + cpCluster + "-master-", "--boot-max-memory", "4096", "--boot-max-cpus", "2",
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := v.Stop(time.Minute); err != nil {
			t.Errorf("stopping viosim: %v", err)
		}
	})
	viosimParams := filepath.Join(dir, "viosim-params.yaml")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if _, err := os.Stat(viosimParams); err == nil {
			break
		}
		if v.Exited() || time.Now().After(deadline) {
			t.Fatal(v.CrashError())
		}
	}
	ph.done(p, "")

	// The parameters: viosim's, with the endpoints at the gateway, where the
	// guests reach viosim, and the cluster's own keys.
	vp := paramsOf(t, viosimParams)
	_, nsxPort, _ := net.SplitHostPort(fmt.Sprint(vp["nsx_api_manager"]))
	pp := map[string]any{}
	for k, val := range vp {
		pp[k] = val
	}
	for k, val := range map[string]any{
		"name": cpCluster, "node_count": 1, "image": cpImage, "key_name": cpKeyName, "flavor": "m1.medium",
		"floating_ips": "control-plane", "pod_network_cidr": podCIDR,
		"keystone_ip": cpGateway, "nova_ip": cpGateway, "cinder_ip": cpGateway,
		"nsx_api_manager": net.JoinHostPort(cpGateway, nsxPort),
		"mgmt_network":    cpCluster + "-mgmt", "pod_network": cpCluster + "-pod",
		"package_source": "bundle",
	} {
		pp[k] = val
	}
	paramsPath := filepath.Join(dir, "params.yaml")
	writeYAML(t, paramsPath, map[string]any{"parameters": pp})
	// Chart values over the parameters, as an operator gives them with
	// --values: NCP and its node agent are not public; cinder CSI's node
	// plugin needs the livenessprobe and csi-node-driver-registrar images,
	// which the bundle lacks (their modules are not on the module proxy);
	// and a cluster of one control-plane node runs one port tagger (two
	// would want the same host ports) and lets the snapshot-controller on it.
	valuesPath := filepath.Join(dir, "values.yaml")
	writeYAML(t, valuesPath, map[string]any{
		"ncp": map[string]any{"enabled": false}, "nsxNodeAgent": map[string]any{"enabled": false},
		"cinderCSI":  map[string]any{"enabled": false},
		"portTagger": map[string]any{"replicas": 1},
		"snapshotController": map[string]any{"tolerations": []any{
			map[string]any{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"},
		}},
	})

	// epks cluster create, as the command runs it, with the user data of
	// each node made of the product's part, unchanged, and the test's own
	// part with its CNI.
	p = ph.start("cluster create")
	l, err := inputs.Load(inputs.Options{ParamsFile: paramsPath, ValuesFiles: []string{valuesPath}, Purpose: params.ForCluster})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := cluster.NewSpec(l.Params)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := cluster.Connect(ctx, l.Params, l.CA)
	if err != nil {
		t.Fatal(err)
	}
	signer := sshKey(t, clients)
	pki, _, err := cloudinit.LoadOrCreatePKI(filepath.Join(dir, "pki"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	product := cluster.CloudInitUserData(l.Params, l.Values, pki, cloudinit.Debian12)
	userData := cluster.FitNova(func(n cluster.Node, podMAC string) ([]byte, error) {
		part, err := product(n, podMAC)
		if err != nil {
			return nil, err
		}
		return multipartUserData(part, cniPart(t, podCIDR))
	})
	sc := &scope.Scope{Cluster: spec.Name, Clients: clients, Out: os.Stdout}
	if err := cluster.Create(ctx, sc, spec, userData); err != nil {
		t.Fatal(err)
	}
	master := spec.Nodes[0]
	page, err := servers.List(clients.Compute, servers.ListOpts{Name: "^" + master.Name + "$"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := servers.ExtractServers(page)
	if len(list) != 1 {
		t.Fatalf("%d servers named %s", len(list), master.Name)
	}
	serverID := list[0].ID
	ph.done(p, fmt.Sprintf("%s %s", master.Name, serverID))

	startDHCP(ctx, t, clients, dir, master.Name+"-pod")

	g := &guest{t: t, ctx: ctx, clients: clients, serverID: serverID, signer: signer, dir: dir}
	pidData, err := os.ReadFile(filepath.Join(dir, "machines", serverID, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Sscan(string(pidData), &g.pid)
	t.Cleanup(func() {
		if t.Failed() {
			g.dump()
		}
	})

	// The node's steps, read from the serial console as cloud-init runs
	// them: the boot until the node script starts, the node's preparation
	// (system, packages, containerd, br-int, node-ip), kubeadm, install.
	g.waitSteps(ph)

	// The node, as the cluster sees it.
	p = ph.start("node Ready, initialized")
	cs := kubeClient(t, pki.Dir, "https://"+net.JoinHostPort(cpNodeIP, "6443"))
	node := g.waitNode(cs, master.Name)
	if want := "openstack:///" + serverID; node.Spec.ProviderID != want {
		t.Errorf("node %s has provider ID %q, want %q (from the config drive's instance ID)", node.Name, node.Spec.ProviderID, want)
	}
	var internal []string
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			internal = append(internal, a.Address)
		}
	}
	if strings.Join(internal, ",") != cpNodeIP {
		t.Errorf("node %s has InternalIPs %v, want [%s] (the OCCM's, from Nova, on mgmt_network)", node.Name, internal, cpNodeIP)
	}
	ph.done(p, fmt.Sprintf("%s %s, addresses %v", node.Name, node.Spec.ProviderID, node.Status.Addresses))

	p = ph.start("pod port tagged")
	g.waitTagged(master.Name)
	ph.done(p, "")

	status := g.ssh("sudo cat /var/lib/epks/status")
	t.Logf("/var/lib/epks/status:\n%s", status)
	for _, step := range []string{"system", "packages", "containerd", "br-int", "node-ip", "kubeadm", "install"} {
		if !regexp.MustCompile(`(?m) epks ` + step + `: ok \(`).MatchString(status) {
			t.Errorf("/var/lib/epks/status has no ok line of step %s", step)
		}
	}
	if !strings.Contains(status, "epks node: done") {
		t.Errorf("/var/lib/epks/status does not end with node: done")
	}
}

// guest is the booted control-plane machine.
type guest struct {
	t        *testing.T
	ctx      context.Context
	clients  scope.Clients
	serverID string
	pid      int
	signer   ssh.Signer
	dir      string
}

func (g *guest) console() string {
	// Its own time, so that the dump of a test past its deadline has it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := servers.ShowConsoleOutput(ctx, g.clients.Compute, g.serverID, servers.ShowConsoleOutputOpts{}).Extract()
	if err != nil {
		g.t.Logf("console output: %v", err)
	}
	return out
}

// waitSteps follows the console until the node script says done, printing
// each step's outcome and the phases.
func (g *guest) waitSteps(ph *phases) {
	t := g.t
	created := time.Now()
	boot := phase{"boot (to the node script)", created}
	prep := phase{"cloud-init: system ... node-ip", time.Time{}}
	kubeadm := phase{"kubeadm init", time.Time{}}
	install := phase{"epks install", time.Time{}}
	seen := map[string]bool{}
	lastProgress := time.Now()
	for {
		console := g.console()
		if !seen["preparing"] && strings.Contains(console, "epks node: preparing") {
			seen["preparing"] = true
			ph.done(boot, "")
			prep.start = time.Now()
		}
		for _, m := range stepLine.FindAllStringSubmatch(console, -1) {
			key := m[1] + " " + m[2]
			if seen[key] {
				continue
			}
			seen[key] = true
			t.Logf("  step %-10s %s", m[1], m[2])
			if strings.HasPrefix(m[2], "failed") {
				t.Fatalf("step %s failed: %s", m[1], m[0])
			}
			switch m[1] {
			case "node-ip":
				ph.done(prep, "")
				kubeadm.start = time.Now()
			case "kubeadm":
				ph.done(kubeadm, "")
				install.start = time.Now()
			case "install":
				ph.done(install, "")
			}
		}
		if strings.Contains(console, "epks node: done") {
			return
		}
		if regexp.MustCompile(`Cloud-init v\. \S+ finished at`).MatchString(console) {
			t.Fatal("cloud-init finished, but the node script did not say done")
		}
		if !proc.Alive(g.pid) {
			t.Fatalf("the machine's QEMU (pid %d) is gone", g.pid)
		}
		if g.ctx.Err() != nil {
			t.Fatalf("the node script did not finish in time (%s since the server was created)", time.Since(created).Round(time.Second))
		}
		if time.Since(lastProgress) > time.Minute {
			lastProgress = time.Now()
			t.Logf("  ... %s since the server was created; console: %s", time.Since(created).Round(time.Second), lastLine(console))
		}
		time.Sleep(5 * time.Second)
	}
}

// waitNode waits until the node is Ready and the OCCM initialized it (no
// uninitialized taint, a provider ID).
func (g *guest) waitNode(cs kubernetes.Interface, name string) *corev1.Node {
	var last string
	for deadline := time.Now().Add(20 * time.Minute); ; time.Sleep(5 * time.Second) {
		ctx, cancel := context.WithTimeout(g.ctx, 30*time.Second)
		node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		cancel()
		if err == nil {
			ready, initialized := false, node.Spec.ProviderID != ""
			for _, c := range node.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready = true
				}
			}
			for _, taint := range node.Spec.Taints {
				if taint.Key == "node.cloudprovider.kubernetes.io/uninitialized" {
					initialized = false
				}
			}
			if ready && initialized {
				return node
			}
			last = fmt.Sprintf("ready %v, initialized %v, taints %v", ready, initialized, node.Spec.Taints)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) || g.ctx.Err() != nil {
			g.t.Fatalf("node %s is not Ready and initialized: %s", name, last)
		}
	}
}

// waitTagged waits until the node's pod port carries the port tagger's
// tags in viosim's NSX (Policy API: NCP 4.x's default).
func (g *guest) waitTagged(node string) {
	t := g.t
	page, err := ports.List(g.clients.Network, ports.ListOpts{DeviceID: g.serverID}).AllPages(g.ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := ports.ExtractPorts(page)
	podPort := ""
	for _, p := range list {
		if p.Name == node+"-pod" {
			podPort = p.ID
		}
	}
	if podPort == "" {
		t.Fatalf("server %s has no port %s-pod", g.serverID, node)
	}
	want := map[string]string{"ncp/node_name": node, "ncp/cluster": cpCluster}
	var last string
	for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(5 * time.Second) {
		var infos []struct {
			AttachmentID string      `json:"attachmentID"`
			Tags         []model.Tag `json:"tags"`
		}
		if err := g.control("/nsx/ports?api=policy", &infos); err != nil {
			last = err.Error()
		}
		for _, in := range infos {
			if in.AttachmentID != podPort {
				continue
			}
			got := map[string]string{}
			for _, tg := range in.Tags {
				got[tg.Scope] = tg.Tag
			}
			ok := true
			for k, v := range want {
				ok = ok && got[k] == v
			}
			if ok {
				t.Logf("NSX port of %s tagged %v", podPort, in.Tags)
				return
			}
			last = fmt.Sprintf("tags %v", in.Tags)
		}
		if time.Now().After(deadline) || g.ctx.Err() != nil {
			t.Fatalf("the NSX port of %s (Neutron port %s) is not tagged %v: %s", node, podPort, want, last)
		}
	}
}

// control GETs viosim's control API on loopback.
func (g *guest) control(path string, out any) error {
	log, err := os.ReadFile(filepath.Join(g.dir, "viosim.log"))
	if err != nil {
		return err
	}
	m := regexp.MustCompile(`control API\s+(\S+)`).FindSubmatch(log)
	if m == nil {
		return fmt.Errorf("viosim printed no control API URL")
	}
	ca, err := os.ReadFile(filepath.Join(g.dir, "viosim-ca.crt"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(string(m[1]) + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

// ssh runs a command on the guest as the image's default user (debian),
// with the key pair the server was created with.
func (g *guest) ssh(cmd string) string {
	out, err := g.sshErr(cmd)
	if err != nil {
		g.t.Fatalf("ssh %s: %v: %s", cmd, err, out)
	}
	return out
}

func (g *guest) sshErr(cmd string) (string, error) {
	c, err := ssh.Dial("tcp", net.JoinHostPort(cpNodeIP, "22"), &ssh.ClientConfig{
		User: "debian", Auth: []ssh.AuthMethod{ssh.PublicKeys(g.signer)},
		// The test's own machine on its own bridge: no host key to pin.
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec
		Timeout:         30 * time.Second,
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return string(out), err
}

// dump prints what a failure needs: the end of the console, and, when the
// guest answers SSH, /var/lib/epks/status and the end of every log of
// /var/log/epks.
func (g *guest) dump() {
	t := g.t
	t.Logf("console of server %s (last 150 lines):\n%s", g.serverID, tail(g.console(), 150))
	out, err := g.sshErr(`sudo sh -c 'echo "== /var/lib/epks/status"; cat /var/lib/epks/status; for f in /var/log/epks/*.log; do echo "== $f"; tail -n 60 "$f"; done'`)
	if err != nil {
		t.Logf("the guest's /var/log/epks: no SSH (%v) %s", err, out)
		return
	}
	t.Logf("the guest's /var/log/epks:\n%s", out)
}

// sshKey imports a fresh key pair into Nova as the operator would, and
// returns its private half.
func sshKey(t *testing.T, c scope.Clients) ssh.Signer {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keypairs.Create(context.Background(), c.Compute, keypairs.CreateOpts{Name: cpKeyName,
		PublicKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))}).Extract(); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// multipartUserData makes a MIME multipart of cloud-config parts: cloud-init
// merges them in order.
func multipartUserData(parts ...[]byte) ([]byte, error) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\nMIME-Version: 1.0\n\n", w.Boundary())
	for i, part := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", `text/cloud-config; charset="utf-8"`)
		h.Set("MIME-Version", "1.0")
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="part-%d.yaml"`, i))
		pw, err := w.CreatePart(h)
		if err != nil {
			return nil, err
		}
		if _, err := pw.Write(part); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// cniPart is the test's own cloud-config part: a bridge network with
// host-local addresses from the node's first /24 of the pod network (one
// node), for the reference plugins the node image carries in /opt/cni/bin.
// It appends to the product's write_files instead of replacing them.
func cniPart(t *testing.T, cidr string) []byte {
	prefix := netip.MustParsePrefix(cidr)
	subnet := netip.PrefixFrom(prefix.Addr(), 24).String()
	conf := map[string]any{
		"cniVersion": "1.0.0", "name": "epks-boot-test",
		"plugins": []any{
			map[string]any{"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
				"ipam": map[string]any{"type": "host-local", "ranges": [][]map[string]string{{{"subnet": subnet}}},
					"routes": []map[string]string{{"dst": "0.0.0.0/0"}}}},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	confJSON, _ := json.MarshalIndent(conf, "", "  ")
	cc := map[string]any{
		"merge_how": []any{
			map[string]any{"name": "list", "settings": []string{"append"}},
			map[string]any{"name": "dict", "settings": []string{"no_replace", "recurse_list"}},
		},
		"write_files": []any{map[string]any{
			"path": "/etc/cni/net.d/10-epks-boot-test.conflist", "owner": "root:root", "permissions": "0644", "content": string(confJSON),
		}},
	}
	body, err := yaml.Marshal(cc)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte("#cloud-config\n# The boot test's own CNI (test/boot), not epks's.\n"), body...)
}

// kubeClient is a client of the cluster as a member of system:masters,
// with a certificate signed by the cluster's CA (the PKI of epks cloud-init).
func kubeClient(t *testing.T, pkiDir, server string) kubernetes.Interface {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(pkiDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(pkiDir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := pem.Decode(caPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		t.Fatal("the PKI's ca.crt or ca.key is not PEM")
	}
	caCert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var caKey any
	if caKey, err = x509.ParsePKCS1PrivateKey(kb.Bytes); err != nil {
		if caKey, err = x509.ParsePKCS8PrivateKey(kb.Bytes); err != nil {
			t.Fatal(err)
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "epks-boot-test", Organization: []string{"system:masters"}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &rest.Config{Host: server, Timeout: 30 * time.Second, TLSClientConfig: rest.TLSClientConfig{
		CAData:   caPEM,
		CertData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyData:  pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
	}}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func writeYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// startDHCP serves the pod network's DHCP on its bridge, as Neutron's DHCP
// agent serves a subnet with DHCP (epks cluster create makes them so): a
// dnsmasq that answers only the ports it knows, each with its fixed IP, and
// gives no router and no name server. br-int takes the pod NIC's address so
// (the product's ifupdown stanza, as the seed's nodes had it).
func startDHCP(ctx context.Context, t *testing.T, c scope.Clients, dir, portName string) {
	t.Helper()
	page, err := ports.List(c.Network, ports.ListOpts{Name: portName}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := ports.ExtractPorts(page)
	if len(list) != 1 || len(list[0].FixedIPs) != 1 {
		t.Fatalf("port %s: %+v", portName, list)
	}
	// The port's fixed IP on the command line: dnsmasq reads a hosts file
	// only after dropping root, and the test's directories are root's alone.
	host := list[0].MACAddress + "," + list[0].FixedIPs[0].IPAddress
	// Neutron's DHCP agent fills the checksums of its answers (an iptables
	// CHECKSUM rule): the bridge would hand them to the taps unchecksummed
	// (offloaded), and dhclient on the guest's OVS bridge drops such packets.
	if out, err := exec.Command("ethtool", "-K", "br-pod", "tx", "off").CombinedOutput(); err != nil {
		t.Fatalf("ethtool -K br-pod tx off: %v: %s (Debian package ethtool)", err, out)
	}
	subnet := netip.MustParsePrefix(podGateway + "/24").Masked().Addr().String()
	d, err := proc.Start(proc.Spec{Name: "dnsmasq", Dir: dir, Path: "dnsmasq", Args: []string{
		"--keep-in-foreground", "--log-facility=-", "--conf-file=/dev/null", "--port=0", "--pid-file=",
		"--interface=br-pod", "--bind-interfaces", "--except-interface=lo", "--leasefile-ro",
		"--dhcp-range=" + subnet + ",static,255.255.255.0,12h", "--dhcp-host=" + host,
		"--dhcp-option=3", "--dhcp-option=6", "--log-dhcp",
		// As root: a process that changes its user loses its parent-death
		// signal, and this one must not outlive the test.
		"--user=root",
	}})
	if err != nil {
		t.Fatalf("%v (Debian package dnsmasq-base)", err)
	}
	t.Cleanup(func() {
		_ = d.Stop(10 * time.Second) // then its log is whole
		if t.Failed() {
			t.Logf("dnsmasq (the pod network's DHCP):\n%s", proc.LogTail(d.LogPath, 30))
		}
	})
	time.Sleep(time.Second)
	if d.Exited() {
		t.Fatal(d.CrashError())
	}
}
