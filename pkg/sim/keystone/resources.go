package keystone

import (
	"net/http"
	"strings"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

// Projects, services, endpoints and regions as Keystone's v3 API shows
// them, with Keystone's default policy: projects, services and endpoints
// are listed by admins only; a user reads its own project and its own
// projects; regions are for every authenticated user.

var roleIDs = map[string]string{"admin": "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0", "member": "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1", "reader": "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2"}

func roles(names []string) []any {
	out := []any{}
	for _, n := range names {
		id := roleIDs[n]
		if id == "" {
			id = n
		}
		out = append(out, map[string]any{"id": id, "name": n})
	}
	return out
}

func (k *keystone) self(path string) map[string]any {
	return map[string]any{"self": k.cfg.BaseURL + path}
}

// collection is a list with Keystone's links.
func (k *keystone) collection(r *http.Request, key string, items []any) map[string]any {
	return map[string]any{key: items, "links": map[string]any{"self": k.cfg.BaseURL + r.URL.RequestURI(), "previous": nil, "next": nil}}
}

func (k *keystone) projectView(p model.Project) map[string]any {
	return map[string]any{"id": p.ID, "name": p.Name, "domain_id": p.DomainID, "description": "", "enabled": true,
		"parent_id": p.DomainID, "is_domain": false, "tags": []any{}, "options": map[string]any{}, "links": k.self("/v3/projects/" + p.ID)}
}

// projectsMatching lists the projects keep selects, filtered by the
// query's name and domain_id.
func (k *keystone) projectsMatching(r *http.Request, keep func(model.Project) bool) []any {
	q := r.URL.Query()
	out := []any{}
	for _, p := range k.world.Projects() {
		if keep(p) && (q.Get("name") == "" || p.Name == q.Get("name")) && (q.Get("domain_id") == "" || p.DomainID == q.Get("domain_id")) {
			out = append(out, k.projectView(p))
		}
	}
	return out
}

func (k *keystone) listProjects(r *http.Request, _ caller) (any, error) {
	return k.collection(r, "projects", k.projectsMatching(r, func(model.Project) bool { return true })), nil
}

func (k *keystone) getProject(r *http.Request, c caller) (any, error) {
	id := r.PathValue("id")
	if !c.user.IsAdmin() && id != c.token.ProjectID {
		return nil, forbidden(r)
	}
	p, err := k.world.Project(id)
	if err != nil {
		return nil, api.Errorf(http.StatusNotFound, "Could not find project: %s.", id)
	}
	return map[string]any{"project": k.projectView(p)}, nil
}

// userProjects lists the projects a user has roles on: its own project.
func (k *keystone) userProjects(r *http.Request, c caller) (any, error) {
	if !c.user.IsAdmin() && r.PathValue("id") != c.user.ID {
		return nil, forbidden(r)
	}
	user := r.PathValue("id")
	var own string
	for _, u := range k.world.Users() {
		if u.ID == user {
			own = u.ProjectID
		}
	}
	if own == "" {
		return nil, api.Errorf(http.StatusNotFound, "Could not find user: %s.", user)
	}
	return k.collection(r, "projects", k.projectsMatching(r, func(p model.Project) bool { return p.ID == own })), nil
}

func (k *keystone) authProjects(r *http.Request, c caller) (any, error) {
	return k.collection(r, "projects", k.projectsMatching(r, func(p model.Project) bool { return p.ID == c.user.ProjectID })), nil
}

// endpoint is one endpoint of a service in the catalog.
type endpoint struct {
	id, serviceID, iface, url string
}

type service struct {
	id, typ, name string
	endpoints     []endpoint
}

// services is the catalog with its ids; URLs keep Keystone's
// %(project_id)s placeholder.
func (k *keystone) services() []service {
	all := append([]Service{{Type: "identity", Name: "keystone", URL: k.cfg.BaseURL + "/v3"}}, k.cfg.Services...)
	var out []service
	for i, s := range all {
		svc := service{id: serviceID(i, 9), typ: s.Type, name: s.Name}
		for j, iface := range []string{"public", "internal", "admin"} {
			svc.endpoints = append(svc.endpoints, endpoint{id: serviceID(i, j), serviceID: svc.id, iface: iface,
				url: strings.ReplaceAll(s.URL, "{project_id}", "%(project_id)s")})
		}
		out = append(out, svc)
	}
	return out
}

func (k *keystone) serviceView(s service) map[string]any {
	return map[string]any{"id": s.id, "type": s.typ, "name": s.name, "description": "", "enabled": true, "links": k.self("/v3/services/" + s.id)}
}

func (k *keystone) endpointView(e endpoint) map[string]any {
	return map[string]any{"id": e.id, "service_id": e.serviceID, "interface": e.iface, "url": e.url, "region": k.world.Region,
		"region_id": k.world.Region, "enabled": true, "links": k.self("/v3/endpoints/" + e.id)}
}

func (k *keystone) listServices(r *http.Request, _ caller) (any, error) {
	q := r.URL.Query()
	out := []any{}
	for _, s := range k.services() {
		if (q.Get("type") == "" || s.typ == q.Get("type")) && (q.Get("name") == "" || s.name == q.Get("name")) {
			out = append(out, k.serviceView(s))
		}
	}
	return k.collection(r, "services", out), nil
}

func (k *keystone) getService(r *http.Request, _ caller) (any, error) {
	for _, s := range k.services() {
		if s.id == r.PathValue("id") {
			return map[string]any{"service": k.serviceView(s)}, nil
		}
	}
	return nil, api.Errorf(http.StatusNotFound, "Could not find service: %s.", r.PathValue("id"))
}

func (k *keystone) listEndpoints(r *http.Request, _ caller) (any, error) {
	q := r.URL.Query()
	out := []any{}
	for _, s := range k.services() {
		for _, e := range s.endpoints {
			if (q.Get("interface") == "" || e.iface == q.Get("interface")) && (q.Get("service_id") == "" || e.serviceID == q.Get("service_id")) &&
				(q.Get("region_id") == "" || k.world.Region == q.Get("region_id")) {
				out = append(out, k.endpointView(e))
			}
		}
	}
	return k.collection(r, "endpoints", out), nil
}

func (k *keystone) getEndpoint(r *http.Request, _ caller) (any, error) {
	for _, s := range k.services() {
		for _, e := range s.endpoints {
			if e.id == r.PathValue("id") {
				return map[string]any{"endpoint": k.endpointView(e)}, nil
			}
		}
	}
	return nil, api.Errorf(http.StatusNotFound, "Could not find endpoint: %s.", r.PathValue("id"))
}

func (k *keystone) regionView() map[string]any {
	return map[string]any{"id": k.world.Region, "description": "", "parent_region_id": nil, "links": k.self("/v3/regions/" + k.world.Region)}
}

func (k *keystone) listRegions(r *http.Request, _ caller) (any, error) {
	return k.collection(r, "regions", []any{k.regionView()}), nil
}

func (k *keystone) getRegion(r *http.Request, _ caller) (any, error) {
	if r.PathValue("id") != k.world.Region {
		return nil, api.Errorf(http.StatusNotFound, "Could not find region: %s.", r.PathValue("id"))
	}
	return map[string]any{"region": k.regionView()}, nil
}
