package cloudinit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The pod NIC of the sample nodes, and the node's other devices.
const (
	podNIC = "ens224"
	podMAC = "fa:16:3e:4c:2a:7b"
)

// fakeSysfs lays out /sys/class/net of a node with a management NIC, the pod
// NIC, the loopback and a virtual device with the pod NIC's MAC (as br-int
// has after a first run): only devices with a "device" link are NICs.
func fakeSysfs(t *testing.T) string {
	t.Helper()
	sys := t.TempDir()
	for _, d := range []struct {
		name, mac string
		nic       bool
	}{
		{"ens3", "fa:16:3e:00:00:03", true},
		{podNIC, strings.ToUpper(podMAC), true},
		{"lo", "00:00:00:00:00:00", false},
		{"br-int", podMAC, false},
	} {
		dir := filepath.Join(sys, "class/net", d.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "address"), []byte(d.mac+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if d.nic {
			if err := os.MkdirAll(filepath.Join(dir, "device"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return sys
}

// runBridge runs the node's epks-br-int.sh, as the user data ships it,
// writing under root for the NICs of sysfs.
func runBridge(t *testing.T, ud userData, root, sysfs string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	ud.extract(t, dir)
	cmd := exec.Command("bash", filepath.Join(dir, "usr/local/lib/epks/epks-br-int.sh"), "--no-apply")
	cmd.Env = append(os.Environ(), "EPKS_ENV="+filepath.Join(dir, "etc/epks/node.env"),
		"EPKS_ROOT="+root, "EPKS_SYSFS="+sysfs, "EPKS_NIC_WAIT=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func mustContain(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// TestBridgeNetplan runs the bridge script of Ubuntu 22.04 and 24.04 nodes,
// choosing the pod NIC by name and by MAC, over a scratch root where
// cloud-init's own netplan gave the NIC DHCP, then `netplan generate` on it:
// the NIC must end up a port of the OVS bridge br-int, without an address,
// and br-int must carry the NIC's MAC.
func TestBridgeNetplan(t *testing.T) {
	netplan := tool(t, "netplan", "netplan.io")
	tool(t, "ovs-vsctl", "openvswitch-switch")
	for _, sys := range []OS{Ubuntu2404, Ubuntu2204} {
		for _, tc := range []struct {
			name  string
			edits map[string]any
		}{
			{"by name", nil},
			{"by MAC", map[string]any{"pod_interface": "eth9", "pod_interface_mac": "00:11:22:33:44:55 " + strings.ToUpper(podMAC)}},
		} {
			t.Run(string(sys)+"/"+tc.name, func(t *testing.T) {
				p := seedParams(t, tc.edits)
				ud := parseUserData(t, render(t, p, RoleWorker, sys))
				root := t.TempDir()
				cloudInitNetplan := "network:\n  version: 2\n  ethernets:\n    " + podNIC + ":\n      match:\n        macaddress: " +
					podMAC + "\n      set-name: " + podNIC + "\n      dhcp4: true\n"
				if err := os.MkdirAll(filepath.Join(root, "etc/netplan"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, "etc/netplan/50-cloud-init.yaml"), []byte(cloudInitNetplan), 0o600); err != nil {
					t.Fatal(err)
				}
				out, err := runBridge(t, ud, root, fakeSysfs(t))
				if err != nil {
					t.Fatalf("epks-br-int.sh: %v\n%s", err, out)
				}
				mustContain(t, "the script's output", out, "pod NIC "+podNIC+" with MAC "+podMAC)
				if gen, err := exec.Command(netplan, "generate", "--root-dir", root).CombinedOutput(); err != nil {
					t.Fatalf("netplan generate: %v\n%s", err, gen)
				}
				run := filepath.Join(root, "run")
				mustContain(t, "netplan-ovs-br-int.service", readFile(t, filepath.Join(run, "systemd/system/netplan-ovs-br-int.service")),
					"ovs-vsctl --may-exist add-br br-int", "ovs-vsctl --may-exist add-port br-int "+podNIC,
					"other-config:hwaddr="+podMAC, "set-fail-mode br-int standalone")
				bridge := readFile(t, filepath.Join(run, "systemd/network/10-netplan-br-int.network"))
				mustContain(t, "br-int's network", bridge, "MACAddress="+podMAC, "DHCP=ipv4", "UseRoutes=false", "MTUBytes=1500")
				port := readFile(t, filepath.Join(run, "systemd/network/10-netplan-"+podNIC+".network"))
				mustContain(t, podNIC+"'s network", port, "Bridge=br-int", "PermanentMACAddress="+podMAC)
				if strings.Contains(port, "DHCP=") {
					t.Errorf("the pod NIC still takes an address by DHCP:\n%s", port)
				}
				if st, err := os.Stat(filepath.Join(root, "etc/netplan/60-epks-br-int.yaml")); err != nil || st.Mode().Perm() != 0o600 {
					t.Errorf("60-epks-br-int.yaml: %v %v", st, err)
				}
			})
		}
	}
}

// TestBridgeIfupdown runs the bridge script of Ubuntu 16.04 and 18.04 nodes
// (the seed's form) and of Debian 12 nodes over a scratch root with cloud-init's ifupdown file, and
// reads the result back with ifupdown's ifquery.
func TestBridgeIfupdown(t *testing.T) {
	ifquery := tool(t, "ifquery", "ifupdown")
	for _, sys := range []OS{Ubuntu1804, Ubuntu1604, Debian12} {
		t.Run(string(sys), func(t *testing.T) {
			ud := parseUserData(t, render(t, seedParams(t, nil), RoleControlPlane, sys))
			root := t.TempDir()
			netDir := filepath.Join(root, "etc/network/interfaces.d")
			if err := os.MkdirAll(netDir, 0o755); err != nil {
				t.Fatal(err)
			}
			cloudInitCfg := "auto lo\niface lo inet loopback\n\nauto ens3\niface ens3 inet dhcp\n\nauto " + podNIC +
				"\niface " + podNIC + " inet dhcp\n    mtu 1500\n"
			if err := os.WriteFile(filepath.Join(netDir, "50-cloud-init.cfg"), []byte(cloudInitCfg), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := runBridge(t, ud, root, fakeSysfs(t))
			if err != nil {
				t.Fatalf("epks-br-int.sh: %v\n%s", err, out)
			}
			cfg := filepath.Join(netDir, "60-epks-br-int.cfg")
			query := func(args ...string) string {
				t.Helper()
				out, err := exec.Command(ifquery, append([]string{"--interfaces", cfg, "--state-dir", t.TempDir()}, args...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("ifquery %v: %v\n%s", args, err, out)
				}
				return string(out)
			}
			if got := strings.TrimSpace(query("--list", "--allow", "ovs")); got != "br-int" {
				t.Errorf("allow-ovs interfaces: %q, want br-int", got)
			}
			if got := strings.TrimSpace(query("--list", "--allow", "br-int")); got != podNIC {
				t.Errorf("allow-br-int interfaces: %q, want %s", got, podNIC)
			}
			mustContain(t, "ifquery br-int", query("br-int"), "ovs_type: OVSBridge", "ovs_ports: "+podNIC,
				"ovs_extra: set bridge ${IFACE} other-config:hwaddr="+podMAC, "mtu: 1500")
			mustContain(t, "ifquery "+podNIC, query(podNIC), "ovs_bridge: br-int", "ovs_type: OVSPort", "ofport_request=1")

			// cloud-init's stanzas of the pod NIC are commented out; the others stay.
			cloudInit := filepath.Join(netDir, "50-cloud-init.cfg")
			out2, err := exec.Command(ifquery, "--interfaces", cloudInit, "--state-dir", t.TempDir(), "--list", "--all").CombinedOutput()
			if err != nil {
				t.Fatalf("ifquery: %v\n%s", err, out2)
			}
			if got := strings.Fields(string(out2)); strings.Join(got, " ") != "lo ens3" {
				t.Errorf("cloud-init's file brings up %v, want lo ens3", got)
			}
			mustContain(t, "/etc/network/interfaces", readFile(t, filepath.Join(root, "etc/network/interfaces")),
				"source /etc/network/interfaces.d/*.cfg")
		})
	}
}

// TestBridgeNoNIC: without the pod NIC the script fails and lists the NICs.
func TestBridgeNoNIC(t *testing.T) {
	p := seedParams(t, map[string]any{"pod_interface_mac": "00:11:22:33:44:55"})
	ud := parseUserData(t, render(t, p, RoleWorker, DefaultOS))
	out, err := runBridge(t, ud, t.TempDir(), fakeSysfs(t))
	if err == nil {
		t.Fatalf("the script found a NIC that is not there:\n%s", out)
	}
	mustContain(t, "the error", out, "no NIC with MAC 00:11:22:33:44:55 (pod_interface_mac)", "ens3 fa:16:3e:00:00:03", podNIC)
	if strings.Contains(out, "lo ") || strings.Contains(out, "br-int") {
		t.Errorf("virtual devices listed as NICs:\n%s", out)
	}
}
