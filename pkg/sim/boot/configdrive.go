package boot

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/epks/epks/pkg/sim/model"
)

// ConfigDriveLabel is the volume label of Nova's config drive, which
// cloud-init's ConfigDrive data source looks for.
const ConfigDriveLabel = "config-2"

// DHCPDomain is the domain Nova appends to the metadata's hostname
// ([api] dhcp_domain, "novalocal" by default).
const DHCPDomain = "novalocal"

// ConfigDrive is what Nova writes on a server's config drive, below
// openstack/latest: meta_data.json, user_data, network_data.json and the
// (empty) vendor data.
type ConfigDrive struct {
	MetaData    MetaData
	UserData    []byte
	NetworkData NetworkData
}

// MetaData is openstack/latest/meta_data.json.
type MetaData struct {
	UUID             string            `json:"uuid"`
	Name             string            `json:"name"`
	Hostname         string            `json:"hostname"`
	LaunchIndex      int               `json:"launch_index"`
	AvailabilityZone string            `json:"availability_zone"`
	ProjectID        string            `json:"project_id"`
	Meta             map[string]string `json:"meta"`
	PublicKeys       map[string]string `json:"public_keys,omitempty"`
	Keys             []Key             `json:"keys,omitempty"`
	RandomSeed       string            `json:"random_seed"`
	Devices          []any             `json:"devices"`
}

// Key is a key pair of meta_data.json's keys.
type Key struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Data string `json:"data"`
}

// NetworkData is openstack/latest/network_data.json: a link per port (by
// MAC), a network per fixed IP, the name servers.
type NetworkData struct {
	Links    []Link    `json:"links"`
	Networks []Network `json:"networks"`
	Services []Service `json:"services"`
}

// Link is a NIC of network_data.json.
type Link struct {
	ID    string `json:"id"`
	VIFID string `json:"vif_id"`
	Type  string `json:"type"`
	MTU   int    `json:"mtu"`
	MAC   string `json:"ethernet_mac_address"`
}

// Network is an address of a link in network_data.json. Nova writes a
// static address (type ipv4) when no DHCP server serves the subnet, as none
// does in viosim.
type Network struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Link      string    `json:"link"`
	IPAddress string    `json:"ip_address"`
	Netmask   string    `json:"netmask"`
	Routes    []Route   `json:"routes"`
	NetworkID string    `json:"network_id"`
	Services  []Service `json:"services"`
}

// Route is a route of a network in network_data.json.
type Route struct {
	Network string `json:"network"`
	Netmask string `json:"netmask"`
	Gateway string `json:"gateway"`
}

// Service is a name server in network_data.json.
type Service struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

// TapName is the name of a port's tap device, as Nova's libvirt driver
// names it: "tap" and the first 11 characters of the port's id.
func TapName(portID string) string {
	id := portID
	if len(id) > 11 {
		id = id[:11]
	}
	return "tap" + id
}

var notHostname = regexp.MustCompile(`[^a-z0-9-]+`)

// Hostname is the host name Nova gives a server of this display name: lower
// case, runs of other characters as one hyphen, at most 63 characters.
func Hostname(name string) string {
	h := strings.Trim(notHostname.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(h) > 63 {
		h = strings.Trim(h[:63], "-")
	}
	if h == "" {
		h = "server"
	}
	return h
}

// ConfigDriveFor builds the config drive of a server from the world: its
// key pair, user data, ports, their subnets and name servers.
func ConfigDriveFor(w *model.World, s model.Server) (ConfigDrive, error) {
	seed := make([]byte, 512)
	if _, err := rand.Read(seed); err != nil {
		return ConfigDrive{}, err
	}
	md := MetaData{
		UUID: s.ID, Name: s.Name, Hostname: Hostname(s.Name) + "." + DHCPDomain, AvailabilityZone: s.AvailabilityZone,
		ProjectID: s.ProjectID, Meta: s.Metadata, RandomSeed: base64.StdEncoding.EncodeToString(seed), Devices: []any{},
	}
	if md.Meta == nil {
		md.Meta = map[string]string{}
	}
	if s.KeyName != "" {
		k, err := w.KeyPair(s.UserID, s.KeyName)
		if err != nil {
			return ConfigDrive{}, fmt.Errorf("key pair %s of server %s: %w", s.KeyName, s.ID, err)
		}
		md.PublicKeys = map[string]string{k.Name: k.PublicKey}
		md.Keys = []Key{{Name: k.Name, Type: "ssh", Data: k.PublicKey}}
	}
	cd := ConfigDrive{MetaData: md, NetworkData: NetworkData{Links: []Link{}, Networks: []Network{}, Services: []Service{}}}
	if s.UserData != "" {
		data, err := base64.StdEncoding.DecodeString(s.UserData)
		if err != nil {
			return ConfigDrive{}, fmt.Errorf("user data of server %s: %w", s.ID, err)
		}
		cd.UserData = data
	}
	dns := map[string]bool{}
	for _, p := range w.PortsOfDevice(s.ID) {
		mtu := 1500
		if n, err := w.Network(p.NetworkID); err == nil && n.MTU > 0 {
			mtu = n.MTU
		}
		link := Link{ID: TapName(p.ID), VIFID: p.ID, Type: "ovs", MTU: mtu, MAC: p.MACAddress}
		cd.NetworkData.Links = append(cd.NetworkData.Links, link)
		for _, f := range p.FixedIPs {
			sub, err := w.Subnet(f.SubnetID)
			if err != nil {
				return ConfigDrive{}, fmt.Errorf("subnet %s of port %s: %w", f.SubnetID, p.ID, err)
			}
			prefix, err := netip.ParsePrefix(sub.CIDR)
			if err != nil {
				return ConfigDrive{}, fmt.Errorf("subnet %s: CIDR %q: %w", sub.ID, sub.CIDR, err)
			}
			n := Network{
				ID: fmt.Sprintf("network%d", len(cd.NetworkData.Networks)), Type: fmt.Sprintf("ipv%d", sub.IPVersion),
				Link: link.ID, IPAddress: f.IPAddress, NetworkID: p.NetworkID, Routes: []Route{}, Services: []Service{},
			}
			if sub.IPVersion == 6 {
				n.Netmask = net.IP(net.CIDRMask(prefix.Bits(), 128)).String()
			} else {
				n.Type = "ipv4"
				n.Netmask = net.IP(net.CIDRMask(prefix.Bits(), 32)).String()
			}
			if sub.GatewayIP != "" {
				def := Route{Network: "0.0.0.0", Netmask: "0.0.0.0", Gateway: sub.GatewayIP}
				if sub.IPVersion == 6 {
					def = Route{Network: "::", Netmask: "::", Gateway: sub.GatewayIP}
				}
				n.Routes = append(n.Routes, def)
			}
			for _, ns := range sub.DNSNameservers {
				n.Services = append(n.Services, Service{Type: "dns", Address: ns})
				if !dns[ns] {
					dns[ns] = true
					cd.NetworkData.Services = append(cd.NetworkData.Services, Service{Type: "dns", Address: ns})
				}
			}
			cd.NetworkData.Networks = append(cd.NetworkData.Networks, n)
		}
	}
	return cd, nil
}

// WriteTree writes the config drive's files under dir, as they are on the
// drive: openstack/latest/{meta_data.json,user_data,network_data.json,
// vendor_data.json,vendor_data2.json}.
func (cd ConfigDrive) WriteTree(dir string) error {
	latest := filepath.Join(dir, "openstack", "latest")
	if err := os.MkdirAll(latest, 0o755); err != nil {
		return err
	}
	files := map[string]any{"meta_data.json": cd.MetaData, "network_data.json": cd.NetworkData,
		"vendor_data.json": map[string]any{}, "vendor_data2.json": map[string]any{}}
	for name, v := range files {
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encoding %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(latest, name), data, 0o644); err != nil {
			return err
		}
	}
	if cd.UserData != nil {
		if err := os.WriteFile(filepath.Join(latest, "user_data"), cd.UserData, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// WriteISO writes the config drive as Nova does (config_drive_format
// iso9660): an ISO 9660 image with Rock Ridge and Joliet names, labelled
// config-2, made with genisoimage from the tree in a scratch directory.
func (cd ConfigDrive) WriteISO(ctx context.Context, path string) error {
	tree, err := os.MkdirTemp(filepath.Dir(path), ".config-drive-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tree)
	if err := cd.WriteTree(tree); err != nil {
		return err
	}
	tool, err := exec.LookPath("genisoimage")
	if err != nil {
		return fmt.Errorf("writing the config drive needs genisoimage (Debian package genisoimage): %w", err)
	}
	out, err := exec.CommandContext(ctx, tool, "-o", path, "-ldots", "-allow-lowercase", "-allow-multidot", "-l",
		"-publisher", "viosim", "-quiet", "-J", "-r", "-V", ConfigDriveLabel, tree).CombinedOutput()
	if err != nil {
		return fmt.Errorf("genisoimage: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
