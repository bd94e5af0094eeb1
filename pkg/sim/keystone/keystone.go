// Package keystone simulates the Identity v3 API: version discovery, tokens
// from passwords, application credentials or tokens, scoped to a project,
// with the service catalog of the simulated cloud.
package keystone

import (
	"net/http"
	"strings"
	"time"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

// Service is one catalog entry.
type Service struct {
	Type string
	Name string
	// URL is the endpoint; "{project_id}" is replaced by the token's project.
	URL string
}

// Config configures the Identity API.
type Config struct {
	// BaseURL is where Keystone is served, e.g. https://127.0.0.1:5000.
	BaseURL string
	// Services are the catalog besides identity itself.
	Services []Service
	// TokenTTL is how long tokens last [1h].
	TokenTTL func() time.Duration
}

// Handler returns the Identity API, rooted at "/".
func Handler(world *model.World, cfg Config) http.Handler {
	k := &keystone{world: world, cfg: cfg}
	mux := api.NewMux(api.Keystone)
	mux.HandleFunc("GET /{$}", k.versions)
	mux.HandleFunc("GET /v3", k.version)
	mux.HandleFunc("GET /v3/{$}", k.version)
	mux.HandleFunc("POST /v3/auth/tokens", k.issue())
	mux.HandleFunc("GET /v3/auth/tokens", k.validate())
	mux.HandleFunc("HEAD /v3/auth/tokens", k.validate())
	mux.HandleFunc("DELETE /v3/auth/tokens", k.revoke())
	mux.HandleFunc("GET /v3/auth/catalog", k.read(false, k.catalogOnly))
	mux.HandleFunc("GET /v3/auth/projects", k.read(false, k.authProjects))
	mux.HandleFunc("GET /v3/projects", k.read(true, k.listProjects))
	mux.HandleFunc("GET /v3/projects/{id}", k.read(false, k.getProject))
	mux.HandleFunc("GET /v3/users/{id}/projects", k.read(false, k.userProjects))
	mux.HandleFunc("GET /v3/services", k.read(true, k.listServices))
	mux.HandleFunc("GET /v3/services/{id}", k.read(true, k.getService))
	mux.HandleFunc("GET /v3/endpoints", k.read(true, k.listEndpoints))
	mux.HandleFunc("GET /v3/endpoints/{id}", k.read(true, k.getEndpoint))
	mux.HandleFunc("GET /v3/regions", k.read(false, k.listRegions))
	mux.HandleFunc("GET /v3/regions/{id}", k.read(false, k.getRegion))
	return mux
}

type keystone struct {
	world *model.World
	cfg   Config
}

func (k *keystone) ttl() time.Duration {
	if k.cfg.TokenTTL != nil {
		return k.cfg.TokenTTL()
	}
	return time.Hour
}

func (k *keystone) versionDoc() map[string]any {
	return map[string]any{
		"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []any{map[string]any{"rel": "self", "href": k.cfg.BaseURL + "/v3/"}},
		"media-types": []any{map[string]any{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}},
	}
}

func (k *keystone) versions(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusMultipleChoices, map[string]any{"versions": map[string]any{"values": []any{k.versionDoc()}}})
}

func (k *keystone) version(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusOK, map[string]any{"version": k.versionDoc()})
}

// authRequest is the body of POST /v3/auth/tokens.
type authRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User struct {
					ID       string  `json:"id"`
					Name     string  `json:"name"`
					Password string  `json:"password"`
					Domain   *domain `json:"domain"`
				} `json:"user"`
			} `json:"password"`
			ApplicationCredential *struct {
				ID     string `json:"id"`
				Secret string `json:"secret"`
			} `json:"application_credential"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
		} `json:"identity"`
		Scope *struct {
			Project *struct {
				ID     string  `json:"id"`
				Name   string  `json:"name"`
				Domain *domain `json:"domain"`
			} `json:"project"`
		} `json:"scope"`
	} `json:"auth"`
}

type domain struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (d *domain) id() string {
	if d == nil {
		return ""
	}
	return d.ID
}

func (d *domain) name() string {
	if d == nil {
		return ""
	}
	return d.Name
}

func (k *keystone) issue() http.HandlerFunc {
	return api.Handle(api.Keystone, http.StatusCreated, func(r *http.Request, req *authRequest) (any, error) {
		id := req.Auth.Identity
		var (
			tok     model.Token
			user    model.User
			project model.Project
			err     error
		)
		switch {
		case contains(id.Methods, "application_credential") && id.ApplicationCredential != nil:
			tok, user, project, err = k.world.AuthenticateApplicationCredential(id.ApplicationCredential.ID, id.ApplicationCredential.Secret, k.ttl())
		case contains(id.Methods, "password") && id.Password != nil:
			a := model.PasswordAuth{UserID: id.Password.User.ID, UserName: id.Password.User.Name, Password: id.Password.User.Password,
				UserDomainID: id.Password.User.Domain.id(), UserDomainName: id.Password.User.Domain.name()}
			if s := req.Auth.Scope; s != nil && s.Project != nil {
				a.ProjectID, a.ProjectName = s.Project.ID, s.Project.Name
				a.ProjectDomainID, a.ProjectDomainName = s.Project.Domain.id(), s.Project.Domain.name()
			}
			tok, user, project, err = k.world.Authenticate(a, k.ttl())
		case contains(id.Methods, "token") && id.Token != nil:
			tok, user, project, err = k.rescope(id.Token.ID)
		default:
			return nil, api.Errorf(http.StatusBadRequest, "Expecting to find identity methods password, application_credential or token in auth.")
		}
		if err != nil {
			return nil, unauthorized
		}
		return &api.Response{Header: http.Header{"X-Subject-Token": {tok.ID}}, Body: map[string]any{"token": k.tokenBody(tok, user, project)}}, nil
	})
}

var unauthorized = api.Errorf(http.StatusUnauthorized, "The request you have made requires authentication.")

// caller is who sent a request: its token's user and project.
type caller struct {
	token   model.Token
	user    model.User
	project model.Project
}

// authorize checks the request's token (401 without a valid one) and, for
// admin-only calls, the admin role (403 as Keystone's policy answers).
func (k *keystone) authorize(r *http.Request, adminOnly bool) (caller, error) {
	tok, err := k.world.ValidateToken(r.Header.Get("X-Auth-Token"))
	if err != nil {
		return caller{}, unauthorized
	}
	user, project, err := k.world.TokenOwner(tok)
	if err != nil {
		return caller{}, unauthorized
	}
	if adminOnly && !user.IsAdmin() {
		return caller{}, forbidden(r)
	}
	return caller{token: tok, user: user, project: project}, nil
}

// forbidden is Keystone's 403, naming the policy rule of the call.
func forbidden(r *http.Request) error {
	return api.Errorf(http.StatusForbidden, "You are not authorized to perform the requested action: %s.", policyRule(r))
}

// policyRule names the rule of Keystone's policy a read is checked by.
func policyRule(r *http.Request) string {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 4 && parts[1] == "users":
		return "identity:list_user_projects"
	case len(parts) == 2:
		return "identity:list_" + parts[1]
	case len(parts) >= 3:
		return "identity:get_" + strings.TrimSuffix(parts[1], "s")
	}
	return "identity:" + r.URL.Path
}

// read is a GET with the caller's token checked.
func (k *keystone) read(adminOnly bool, fn func(r *http.Request, c caller) (any, error)) http.HandlerFunc {
	return api.Handle(api.Keystone, http.StatusOK, func(r *http.Request, _ *struct{}) (any, error) {
		c, err := k.authorize(r, adminOnly)
		if err != nil {
			return nil, err
		}
		return fn(r, c)
	})
}

// rescope issues a new token from an existing valid one.
func (k *keystone) rescope(id string) (model.Token, model.User, model.Project, error) {
	old, err := k.world.ValidateToken(id)
	if err != nil {
		return model.Token{}, model.User{}, model.Project{}, err
	}
	return k.world.ReissueToken(old, k.ttl())
}

func (k *keystone) tokenBody(t model.Token, u model.User, p model.Project) map[string]any {
	return map[string]any{
		"methods":    t.Methods,
		"issued_at":  t.IssuedAt.Format("2006-01-02T15:04:05.000000Z"),
		"expires_at": t.ExpiresAt.Format("2006-01-02T15:04:05.000000Z"),
		"audit_ids":  []string{t.ID[:22]},
		"user": map[string]any{
			"id": u.ID, "name": u.Name, "password_expires_at": nil,
			"domain": map[string]any{"id": u.DomainID, "name": domainName(u.DomainID)},
		},
		"project": map[string]any{
			"id": p.ID, "name": p.Name,
			"domain": map[string]any{"id": p.DomainID, "name": domainName(p.DomainID)},
		},
		"roles":   roles(u.Roles),
		"catalog": k.catalog(p.ID),
	}
}

func domainName(id string) string {
	if id == "default" {
		return "Default"
	}
	return id
}

func (k *keystone) catalog(projectID string) []any {
	services := append([]Service{{Type: "identity", Name: "keystone", URL: k.cfg.BaseURL + "/v3"}}, k.cfg.Services...)
	var out []any
	for i, s := range services {
		url := replaceProject(s.URL, projectID)
		var endpoints []any
		for j, iface := range []string{"public", "internal", "admin"} {
			endpoints = append(endpoints, map[string]any{
				"id": serviceID(i, j), "interface": iface, "region": k.world.Region, "region_id": k.world.Region, "url": url,
			})
		}
		out = append(out, map[string]any{"id": serviceID(i, 9), "type": s.Type, "name": s.Name, "endpoints": endpoints})
	}
	return out
}

func serviceID(i, j int) string {
	const hex = "0123456789abcdef"
	b := []byte("00000000000000000000000000000000")
	b[30], b[31] = hex[i%16], hex[j%16]
	return string(b)
}

func replaceProject(url, projectID string) string {
	const placeholder = "{project_id}"
	for i := 0; i+len(placeholder) <= len(url); i++ {
		if url[i:i+len(placeholder)] == placeholder {
			return url[:i] + projectID + url[i+len(placeholder):]
		}
	}
	return url
}

func (k *keystone) validate() http.HandlerFunc {
	return api.Handle(api.Keystone, http.StatusOK, func(r *http.Request, _ *struct{}) (any, error) {
		if _, err := k.authorize(r, false); err != nil {
			return nil, err
		}
		subject, err := k.world.ValidateToken(r.Header.Get("X-Subject-Token"))
		if err != nil {
			return nil, api.Errorf(http.StatusNotFound, "Could not find token: %s.", r.Header.Get("X-Subject-Token"))
		}
		user, project, err := k.world.TokenOwner(subject)
		if err != nil {
			return nil, api.Errorf(http.StatusNotFound, "Could not find token: %s.", subject.ID)
		}
		h := http.Header{"X-Subject-Token": {subject.ID}}
		if r.Method == http.MethodHead {
			return &api.Response{Header: h}, nil
		}
		return &api.Response{Header: h, Body: map[string]any{"token": k.tokenBody(subject, user, project)}}, nil
	})
}

func (k *keystone) revoke() http.HandlerFunc {
	return api.Handle(api.Keystone, http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		if _, err := k.authorize(r, false); err != nil {
			return nil, err
		}
		k.world.RevokeToken(r.Header.Get("X-Subject-Token"))
		return nil, nil
	})
}

func (k *keystone) catalogOnly(_ *http.Request, c caller) (any, error) {
	return map[string]any{"catalog": k.catalog(c.token.ProjectID)}, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
