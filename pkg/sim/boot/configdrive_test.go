package boot

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epks/epks/pkg/sim/model"
)

// seededServer is a server of the seed's layout (a NIC on the management
// and the pod network) with a key pair and user data.
func seededServer(t *testing.T) (*model.World, model.Server) {
	t.Helper()
	w := model.New(model.Options{})
	seeded, err := w.Apply(model.ClusterSeed("k8scluster", 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	var s model.Server
	for _, sv := range seeded.Servers {
		if sv.Name == "k8scluster-master-0" {
			s = sv
		}
	}
	k, err := w.CreateKeyPair(model.KeyPair{Name: "ops", UserID: s.UserID})
	if err != nil {
		t.Fatal(err)
	}
	s, err = w.UpdateServer(s.ID, func(s *model.Server) error {
		s.KeyName, s.UserData = k.Name, base64.StdEncoding.EncodeToString([]byte("#cloud-config\nruncmd: [[true]]\n"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return w, s
}

// TestConfigDriveCloudInit reads the config drive's tree with cloud-init's
// own ConfigDrive reader and network_data.json converter (Debian's
// cloud-init, hack/ci-setup.sh), as the guest does: the server's UUID, name,
// key, user data, and a NIC per port by MAC with its address.
func TestConfigDriveCloudInit(t *testing.T) {
	w, s := seededServer(t)
	cd, err := ConfigDriveFor(w, s)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := cd.WriteTree(dir); err != nil {
		t.Fatal(err)
	}
	const script = `
import json, sys
from cloudinit.sources.helpers import openstack
r = openstack.ConfigDriveReader(sys.argv[1]).read_v2()
macs = {l["ethernet_mac_address"]: "eth%d" % i for i, l in enumerate(r["networkdata"]["links"])}
net = openstack.convert_net_json(r["networkdata"], known_macs=macs)
print(json.dumps({"meta": r["metadata"], "userdata": r["userdata"].decode() if isinstance(r["userdata"], bytes) else r["userdata"], "net": net}, default=lambda o: "<bytes>"))
`
	cmd := exec.Command("/usr/bin/python3", "-c", script, dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cloud-init's reader: %v: %s", err, stderr.String())
	}
	var got struct {
		Meta     map[string]any `json:"meta"`
		UserData string         `json:"userdata"`
		Net      struct {
			Config []struct {
				Type       string `json:"type"`
				MACAddress string `json:"mac_address"`
				Subnets    []struct {
					Type    string `json:"type"`
					Address string `json:"address"`
				} `json:"subnets"`
			} `json:"config"`
		} `json:"net"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Meta["uuid"] != s.ID || got.Meta["name"] != s.Name || got.Meta["hostname"] != "k8scluster-master-0.novalocal" {
		t.Errorf("metadata %v, want uuid %s and name %s", got.Meta, s.ID, s.Name)
	}
	if keys, _ := got.Meta["public_keys"].(map[string]any); keys["ops"] == nil {
		t.Errorf("public_keys %v, want key ops", got.Meta["public_keys"])
	}
	if got.UserData != "#cloud-config\nruncmd: [[true]]\n" {
		t.Errorf("user data %q", got.UserData)
	}
	ports := w.PortsOfDevice(s.ID)
	macs := map[string]string{}
	for _, c := range got.Net.Config {
		if c.Type == "physical" && len(c.Subnets) == 1 && c.Subnets[0].Type == "static" {
			macs[c.MACAddress] = c.Subnets[0].Address
		}
	}
	if len(ports) != 2 || len(macs) != len(ports) {
		t.Fatalf("network config %s, want a static NIC per port of %v", out, ports)
	}
	for _, p := range ports {
		if macs[p.MACAddress] != p.FixedIPs[0].IPAddress {
			t.Errorf("NIC %s has %q, want port %s's %s", p.MACAddress, macs[p.MACAddress], p.ID, p.FixedIPs[0].IPAddress)
		}
	}
}

// TestConfigDriveISO writes the ISO and reads its label and files back with
// isoinfo (genisoimage's reader).
func TestConfigDriveISO(t *testing.T) {
	w, s := seededServer(t)
	cd, err := ConfigDriveFor(w, s)
	if err != nil {
		t.Fatal(err)
	}
	iso := filepath.Join(t.TempDir(), "cd.iso")
	if err := cd.WriteISO(context.Background(), iso); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("isoinfo", "-d", "-i", iso).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !contains(string(out), "Volume id: "+ConfigDriveLabel) {
		t.Errorf("isoinfo -d: %s, want volume id %s", out, ConfigDriveLabel)
	}
	md, err := exec.Command("isoinfo", "-R", "-i", iso, "-x", "/openstack/latest/meta_data.json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var got MetaData
	if err := json.Unmarshal(md, &got); err != nil || got.UUID != s.ID {
		t.Errorf("meta_data.json on the ISO: %s (%v), want uuid %s", md, err, s.ID)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
