package sim

import (
	"fmt"
	"net/http"
	"time"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/fault"
	"github.com/epks/epks/pkg/sim/model"
)

// controlHandler is viosim's own API at /control/v1, for tests, benchmarks
// and people: read the model, count requests, inject faults, change the
// world as someone behind the clients' backs would. It needs no token: the
// simulator listens on loopback only.
func (s *Server) controlHandler() http.Handler {
	mux := api.NewMux(api.Control)
	p := "/control/v1"
	none := http.StatusNoContent
	mux.HandleFunc("GET "+p+"/model", get(func(*http.Request) (any, error) { return s.Snapshot(), nil }))
	mux.HandleFunc("GET "+p+"/nsx/ports", get(func(r *http.Request) (any, error) { return s.NSXPorts(portAPI(r)), nil }))
	mux.HandleFunc("PUT "+p+"/nsx/ports/{id}/tags", api.Handle(api.Control, none, func(r *http.Request, tags *[]model.Tag) (any, error) {
		return nil, s.World.SetPortTags(portAPI(r), r.PathValue("id"), *tags)
	}))
	mux.HandleFunc("PUT "+p+"/nsx/limits", api.Handle(api.Control, none, func(_ *http.Request, q *struct {
		Rate        float64 `json:"rate"`
		Concurrency int     `json:"concurrency"`
	}) (any, error) {
		s.NSXManager.SetLimits(q.Rate, q.Concurrency)
		return nil, nil
	}))
	mux.HandleFunc("PUT "+p+"/nsx/revision-race", api.Handle(api.Control, none, func(_ *http.Request, q *struct {
		Probability float64 `json:"probability"`
		Writes      int     `json:"writes"`
	}) (any, error) {
		if q.Probability < 0 || q.Probability > 1 || q.Writes < 0 {
			return nil, api.Errorf(http.StatusBadRequest, `give {"probability": 0..1} and/or {"writes": n >= 0}`)
		}
		s.NSXManager.SetRevisionRace(q.Probability)
		s.NSXManager.RaceWrites(q.Writes)
		return nil, nil
	}))
	mux.HandleFunc("GET "+p+"/requests", get(func(*http.Request) (any, error) { return s.RequestCounts(), nil }))
	mux.HandleFunc("DELETE "+p+"/requests", api.Handle(api.Control, none, func(*http.Request, *struct{}) (any, error) {
		s.ResetRequestCounts()
		return nil, nil
	}))
	mux.HandleFunc("GET "+p+"/faults", get(func(*http.Request) (any, error) { return s.Faults.Rules(), nil }))
	mux.HandleFunc("POST "+p+"/faults", api.Handle(api.Control, http.StatusCreated, func(_ *http.Request, rule *fault.Rule) (any, error) {
		added, err := s.Faults.Add(*rule)
		if err != nil {
			return nil, api.Errorf(http.StatusBadRequest, "%v", err)
		}
		return added, nil
	}))
	mux.HandleFunc("DELETE "+p+"/faults", api.Handle(api.Control, none, func(*http.Request, *struct{}) (any, error) {
		s.Faults.Clear()
		return nil, nil
	}))
	mux.HandleFunc("DELETE "+p+"/faults/{id}", api.Handle(api.Control, none, func(r *http.Request, _ *struct{}) (any, error) {
		if !s.Faults.Remove(r.PathValue("id")) {
			return nil, api.Errorf(http.StatusNotFound, "no fault %s", r.PathValue("id"))
		}
		return nil, nil
	}))
	mux.HandleFunc("GET "+p+"/transitions", get(func(*http.Request) (any, error) { return s.transitions(), nil }))
	// A row's own delay ("0s": none, done by the next request); without
	// one, the row goes back to the default delay.
	mux.HandleFunc("PUT "+p+"/transitions", api.Handle(api.Control, none, func(_ *http.Request, q *struct {
		Kind  string          `json:"kind"`
		From  string          `json:"from"`
		Delay *fault.Duration `json:"delay"`
	}) (any, error) {
		if q.Delay == nil {
			return nil, s.World.ResetTransitionDelay(q.Kind, q.From)
		}
		return nil, s.World.SetTransitionDelay(q.Kind, q.From, time.Duration(*q.Delay))
	}))
	mux.HandleFunc("PUT "+p+"/transition", api.Handle(api.Control, none, func(_ *http.Request, q *struct {
		Delay fault.Duration `json:"delay"`
	}) (any, error) {
		if q.Delay < 0 {
			return nil, api.Errorf(http.StatusBadRequest, `give {"delay": "2s"}`)
		}
		s.World.SetTransition(time.Duration(q.Delay))
		return nil, nil
	}))
	mux.HandleFunc("GET "+p+"/transitions/faults", get(func(*http.Request) (any, error) { return s.lifecycleFaults(), nil }))
	mux.HandleFunc("POST "+p+"/transitions/faults", api.Handle(api.Control, http.StatusCreated, func(_ *http.Request, q *LifecycleFaultInfo) (any, error) {
		f, err := s.World.AddLifecycleFault(model.LifecycleFault{Kind: q.Kind, Object: q.Object, From: q.From, To: q.To, Count: q.Count})
		if err != nil {
			return nil, err
		}
		return lifecycleFaultInfo(f, nil), nil
	}))
	mux.HandleFunc("DELETE "+p+"/transitions/faults/{id}", api.Handle(api.Control, none, func(r *http.Request, _ *struct{}) (any, error) {
		if !s.World.RemoveLifecycleFault(r.PathValue("id")) {
			return nil, api.Errorf(http.StatusNotFound, "no lifecycle fault %s", r.PathValue("id"))
		}
		return nil, nil
	}))
	mux.HandleFunc("POST "+p+"/tokens/expire", api.Handle(api.Control, http.StatusOK, func(*http.Request, *struct{}) (any, error) {
		return map[string]any{"expired": s.World.ExpireTokens()}, nil
	}))
	mux.HandleFunc("PUT "+p+"/tokens/ttl", api.Handle(api.Control, none, func(_ *http.Request, q *struct {
		TTL fault.Duration `json:"ttl"`
	}) (any, error) {
		if q.TTL <= 0 {
			return nil, api.Errorf(http.StatusBadRequest, `give {"ttl": "10m"}`)
		}
		s.SetTokenTTL(time.Duration(q.TTL))
		return nil, nil
	}))
	mux.HandleFunc("POST "+p+"/servers", api.Handle(api.Control, http.StatusCreated, func(_ *http.Request, q *struct {
		Name     string   `json:"name"`
		Networks []string `json:"networks"`
	}) (any, error) {
		if q.Name == "" {
			return nil, api.Errorf(http.StatusBadRequest, `give {"name": ..., "networks": [...]}`)
		}
		sv, err := s.AddServer(q.Name, q.Networks...)
		if err != nil {
			return nil, api.Errorf(http.StatusBadRequest, "%v", err)
		}
		return ServerInfo{ID: sv.ID, Name: sv.Name, Status: sv.Status}, nil
	}))
	mux.HandleFunc("DELETE "+p+"/servers/{name}", api.Handle(api.Control, none, func(r *http.Request, _ *struct{}) (any, error) {
		sv, ok := s.ServerByName(r.PathValue("name"))
		if !ok {
			return nil, api.Errorf(http.StatusNotFound, "no server %s", r.PathValue("name"))
		}
		if err := s.World.DeleteServer(sv.ID); err != nil {
			return nil, api.Errorf(http.StatusConflict, "%v", err)
		}
		return nil, nil
	}))
	return mux
}

// get is a control API read.
func get(fn func(r *http.Request) (any, error)) http.HandlerFunc {
	return api.Get(api.Control, fn)
}

// TransitionInfo is a row of the transition table.
type TransitionInfo struct {
	Kind  string         `json:"kind"`
	From  string         `json:"from"`
	To    string         `json:"to,omitempty"`
	Delay fault.Duration `json:"delay"`
	Note  string         `json:"note,omitempty"`
}

func (s *Server) transitions() []TransitionInfo {
	var out []TransitionInfo
	for _, t := range s.World.Transitions() {
		out = append(out, TransitionInfo{Kind: t.Kind, From: t.From, To: t.To, Delay: fault.Duration(t.Delay), Note: t.Note})
	}
	return out
}

// LifecycleFaultInfo is a lifecycle fault as the control API reads and
// writes it: without to, the objects stay in from.
type LifecycleFaultInfo struct {
	ID     string `json:"id,omitempty"`
	Kind   string `json:"kind"`
	Object string `json:"object,omitempty"`
	From   string `json:"from"`
	To     string `json:"to,omitempty"`
	Count  int    `json:"count,omitempty"`
	Hits   int    `json:"hits"`
	// Held are the objects the fault holds in from.
	Held []string `json:"held,omitempty"`
}

func lifecycleFaultInfo(f model.LifecycleFault, held []string) LifecycleFaultInfo {
	return LifecycleFaultInfo{ID: f.ID, Kind: f.Kind, Object: f.Object, From: f.From, To: f.To, Count: f.Count, Hits: f.Hits, Held: held}
}

func (s *Server) lifecycleFaults() []LifecycleFaultInfo {
	held := map[string][]string{}
	for _, h := range s.World.Held() {
		held[h.Fault] = append(held[h.Fault], h.Object)
	}
	out := []LifecycleFaultInfo{}
	for _, f := range s.World.LifecycleFaults() {
		out = append(out, lifecycleFaultInfo(f, held[f.ID]))
	}
	return out
}

// Snapshot is the model as the control API shows it.
type Snapshot struct {
	Servers       []ServerInfo       `json:"servers"`
	Volumes       []VolumeInfo       `json:"volumes"`
	Snapshots     []SnapshotInfo     `json:"snapshots"`
	LoadBalancers []LoadBalancerInfo `json:"loadBalancers"`
	FloatingIPs   []string           `json:"floatingIPs"`
}

// ServerInfo is a server with its ports.
type ServerInfo struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Ports  []string `json:"ports"`
	Status string   `json:"status"`
}

// VolumeInfo is a volume.
type VolumeInfo struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Size       int      `json:"size"`
	Status     string   `json:"status"`
	SnapshotID string   `json:"snapshotID,omitempty"`
	AttachedTo []string `json:"attachedTo,omitempty"`
}

// SnapshotInfo is a snapshot.
type SnapshotInfo struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	VolumeID string `json:"volumeID"`
	Status   string `json:"status"`
}

// LoadBalancerInfo is a load balancer with its listeners' ports and members.
type LoadBalancerInfo struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	VIP        string   `json:"vip"`
	Status     string   `json:"status"`
	FloatingIP string   `json:"floatingIP,omitempty"`
	Ports      []int    `json:"ports"`
	Members    []string `json:"members"`
}

// Snapshot reads the model.
func (s *Server) Snapshot() Snapshot {
	w := s.World
	var out Snapshot
	for _, sv := range w.Servers(nil) {
		info := ServerInfo{ID: sv.ID, Name: sv.Name, Status: sv.Status}
		for _, p := range w.PortsOfDevice(sv.ID) {
			info.Ports = append(info.Ports, p.ID)
		}
		out.Servers = append(out.Servers, info)
	}
	for _, v := range w.Volumes(nil) {
		info := VolumeInfo{ID: v.ID, Name: v.Name, Size: v.Size, Status: v.Status, SnapshotID: v.SnapshotID}
		for _, a := range v.Attachments {
			if !a.Attached() {
				continue
			}
			info.AttachedTo = append(info.AttachedTo, a.ServerID)
		}
		out.Volumes = append(out.Volumes, info)
	}
	for _, sn := range w.Snapshots(nil) {
		out.Snapshots = append(out.Snapshots, SnapshotInfo{ID: sn.ID, Name: sn.Name, VolumeID: sn.VolumeID, Status: sn.Status})
	}
	for _, lb := range w.LoadBalancers(nil) {
		info := LoadBalancerInfo{ID: lb.ID, Name: lb.Name, VIP: lb.VipAddress, Status: lb.ProvisioningStatus}
		for _, f := range w.FloatingIPs(func(f *model.FloatingIP) bool { return f.PortID == lb.VipPortID }) {
			info.FloatingIP = f.FloatingIPAddress
		}
		for _, l := range w.Listeners(func(l *model.Listener) bool { return l.LoadBalancerID == lb.ID }) {
			info.Ports = append(info.Ports, l.ProtocolPort)
		}
		for _, m := range w.Members(nil) {
			if p, err := w.Pool(m.PoolID); err == nil && p.LoadBalancerID == lb.ID {
				info.Members = append(info.Members, fmt.Sprintf("%s:%d", m.Address, m.ProtocolPort))
			}
		}
		out.LoadBalancers = append(out.LoadBalancers, info)
	}
	for _, f := range w.FloatingIPs(nil) {
		out.FloatingIPs = append(out.FloatingIPs, f.FloatingIPAddress)
	}
	return out
}

// NSXPortInfo is an NSX port with what tests check.
type NSXPortInfo struct {
	ID           string      `json:"id"`
	AttachmentID string      `json:"attachmentID"`
	ServerID     string      `json:"serverID,omitempty"`
	Revision     int64       `json:"revision"`
	Tags         []model.Tag `json:"tags"`
}

// NSXPorts returns every NSX port of an API with its tags.
func (s *Server) NSXPorts(a model.PortAPI) []NSXPortInfo {
	var out []NSXPortInfo
	for _, id := range s.World.NSXPortIDs(a) {
		body, err := s.World.GetPort(a, id)
		if err != nil {
			continue
		}
		info := NSXPortInfo{ID: id, Tags: model.TagsOf(body)}
		if att, ok := body["attachment"].(map[string]any); ok {
			info.AttachmentID, _ = att["id"].(string)
		}
		if rev, ok := body["_revision"].(int64); ok {
			info.Revision = rev
		}
		for _, t := range info.Tags {
			if t.Scope == "os-instance-uuid" {
				info.ServerID = t.Tag
			}
		}
		out = append(out, info)
	}
	return out
}

func portAPI(r *http.Request) model.PortAPI {
	if r.URL.Query().Get("api") == "policy" {
		return model.PolicyAPI
	}
	return model.ManagerAPI
}

// AddServer creates a server in the seeded project with a NIC on each
// network named (by name), as a new node of the cluster.
func (s *Server) AddServer(name string, networks ...string) (model.Server, error) {
	var nics []model.NIC
	for _, n := range networks {
		net, ok := s.Seeded.Networks[n]
		if !ok {
			return model.Server{}, fmt.Errorf("no network %q in the seed", n)
		}
		nics = append(nics, model.NIC{NetworkID: net.ID})
	}
	var flavor string
	if fl := s.World.Flavors(); len(fl) > 0 {
		flavor = fl[0].ID
	}
	return s.World.CreateServer(model.Server{Name: name, ProjectID: s.Seeded.Project.ID, FlavorID: flavor}, nics)
}

// ServerByName finds a server.
func (s *Server) ServerByName(name string) (model.Server, bool) {
	list := s.World.Servers(func(sv *model.Server) bool { return sv.Name == name })
	if len(list) == 0 {
		return model.Server{}, false
	}
	return list[0], true
}
