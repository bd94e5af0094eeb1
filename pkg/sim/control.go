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
	mux := http.NewServeMux()
	p := "/control/v1"
	mux.HandleFunc("GET "+p+"/model", s.ctlModel)
	mux.HandleFunc("GET "+p+"/nsx/ports", s.ctlNSXPorts)
	mux.HandleFunc("PUT "+p+"/nsx/ports/{id}/tags", s.ctlSetTags)
	mux.HandleFunc("PUT "+p+"/nsx/limits", s.ctlLimits)
	mux.HandleFunc("PUT "+p+"/nsx/revision-race", s.ctlRace)
	mux.HandleFunc("GET "+p+"/requests", s.ctlRequests)
	mux.HandleFunc("DELETE "+p+"/requests", s.ctlResetRequests)
	mux.HandleFunc("GET "+p+"/faults", s.ctlFaults)
	mux.HandleFunc("POST "+p+"/faults", s.ctlAddFault)
	mux.HandleFunc("DELETE "+p+"/faults", s.ctlClearFaults)
	mux.HandleFunc("DELETE "+p+"/faults/{id}", s.ctlRemoveFault)
	mux.HandleFunc("POST "+p+"/tokens/expire", s.ctlExpireTokens)
	mux.HandleFunc("PUT "+p+"/tokens/ttl", s.ctlTokenTTL)
	mux.HandleFunc("PUT "+p+"/transition", s.ctlTransition)
	mux.HandleFunc("POST "+p+"/servers", s.ctlAddServer)
	mux.HandleFunc("DELETE "+p+"/servers/{name}", s.ctlDeleteServer)
	return mux
}

func ctlError(w http.ResponseWriter, status int, err error) {
	api.WriteJSON(w, status, map[string]any{"error": err.Error()})
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

func (s *Server) ctlModel(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusOK, s.Snapshot())
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

func (s *Server) ctlNSXPorts(w http.ResponseWriter, r *http.Request) {
	api.WriteJSON(w, http.StatusOK, s.NSXPorts(portAPI(r)))
}

func (s *Server) ctlSetTags(w http.ResponseWriter, r *http.Request) {
	var tags []model.Tag
	if err := api.ReadJSON(r, &tags); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	if err := s.World.SetPortTags(portAPI(r), r.PathValue("id"), tags); err != nil {
		ctlError(w, http.StatusNotFound, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlLimits(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Rate        float64 `json:"rate"`
		Concurrency int     `json:"concurrency"`
	}
	if err := api.ReadJSON(r, &req); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	s.NSXManager.SetLimits(req.Rate, req.Concurrency)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlRace(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Probability float64 `json:"probability"`
		Writes      int     `json:"writes"`
	}
	if err := api.ReadJSON(r, &req); err != nil || req.Probability < 0 || req.Probability > 1 || req.Writes < 0 {
		ctlError(w, http.StatusBadRequest, fmt.Errorf("give {\"probability\": 0..1} and/or {\"writes\": n >= 0}"))
		return
	}
	s.NSXManager.SetRevisionRace(req.Probability)
	s.NSXManager.RaceWrites(req.Writes)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlRequests(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusOK, s.RequestCounts())
}

func (s *Server) ctlResetRequests(w http.ResponseWriter, _ *http.Request) {
	s.ResetRequestCounts()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlFaults(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusOK, s.Faults.Rules())
}

func (s *Server) ctlAddFault(w http.ResponseWriter, r *http.Request) {
	var rule fault.Rule
	if err := api.ReadJSON(r, &rule); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	added, err := s.Faults.Add(rule)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, added)
}

func (s *Server) ctlClearFaults(w http.ResponseWriter, _ *http.Request) {
	s.Faults.Clear()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlRemoveFault(w http.ResponseWriter, r *http.Request) {
	if !s.Faults.Remove(r.PathValue("id")) {
		ctlError(w, http.StatusNotFound, fmt.Errorf("no fault %s", r.PathValue("id")))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlExpireTokens(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusOK, map[string]any{"expired": s.World.ExpireTokens()})
}

func (s *Server) ctlTokenTTL(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TTL fault.Duration `json:"ttl"`
	}
	if err := api.ReadJSON(r, &req); err != nil || req.TTL <= 0 {
		ctlError(w, http.StatusBadRequest, fmt.Errorf("give {\"ttl\": \"10m\"}"))
		return
	}
	s.SetTokenTTL(time.Duration(req.TTL))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlTransition(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Delay fault.Duration `json:"delay"`
	}
	if err := api.ReadJSON(r, &req); err != nil || req.Delay < 0 {
		ctlError(w, http.StatusBadRequest, fmt.Errorf("give {\"delay\": \"2s\"}"))
		return
	}
	s.World.SetTransition(time.Duration(req.Delay))
	w.WriteHeader(http.StatusNoContent)
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

func (s *Server) ctlAddServer(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     string   `json:"name"`
		Networks []string `json:"networks"`
	}
	if err := api.ReadJSON(r, &req); err != nil || req.Name == "" {
		ctlError(w, http.StatusBadRequest, fmt.Errorf("give {\"name\": ..., \"networks\": [...]}"))
		return
	}
	sv, err := s.AddServer(req.Name, req.Networks...)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, ServerInfo{ID: sv.ID, Name: sv.Name, Status: sv.Status})
}

func (s *Server) ctlDeleteServer(w http.ResponseWriter, r *http.Request) {
	sv, ok := s.ServerByName(r.PathValue("name"))
	if !ok {
		ctlError(w, http.StatusNotFound, fmt.Errorf("no server %s", r.PathValue("name")))
		return
	}
	if err := s.World.DeleteServer(sv.ID); err != nil {
		ctlError(w, http.StatusConflict, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
