package sim

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

// What epks cluster create and delete need that viosim did not serve yet,
// kept minimal and apart: Nova key pairs, server groups, limits and
// servers on pre-made ports with their user data; a Glance image list.
// The viosim branch brings these properly; this file goes when it lands.

// Glance is the image service's name in fault rules and URL.
const Glance = "glance"

// infraShim holds what the model does not.
type infraShim struct {
	mu       sync.Mutex
	images   map[string]shimImage // by ID
	keypairs map[string]string    // name → public key
	groups   map[string]*shimGroup
	userData map[string]string // server ID → base64 user data
	premade  map[string][]string
}

type shimImage struct{ ID, Name string }

type shimGroup struct {
	ID, Name, Project string
	Policies, Members []string
}

func newInfraShim() *infraShim {
	return &infraShim{images: map[string]shimImage{}, keypairs: map[string]string{}, groups: map[string]*shimGroup{},
		userData: map[string]string{}, premade: map[string][]string{}}
}

// AddImage adds an active Glance image and returns its ID.
func (s *Server) AddImage(name string) string {
	s.shim.mu.Lock()
	defer s.shim.mu.Unlock()
	id := model.NewID()
	s.shim.images[id] = shimImage{ID: id, Name: name}
	return id
}

// AddKeyPair adds a Nova key pair.
func (s *Server) AddKeyPair(name, publicKey string) {
	s.shim.mu.Lock()
	defer s.shim.mu.Unlock()
	s.shim.keypairs[name] = publicKey
}

// UserData returns the user data (base64, as Nova takes it) a server was
// created with.
func (s *Server) UserData(serverID string) string {
	s.shim.mu.Lock()
	defer s.shim.mu.Unlock()
	return s.shim.userData[serverID]
}

// ServerGroups returns the server groups' names and members.
func (s *Server) ServerGroups() map[string][]string {
	s.shim.mu.Lock()
	defer s.shim.mu.Unlock()
	out := map[string][]string{}
	for _, g := range s.shim.groups {
		out[g.Name] = append([]string(nil), g.Members...)
	}
	return out
}

func (s *Server) novaShim(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /servers", s.shimCreateServer)
	mux.HandleFunc("DELETE /servers/{id}", func(w http.ResponseWriter, r *http.Request) { s.shimDeleteServer(w, r, next) })
	mux.HandleFunc("GET /os-keypairs/{name}", s.shimGetKeyPair)
	mux.HandleFunc("POST /os-keypairs", s.shimCreateKeyPair)
	mux.HandleFunc("GET /os-server-groups", s.shimListGroups)
	mux.HandleFunc("POST /os-server-groups", s.shimCreateGroup)
	mux.HandleFunc("DELETE /os-server-groups/{id}", s.shimDeleteGroup)
	mux.HandleFunc("GET /limits", s.shimLimits)
	mux.Handle("/", next)
	return shimAuth(s.World, api.NovaCinder, mux, next)
}

// shimAuth checks the token of the shim's own routes and passes the
// others (which check it themselves) on.
func shimAuth(world *model.World, d api.Dialect, mux *http.ServeMux, next http.Handler) http.Handler {
	authed := api.TokenAuth(world, d, mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "/" {
			next.ServeHTTP(w, r)
			return
		}
		authed.ServeHTTP(w, r)
	})
}

func (s *Server) novaError(w http.ResponseWriter, status int, msg string) {
	api.ErrorStatus(w, api.NovaCinder, status, msg)
}

func (s *Server) shimCreateServer(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Server struct {
			Name      string            `json:"name"`
			FlavorRef string            `json:"flavorRef"`
			ImageRef  string            `json:"imageRef"`
			KeyName   string            `json:"key_name"`
			UserData  string            `json:"user_data"`
			Metadata  map[string]string `json:"metadata"`
			Networks  []struct {
				UUID    string `json:"uuid"`
				Port    string `json:"port"`
				FixedIP string `json:"fixed_ip"`
			} `json:"networks"`
		} `json:"server"`
		Hints struct {
			Group string `json:"group"`
		} `json:"os:scheduler_hints"`
	}
	if err := api.ReadJSON(r, &req); err != nil {
		s.novaError(w, http.StatusBadRequest, err.Error())
		return
	}
	sv := req.Server
	if sv.Name == "" {
		s.novaError(w, http.StatusBadRequest, "Invalid input for field/attribute name.")
		return
	}
	if len(sv.UserData) > 65535 {
		s.novaError(w, http.StatusBadRequest, "Invalid input for field/attribute user_data. Value: too long.")
		return
	}
	s.shim.mu.Lock()
	_, imageOK := s.shim.images[sv.ImageRef]
	_, keyOK := s.shim.keypairs[sv.KeyName]
	group := s.shim.groups[req.Hints.Group]
	s.shim.mu.Unlock()
	if sv.ImageRef != "" && !imageOK {
		s.novaError(w, http.StatusBadRequest, fmt.Sprintf("Image %s could not be found.", sv.ImageRef))
		return
	}
	if sv.KeyName != "" && !keyOK {
		s.novaError(w, http.StatusBadRequest, "Invalid key_name provided.")
		return
	}
	if req.Hints.Group != "" && group == nil {
		s.novaError(w, http.StatusBadRequest, fmt.Sprintf("Invalid server group %s", req.Hints.Group))
		return
	}
	var nics []model.NIC
	var premade []string
	for _, n := range sv.Networks {
		if n.Port == "" {
			nics = append(nics, model.NIC{NetworkID: n.UUID, FixedIP: n.FixedIP})
			continue
		}
		p, err := s.World.Port(n.Port)
		if err != nil {
			s.novaError(w, http.StatusBadRequest, fmt.Sprintf("Port %s could not be found.", n.Port))
			return
		}
		if p.DeviceID != "" {
			s.novaError(w, http.StatusConflict, fmt.Sprintf("Port %s is still in use.", n.Port))
			return
		}
		premade = append(premade, p.ID)
	}
	tok := api.TokenOf(r.Context())
	created, err := s.World.CreateServer(model.Server{Name: sv.Name, ProjectID: tok.ProjectID, UserID: tok.UserID,
		FlavorID: sv.FlavorRef, ImageID: sv.ImageRef, KeyName: sv.KeyName, Metadata: sv.Metadata}, nics)
	if err != nil {
		api.Error(w, api.NovaCinder, err)
		return
	}
	owner := "compute:nova"
	for _, id := range premade {
		dev := created.ID
		if _, err := s.World.UpdatePort(id, model.PortUpdate{DeviceID: &dev, DeviceOwner: &owner}); err != nil {
			api.Error(w, api.NovaCinder, err)
			return
		}
	}
	s.shim.mu.Lock()
	s.shim.userData[created.ID] = sv.UserData
	s.shim.premade[created.ID] = premade
	if group != nil {
		group.Members = append(group.Members, created.ID)
	}
	s.shim.mu.Unlock()
	api.WriteJSON(w, http.StatusAccepted, map[string]any{"server": map[string]any{
		"id": created.ID, "links": []any{map[string]any{"rel": "self", "href": s.URL(Nova) + "/servers/" + created.ID}},
		"OS-DCF:diskConfig": "MANUAL", "security_groups": []any{map[string]any{"name": "default"}}, "adminPass": "viosim",
	}})
}

// shimDeleteServer detaches the ports the user made before Nova deletes
// the server (Nova deletes only the ports it made itself).
func (s *Server) shimDeleteServer(w http.ResponseWriter, r *http.Request, next http.Handler) {
	id := r.PathValue("id")
	s.shim.mu.Lock()
	premade := s.shim.premade[id]
	delete(s.shim.premade, id)
	delete(s.shim.userData, id)
	for _, g := range s.shim.groups {
		var keep []string
		for _, m := range g.Members {
			if m != id {
				keep = append(keep, m)
			}
		}
		g.Members = keep
	}
	s.shim.mu.Unlock()
	if _, err := s.World.Server(id); err == nil {
		empty := ""
		for _, pid := range premade {
			_, _ = s.World.UpdatePort(pid, model.PortUpdate{DeviceID: &empty, DeviceOwner: &empty})
		}
	}
	next.ServeHTTP(w, r)
}

func (s *Server) shimGetKeyPair(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.shim.mu.Lock()
	key, ok := s.shim.keypairs[name]
	s.shim.mu.Unlock()
	if !ok {
		s.novaError(w, http.StatusNotFound, fmt.Sprintf("Keypair %s not found for user %s", name, api.TokenOf(r.Context()).UserID))
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"keypair": map[string]any{"name": name, "public_key": key, "type": "ssh",
		"fingerprint": "00:00", "user_id": api.TokenOf(r.Context()).UserID, "deleted": false, "id": 1,
		"created_at": time.Now().UTC().Format("2006-01-02T15:04:05.000000")}})
}

func (s *Server) shimCreateKeyPair(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Keypair struct {
			Name      string `json:"name"`
			PublicKey string `json:"public_key"`
		} `json:"keypair"`
	}
	if err := api.ReadJSON(r, &req); err != nil || req.Keypair.Name == "" {
		s.novaError(w, http.StatusBadRequest, "Invalid input for field/attribute keypair.")
		return
	}
	s.AddKeyPair(req.Keypair.Name, req.Keypair.PublicKey)
	api.WriteJSON(w, http.StatusOK, map[string]any{"keypair": map[string]any{"name": req.Keypair.Name, "public_key": req.Keypair.PublicKey,
		"fingerprint": "00:00", "user_id": api.TokenOf(r.Context()).UserID, "type": "ssh"}})
}

func groupView(g *shimGroup) map[string]any {
	return map[string]any{"id": g.ID, "name": g.Name, "policies": g.Policies, "members": append([]string{}, g.Members...),
		"metadata": map[string]any{}, "project_id": g.Project}
}

func (s *Server) shimListGroups(w http.ResponseWriter, r *http.Request) {
	project := api.TokenOf(r.Context()).ProjectID
	s.shim.mu.Lock()
	defer s.shim.mu.Unlock()
	out := []any{}
	var ids []string
	for id, g := range s.shim.groups {
		if g.Project == project {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		out = append(out, groupView(s.shim.groups[id]))
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"server_groups": out})
}

func (s *Server) shimCreateGroup(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Group struct {
			Name     string   `json:"name"`
			Policies []string `json:"policies"`
			Policy   string   `json:"policy"`
		} `json:"server_group"`
	}
	if err := api.ReadJSON(r, &req); err != nil || req.Group.Name == "" {
		s.novaError(w, http.StatusBadRequest, "Invalid input for field/attribute server_group.")
		return
	}
	policies := req.Group.Policies
	if req.Group.Policy != "" {
		policies = []string{req.Group.Policy}
	}
	for _, p := range policies {
		if !strings.Contains(" affinity anti-affinity soft-affinity soft-anti-affinity ", " "+p+" ") {
			s.novaError(w, http.StatusBadRequest, fmt.Sprintf("Invalid input for field/attribute policies. Value: %s", p))
			return
		}
	}
	g := &shimGroup{ID: model.NewID(), Name: req.Group.Name, Project: api.TokenOf(r.Context()).ProjectID, Policies: policies}
	s.shim.mu.Lock()
	s.shim.groups[g.ID] = g
	s.shim.mu.Unlock()
	api.WriteJSON(w, http.StatusOK, map[string]any{"server_group": groupView(g)})
}

func (s *Server) shimDeleteGroup(w http.ResponseWriter, r *http.Request) {
	s.shim.mu.Lock()
	defer s.shim.mu.Unlock()
	id := r.PathValue("id")
	if _, ok := s.shim.groups[id]; !ok {
		s.novaError(w, http.StatusNotFound, fmt.Sprintf("Server group %s could not be found.", id))
		return
	}
	delete(s.shim.groups, id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) shimLimits(w http.ResponseWriter, r *http.Request) {
	project := api.TokenOf(r.Context()).ProjectID
	servers := s.World.Servers(func(sv *model.Server) bool { return sv.ProjectID == project })
	cores, ram := 0, 0
	for _, sv := range servers {
		if f, err := s.World.Flavor(sv.FlavorID); err == nil {
			cores += f.VCPUs
			ram += f.RAM
		}
	}
	q := s.World.Quotas(project, "compute")
	s.shim.mu.Lock()
	defer s.shim.mu.Unlock()
	groups := 0
	for _, g := range s.shim.groups {
		if g.Project == project {
			groups++
		}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": map[string]any{
		"maxTotalInstances": q["instances"], "totalInstancesUsed": len(servers),
		"maxTotalCores": q["cores"], "totalCoresUsed": cores,
		"maxTotalRAMSize": q["ram"], "totalRAMUsed": ram,
		"maxServerGroups": q["server_groups"], "totalServerGroupsUsed": groups,
		"maxTotalKeypairs": -1, "maxServerGroupMembers": -1, "maxSecurityGroups": -1, "maxTotalFloatingIps": -1,
	}}})
}

// glanceHandler serves /v2/images: the list with the name filter and one
// image.
func (s *Server) glanceHandler() http.Handler {
	view := func(img shimImage) map[string]any {
		return map[string]any{"id": img.ID, "name": img.Name, "status": "active", "visibility": "public",
			"disk_format": "qcow2", "container_format": "bare", "min_disk": 0, "min_ram": 0, "protected": false,
			"created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z", "tags": []string{},
			"self": "/v2/images/" + img.ID, "file": "/v2/images/" + img.ID + "/file", "schema": "/v2/schemas/image"}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/images", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		s.shim.mu.Lock()
		defer s.shim.mu.Unlock()
		var ids []string
		for id, img := range s.shim.images {
			if name == "" || img.Name == name {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		out := []any{}
		for _, id := range ids {
			out = append(out, view(s.shim.images[id]))
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"images": out, "schema": "/v2/schemas/images", "first": "/v2/images"})
	})
	mux.HandleFunc("GET /v2/images/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.shim.mu.Lock()
		img, ok := s.shim.images[r.PathValue("id")]
		s.shim.mu.Unlock()
		if !ok {
			http.Error(w, "404 Not Found\n\nNo image found with ID "+r.PathValue("id"), http.StatusNotFound)
			return
		}
		api.WriteJSON(w, http.StatusOK, view(img))
	})
	outer := http.NewServeMux()
	outer.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusMultipleChoices, map[string]any{"versions": []any{map[string]any{
			"id": "v2.16", "status": "CURRENT", "links": []any{map[string]any{"rel": "self", "href": s.osURL + "/image/v2/"}},
		}}})
	})
	outer.Handle("/", api.TokenAuth(s.World, api.NovaCinder, mux))
	return outer
}
