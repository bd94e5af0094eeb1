package model

import (
	"fmt"
	"sort"
	"time"
)

// Flavor is a Nova flavor.
type Flavor struct {
	ID    string
	Name  string
	VCPUs int
	RAM   int // MiB
	Disk  int // GiB
}

// Server is a Nova server.
type Server struct {
	ID               string
	Name             string
	ProjectID        string
	UserID           string
	FlavorID         string
	ImageID          string
	KeyName          string
	Status           string
	AvailabilityZone string
	HostID           string
	Metadata         map[string]string
	Attachments      []VolumeAttachment
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// VolumeAttachment is a volume attached to a server.
type VolumeAttachment struct {
	ID       string // the attachment's id; Nova uses the volume id
	VolumeID string
	ServerID string
	Device   string
}

// NIC asks for a port of a server on a network, optionally with an address.
type NIC struct {
	NetworkID string
	FixedIP   string
}

// CreateFlavor adds a flavor.
func (w *World) CreateFlavor(f Flavor) Flavor {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f.ID == "" {
		f.ID = NewID()
	}
	w.flavors.put(f.ID, w.nextSeq(), &f)
	return f
}

// Flavor returns a flavor by id.
func (w *World) Flavor(id string) (Flavor, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	f, ok := w.flavors.get(id)
	if !ok {
		return Flavor{}, &ErrNotFound{"flavor", id}
	}
	return *f, nil
}

// Flavors lists the flavors.
func (w *World) Flavors() []Flavor {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return values(w.flavors.list(nil))
}

// CreateServer adds an ACTIVE server with a port on each network of nics
// (each port with its NSX logical port tagged with the server's id).
func (w *World) CreateServer(s Server, nics []NIC) (Server, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.ID == "" {
		s.ID = NewID()
	}
	if s.FlavorID != "" {
		if _, ok := w.flavors.get(s.FlavorID); !ok {
			return Server{}, &ErrBadRequest{fmt.Sprintf("Flavor %s could not be found.", s.FlavorID)}
		}
	}
	if s.AvailabilityZone == "" {
		s.AvailabilityZone = "nova"
	}
	if s.Metadata == nil {
		s.Metadata = map[string]string{}
	}
	s.Status = "ACTIVE"
	s.HostID = NewHexID()[:24]
	s.CreatedAt, s.UpdatedAt = w.now().UTC(), w.now().UTC()
	var made []string
	for _, nic := range nics {
		port := Port{NetworkID: nic.NetworkID, DeviceID: s.ID, DeviceOwner: "compute:" + s.AvailabilityZone, ProjectID: s.ProjectID}
		if nic.FixedIP != "" {
			n, ok := w.networks.get(nic.NetworkID)
			if !ok || len(n.SubnetIDs) == 0 {
				return Server{}, &ErrBadRequest{fmt.Sprintf("Network %s has no subnet for fixed IP %s", nic.NetworkID, nic.FixedIP)}
			}
			port.FixedIPs = []FixedIP{{SubnetID: n.SubnetIDs[0], IPAddress: nic.FixedIP}}
		}
		p, err := w.createPort(port)
		if err != nil {
			for _, id := range made {
				_ = w.deletePort(id)
			}
			return Server{}, err
		}
		made = append(made, p.ID)
	}
	w.servers.put(s.ID, w.nextSeq(), &s)
	w.changed("server", s.ID)
	return cloneServer(&s), nil
}

func cloneServer(s *Server) Server {
	c := *s
	c.Metadata = make(map[string]string, len(s.Metadata))
	for k, v := range s.Metadata {
		c.Metadata[k] = v
	}
	c.Attachments = append([]VolumeAttachment(nil), s.Attachments...)
	return c
}

// Server returns a server by id.
func (w *World) Server(id string) (Server, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	s, ok := w.servers.get(id)
	if !ok {
		return Server{}, &ErrNotFound{"server", id}
	}
	return cloneServer(s), nil
}

// Servers lists the servers keep selects, in creation order.
func (w *World) Servers(keep func(*Server) bool) []Server {
	w.mu.RLock()
	defer w.mu.RUnlock()
	list := w.servers.list(keep)
	out := make([]Server, len(list))
	for i, s := range list {
		out[i] = cloneServer(s)
	}
	return out
}

// DeleteServer removes a server, its ports and detaches its volumes.
func (w *World) DeleteServer(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.servers.get(id)
	if !ok {
		return &ErrNotFound{"server", id}
	}
	for _, a := range s.Attachments {
		if v, ok := w.volumes.get(a.VolumeID); ok {
			w.detachVolume(v, id)
		}
	}
	for _, pid := range append([]string(nil), w.portsByDevice[id]...) {
		_ = w.deletePort(pid)
	}
	w.servers.del(id)
	w.changed("server", id)
	return nil
}

// Address is a server's address on a network, as Nova shows it.
type Address struct {
	Network string
	Addr    string
	Version int
	Type    string // fixed or floating
	MAC     string
}

// ServerAddresses returns a server's addresses by network name, fixed then
// floating, as Nova's "addresses" field.
func (w *World) ServerAddresses(id string) []Address {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []Address
	for _, pid := range w.portsByDevice[id] {
		p, ok := w.ports.get(pid)
		if !ok {
			continue
		}
		netName := p.NetworkID
		if n, ok := w.networks.get(p.NetworkID); ok && n.Name != "" {
			netName = n.Name
		}
		for _, fip := range p.FixedIPs {
			version := 4
			if s, ok := w.subnets.get(fip.SubnetID); ok {
				version = s.IPVersion
			}
			out = append(out, Address{Network: netName, Addr: fip.IPAddress, Version: version, Type: "fixed", MAC: p.MACAddress})
		}
		for _, f := range w.floatingIPs.list(func(f *FloatingIP) bool { return f.PortID == pid }) {
			out = append(out, Address{Network: netName, Addr: f.FloatingIPAddress, Version: 4, Type: "floating", MAC: p.MACAddress})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Network < out[j].Network })
	return out
}
