package cloudinit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epks/epks/pkg/params"
)

// TestNodeIP runs the node's epks-node-ip.sh, as the user data ships it, on a
// node with a management and a pod NIC (ip(8) is a stand-in that lists the
// node's addresses): the kubelet's --node-ip must be the address in
// mgmt_net_cidr, whatever order the NICs come in.
func TestNodeIP(t *testing.T) {
	addrs := map[string]string{
		"pod NIC first": "2: ens224    inet 172.30.0.12/24 brd 172.30.0.255 scope global ens224\n" +
			"3: ens160    inet 10.10.0.12/24 brd 10.10.0.255 scope global dynamic ens160\n" +
			"3: ens160    inet6 fd00::12/64 scope global\n",
		"management NIC first": "2: ens160    inet 10.10.0.12/24 brd 10.10.0.255 scope global dynamic ens160\n" +
			"3: ens224    inet 172.30.0.12/24 brd 172.30.0.255 scope global ens224\n",
	}
	for name, list := range addrs {
		t.Run(name, func(t *testing.T) {
			p := seedParams(t, map[string]any{"mgmt_net_cidr": "10.10.0.0/24"})
			root, out, err := runNodeIP(t, p, list)
			if err != nil {
				t.Fatalf("epks-node-ip.sh: %v\n%s", err, out)
			}
			got := readFile(t, filepath.Join(root, "etc/default/kubelet"))
			if got != "KUBELET_EXTRA_ARGS=--node-ip=10.10.0.12\n" {
				t.Errorf("/etc/default/kubelet = %q, want the management address as --node-ip", got)
			}
		})
	}
	t.Run("no address in mgmt_net_cidr", func(t *testing.T) {
		p := seedParams(t, map[string]any{"mgmt_net_cidr": "10.20.0.0/24"})
		root, out, err := runNodeIP(t, p, addrs["pod NIC first"])
		if err == nil {
			t.Fatalf("epks-node-ip.sh succeeded without a management address:\n%s", out)
		}
		mustContain(t, "the error", out, "no address of this node is in mgmt_net_cidr 10.20.0.0/24")
		if _, err := os.Stat(filepath.Join(root, "etc/default/kubelet")); err == nil {
			t.Error("/etc/default/kubelet written without a node IP")
		}
	})
	t.Run("no mgmt_net_cidr", func(t *testing.T) {
		p := seedParams(t, map[string]any{"mgmt_net_cidr": nil})
		root, out, err := runNodeIP(t, p, addrs["pod NIC first"])
		if err != nil {
			t.Fatalf("epks-node-ip.sh: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(root, "etc/default/kubelet")); err == nil {
			t.Error("/etc/default/kubelet written without mgmt_net_cidr")
		}
	})
}

// runNodeIP extracts the user data of a worker of p and runs its
// epks-node-ip.sh under a scratch root, with an ip(8) that prints addrs.
func runNodeIP(t *testing.T, p *params.Params, addrs string) (root, out string, err error) {
	t.Helper()
	dir, bin, root := t.TempDir(), t.TempDir(), t.TempDir()
	parseUserData(t, render(t, p, RoleWorker, Ubuntu2404)).extract(t, dir)
	list := filepath.Join(bin, "addrs")
	if err := os.WriteFile(list, []byte(addrs), 0o644); err != nil {
		t.Fatal(err)
	}
	// The stand-in answers only what the script asks.
	fake := "#!/bin/sh\n[ \"$*\" = \"-o addr show scope global\" ] || { echo \"unexpected ip $*\" >&2; exit 2; }\nexec cat " + list + "\n"
	if err := os.WriteFile(filepath.Join(bin, "ip"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(dir, "usr/local/lib/epks/epks-node-ip.sh"))
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"),
		"EPKS_ENV="+filepath.Join(dir, "etc/epks/node.env"), "EPKS_ROOT="+root, "EPKS_NIC_WAIT=0")
	b, err := cmd.CombinedOutput()
	return root, strings.TrimSpace(string(b)), err
}
