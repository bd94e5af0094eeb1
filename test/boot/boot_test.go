//go:build boot

// Package boot_test boots a server of viosim --boot qemu for real: in a
// network namespace of its own with a bridge per network, viosim runs the
// Nova server it is asked for through the API as a QEMU machine of the
// Debian 12 guest image (make guest-image), and the test reads from the
// serial console, through Nova's os-getConsoleOutput, that cloud-init ran
// the user data with the config drive's metadata, NICs with the ports'
// MACs, and reached viosim at the network's gateway. Needs root.
package boot_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"github.com/epks/epks/test/proc"
)

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestBootServer(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("the boot test needs root: network namespaces, taps and debootstrap")
	}
	t0 := time.Now()
	phase := func(name string, since time.Time) { t.Logf("phase %-28s %6.1fs", name, time.Since(since).Seconds()) }

	p0 := time.Now()
	image := script(t, "../../hack/build-guest-image.sh") // make guest-image
	phase("guest image", p0)

	// The namespace and its bridges: the management network's bridge has
	// the subnet's gateway, where viosim serves; nothing leaves the
	// namespace (it has no other link).
	p0 = time.Now()
	ns := fmt.Sprintf("epks-boot-%d", os.Getpid())
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	for _, br := range []string{"br-mgmt", "br-pod"} {
		run(t, "ip", "-n", ns, "link", "add", br, "type", "bridge")
		run(t, "ip", "-n", ns, "link", "set", br, "up")
	}
	const gateway = "10.10.0.1"
	run(t, "ip", "-n", ns, "addr", "add", gateway+"/16", "dev", "br-mgmt")

	dir := t.TempDir()
	bin := filepath.Join(dir, "viosim")
	run(t, "go", "build", "-o", bin, "../../cmd/viosim")
	v, err := proc.Start(proc.Spec{Name: "viosim", Dir: dir, Path: bin, Args: []string{
		"--dir", dir, "--control-planes", "0", "--workers", "0",
		"--boot", "qemu", "--boot-image", image, "--boot-netns", ns,
		"--boot-bridge", "k8scluster-mgmt=br-mgmt", "--boot-bridge", "k8scluster-pod=br-pod", "--boot-address", gateway,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Stop(30 * time.Second) })
	paramsPath := filepath.Join(dir, "viosim-params.yaml")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if _, err := os.Stat(paramsPath); err == nil {
			break
		}
		if v.Exited() || time.Now().After(deadline) {
			t.Fatal(v.CrashError())
		}
	}
	phase("netns, viosim", p0)

	ctx := context.Background()
	pc, caPEM := client(t, dir, paramsPath)
	compute, err := openstack.NewComputeV2(pc, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	compute.Microversion = "2.47"
	network, _ := openstack.NewNetworkV2(pc, gophercloud.EndpointOpts{Region: "RegionOne"})
	imageClient, _ := openstack.NewImageV2(pc, gophercloud.EndpointOpts{Region: "RegionOne"})
	page, err := images.List(imageClient, images.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	imgs, _ := images.ExtractImages(page)
	netPage, _ := networks.List(network, networks.ListOpts{}).AllPages(ctx)
	nets, _ := networks.ExtractNetworks(netPage)
	netID := map[string]string{}
	for _, n := range nets {
		netID[n.Name] = n.ID
	}

	// The user data prints what the guest saw, between markers, on the
	// serial console: the config drive's metadata, its NICs' MACs, and
	// Keystone's answer at the gateway (with viosim's CA).
	userData := "#cloud-config\n" +
		"write_files:\n- path: /etc/viosim-ca.crt\n  encoding: b64\n  content: " + base64.StdEncoding.EncodeToString(caPEM) + "\n" +
		"runcmd:\n- [sh, -c, 'echo EPKS-BOOT meta $(cloud-init query ds.meta_data.uuid) $(cloud-init query ds.meta_data.name) >/dev/ttyS0']\n" +
		"- [sh, -c, 'for n in /sys/class/net/*; do [ -e $n/device ] && echo EPKS-BOOT mac $(cat $n/address); done >/dev/ttyS0']\n" +
		"- [sh, -c, 'echo EPKS-BOOT keystone $(curl -s --cacert /etc/viosim-ca.crt -o /dev/null -w %{http_code} https://" + gateway + ":" + port(t, pc.IdentityEndpoint) + "/v3) >/dev/ttyS0']\n"
	p0 = time.Now()
	srv, err := servers.Create(ctx, compute, servers.CreateOpts{
		Name: "boot-test-0", FlavorRef: "3", ImageRef: imgs[0].ID, UserData: []byte(userData), ConfigDrive: ptr(true),
		Networks: []servers.Network{{UUID: netID["k8scluster-mgmt"]}, {UUID: netID["k8scluster-pod"]}},
	}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("server %s created", srv.ID)
	if err := waitStatus(ctx, compute, srv.ID, "ACTIVE", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	phase("create to ACTIVE (QEMU runs)", p0)
	pidData, err := os.ReadFile(filepath.Join(dir, "machines", srv.ID, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	fmt.Sscan(string(pidData), &pid)

	p1 := time.Now()
	finished := regexp.MustCompile(`Cloud-init v\. \S+ finished at`)
	var console string
	for deadline := time.Now().Add(15 * time.Minute); ; time.Sleep(5 * time.Second) {
		console, err = servers.ShowConsoleOutput(ctx, compute, srv.ID, servers.ShowConsoleOutputOpts{}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if finished.MatchString(console) {
			break
		}
		if time.Now().After(deadline) || !proc.Alive(pid) {
			t.Fatalf("cloud-init did not finish (QEMU alive: %v); console:\n%s", proc.Alive(pid), tail(console, 60))
		}
	}
	phase("boot to cloud-init final", p1)

	portPage, _ := ports.List(network, ports.ListOpts{DeviceID: srv.ID}).AllPages(ctx)
	ps, _ := ports.ExtractPorts(portPage)
	want := []string{"EPKS-BOOT meta " + srv.ID + " boot-test-0", "EPKS-BOOT keystone 200"}
	for _, p := range ps {
		want = append(want, "EPKS-BOOT mac "+p.MACAddress)
	}
	if len(ps) != 2 {
		t.Errorf("server has %d ports, want 2", len(ps))
	}
	for _, w := range want {
		if !strings.Contains(console, w) {
			t.Errorf("console has no %q; its EPKS-BOOT lines:\n%s", w, grep(console, "EPKS-BOOT"))
		}
	}
	if t.Failed() {
		t.Logf("console:\n%s", tail(console, 80))
	}

	p0 = time.Now()
	if err := servers.Delete(ctx, compute, srv.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if proc.Alive(pid) {
		t.Errorf("QEMU pid %d still runs after the server was deleted", pid)
	}
	phase("delete", p0)
	if err := v.Stop(30 * time.Second); err != nil {
		t.Error(err)
	}
	t.Logf("total %.1fs", time.Since(t0).Seconds())
}

func ptr[T any](v T) *T { return &v }

func port(t *testing.T, url string) string {
	m := regexp.MustCompile(`:(\d+)`).FindStringSubmatch(strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://"))
	if m == nil {
		t.Fatalf("no port in %s", url)
	}
	return m[1]
}

func client(t *testing.T, dir, paramsPath string) (*gophercloud.ProviderClient, []byte) {
	t.Helper()
	parameters := paramsOf(t, paramsPath)
	p := func(k string) string { s, _ := parameters[k].(string); return s }
	ca, err := os.ReadFile(filepath.Join(dir, "viosim-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	pc, err := openstack.NewClient(p("os_auth_url"))
	if err != nil {
		t.Fatal(err)
	}
	pc.HTTPClient = http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: time.Minute}
	err = openstack.Authenticate(context.Background(), pc, gophercloud.AuthOptions{
		IdentityEndpoint: p("os_auth_url"), Username: p("os_username"), Password: p("os_password"),
		DomainID: p("os_domain_id"), TenantID: p("os_tenant_id"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return pc, ca
}

func waitStatus(ctx context.Context, c *gophercloud.ServiceClient, id, status string, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); ; time.Sleep(200 * time.Millisecond) {
		s, err := servers.Get(ctx, c, id).Extract()
		if err != nil {
			return err
		}
		if s.Status == status {
			return nil
		}
		if s.Status == "ERROR" || time.Now().After(deadline) {
			return fmt.Errorf("server %s is %s (fault %v), want %s", id, s.Status, s.Fault, status)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func grep(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
