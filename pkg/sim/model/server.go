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
	// ExtraSpecs are the flavor's extra specs (Nova shows them from
	// microversion 2.61).
	ExtraSpecs map[string]string
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
	// ConfigDrive and UserData (base64, as the API takes it) are what
	// the server boots with.
	ConfigDrive bool
	UserData    string
	Tags        []string
	// ServerGroupID is the group the server was scheduled in.
	ServerGroupID string
	// Booted servers run as machines (viosim --boot qemu): their status
	// follows the machine, set with UpdateServer, instead of becoming
	// ACTIVE after the transition delay.
	Booted bool
	// Fault is why the server is in ERROR, as Nova's fault message.
	Fault string
	// ownPorts are the ports Nova made for it (deleted with it); ports
	// passed in are only unbound.
	ownPorts  []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// VolumeAttachment is a volume attached to a server.
type VolumeAttachment struct {
	ID       string // Nova's id of the attachment: the volume id
	VolumeID string
	ServerID string
	Device   string
	// AttachmentID is Cinder's id of the attachment (the attachments API).
	AttachmentID string
	// Status is Cinder's attach status: reserved (made through the
	// attachments API without a connector), attaching, then attached.
	Status     string
	AttachedAt time.Time
	// Connector is the host's connector an attachments API client gave
	// (nil for Nova's attaches and reserved attachments).
	Connector map[string]any
	// Mode is the attach mode, rw unless a client asked for ro.
	Mode string
}

// Attached reports whether Cinder has completed the attachment.
func (a VolumeAttachment) Attached() bool { return a.Status == AttachStatusAttached }

// Cinder's attach statuses.
const (
	AttachStatusReserved  = "reserved"
	AttachStatusAttaching = "attaching"
	AttachStatusAttached  = "attached"
)

// NIC asks for a port of a server on a network, optionally with an address.
type NIC struct {
	NetworkID string
	FixedIP   string
	// PortID binds an existing port instead (networks[].port).
	PortID string
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
	if s.Status == "" {
		s.Status = "ACTIVE"
	}
	s.HostID = NewHexID()[:24]
	s.CreatedAt, s.UpdatedAt = w.now().UTC(), w.now().UTC()
	for _, nic := range nics {
		if nic.PortID == "" {
			continue
		}
		p, ok := w.ports.get(nic.PortID)
		if !ok {
			return Server{}, &ErrBadRequest{fmt.Sprintf("Port %s could not be found.", nic.PortID)}
		}
		if p.DeviceID != "" {
			return Server{}, &ErrConflict{fmt.Sprintf("Port %s is still in use.", nic.PortID)}
		}
	}
	var made []string
	for _, nic := range nics {
		if nic.PortID != "" {
			p, _ := w.ports.get(nic.PortID)
			p.DeviceID, p.DeviceOwner, p.Status, p.UpdatedAt = s.ID, "compute:"+s.AvailabilityZone, "ACTIVE", w.now().UTC()
			w.portsByDevice[s.ID] = append(w.portsByDevice[s.ID], p.ID)
			w.changed("port", p.ID)
			w.updateLogicalPortTags(p)
			continue
		}
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
	s.ownPorts = made
	if s.ServerGroupID != "" {
		if g, ok := w.serverGroups.get(s.ServerGroupID); ok {
			// Every server has a host of its own (anti-affinity holds),
			// but those of an affinity group share their first's.
			if first, ok := w.servers.get(firstOf(g.Members)); ok && (g.Policy == "affinity" || g.Policy == "soft-affinity") {
				s.HostID = first.HostID
			}
			g.Members = append(g.Members, s.ID)
		}
	}
	if s.Status == "BUILD" && !s.Booted {
		id := s.ID
		w.transit(KindServer, id, "BUILD", func() {
			if sv, ok := w.servers.get(id); ok && sv.Status == "BUILD" {
				sv.Status, sv.UpdatedAt = "ACTIVE", w.now().UTC()
				w.changed("server", id)
			}
		})
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
	c.Tags = append([]string(nil), s.Tags...)
	c.ownPorts = nil
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
	own := map[string]bool{}
	for _, pid := range s.ownPorts {
		own[pid] = true
	}
	for _, pid := range append([]string(nil), w.portsByDevice[id]...) {
		if own[pid] {
			_ = w.deletePort(pid)
			continue
		}
		if p, ok := w.ports.get(pid); ok {
			w.unindexDevice(p)
			p.DeviceID, p.DeviceOwner, p.Status, p.UpdatedAt = "", "", "DOWN", w.now().UTC()
			w.changed("port", pid)
			w.updateLogicalPortTags(p)
		}
	}
	for _, g := range w.serverGroups.list(nil) {
		for i, m := range g.Members {
			if m == id {
				g.Members = append(g.Members[:i:i], g.Members[i+1:]...)
				break
			}
		}
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

func firstOf(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// UpdateServer changes a server with fn (its metadata, tags, name).
func (w *World) UpdateServer(id string, fn func(s *Server) error) (Server, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.servers.get(id)
	if !ok {
		return Server{}, &ErrNotFound{"server", id}
	}
	c := cloneServer(s)
	c.ownPorts = s.ownPorts
	if err := fn(&c); err != nil {
		return Server{}, err
	}
	c.UpdatedAt = w.now().UTC()
	*s = c
	w.changed("server", id)
	return cloneServer(s), nil
}
