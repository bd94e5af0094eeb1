// Package nsx simulates the parts of the NSX-T Manager that epks and NCP
// use: Manager API logical ports and switches (cursor paging, filters,
// revisions, unknown fields kept), Policy API segment ports, search, basic,
// session and client-certificate authentication, and NSX's per-client rate
// and concurrency limits.
package nsx

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

// Version is the NSX version the simulator reports.
const Version = "4.2.1.0.0.24304122"

// Config configures the NSX Manager.
type Config struct {
	// Users maps user names to passwords.
	Users map[string]string
	// ClientCertFingerprints maps SHA-256 fingerprints (hex, lower case) of
	// principal-identity certificates to their names.
	ClientCertFingerprints map[string]string
	// RateLimit is the requests per second a client may make [100]; 0
	// keeps the default, a negative value disables the limit.
	RateLimit float64
	// Concurrency is the requests a client may have in flight [40].
	Concurrency int
}

// Manager is the simulated NSX Manager.
type Manager struct {
	world  *model.World
	cfg    Config
	limits *limiter

	mu       sync.Mutex
	sessions map[string]session // JSESSIONID -> session
	// race is the probability that a port a client reads is changed by
	// another writer right after, so that the client's next write of it
	// meets a stale revision.
	race float64
	// racedWrites is how many of the next port writes find the port
	// changed by another writer just before them (412), whatever the
	// client read.
	racedWrites int
}

type session struct {
	user string
	xsrf string
}

// New returns an NSX Manager on the world.
func New(world *model.World, cfg Config) *Manager {
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 100
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 40
	}
	return &Manager{world: world, cfg: cfg, limits: newLimiter(cfg.RateLimit, cfg.Concurrency), sessions: map[string]session{}}
}

// SetLimits changes the per-client limits at run time (the control API's
// fault settings use it).
func (m *Manager) SetLimits(rate float64, concurrency int) { m.limits.set(rate, concurrency) }

// Handler returns the Manager's HTTP API, rooted at "/". wrap, when not
// nil, wraps the API's handlers inside authentication and the limits (fault
// injection goes there, so that a slow answer holds its concurrency slot as
// a slow NSX does).
func (m *Manager) Handler(wrap func(http.Handler) http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/node/version", m.version)
	mux.HandleFunc("GET /api/v1/cluster/status", m.clusterStatus)
	mux.HandleFunc("GET /api/v1/logical-ports", m.listPorts(model.ManagerAPI))
	mux.HandleFunc("GET /api/v1/logical-ports/{id}", m.getPort(model.ManagerAPI))
	mux.HandleFunc("PUT /api/v1/logical-ports/{id}", m.putPort(model.ManagerAPI))
	mux.HandleFunc("GET /api/v1/logical-switches", m.listSwitches)
	mux.HandleFunc("GET /api/v1/logical-switches/{id}", m.getSwitch)
	mux.HandleFunc("GET /api/v1/search", m.search(model.ManagerAPI))
	mux.HandleFunc("GET /api/v1/search/query", m.search(model.ManagerAPI))
	mux.HandleFunc("GET /policy/api/v1/infra/segments/{segment}/ports", m.listPorts(model.PolicyAPI))
	mux.HandleFunc("GET /policy/api/v1/infra/segments/{segment}/ports/{id}", m.getPort(model.PolicyAPI))
	mux.HandleFunc("PUT /policy/api/v1/infra/segments/{segment}/ports/{id}", m.putPort(model.PolicyAPI))
	mux.HandleFunc("PATCH /policy/api/v1/infra/segments/{segment}/ports/{id}", m.patchPort)
	mux.HandleFunc("GET /policy/api/v1/search/query", m.search(model.PolicyAPI))

	outer := http.NewServeMux()
	outer.HandleFunc("POST /api/session/create", m.createSession)
	outer.HandleFunc("POST /api/session/destroy", m.destroySession)
	var inner http.Handler = mux
	if wrap != nil {
		inner = wrap(mux)
	}
	outer.Handle("/", m.authenticate(m.limits.wrap(inner)))
	return outer
}

// SetRevisionRace makes every port read (GET or list) be changed by a
// concurrent writer right after, with probability p (0 turns it off).
func (m *Manager) SetRevisionRace(p float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.race = p
}

// RaceWrites makes each of the next n port writes (PUT or PATCH) meet a
// concurrent writer that changed the port just before it: the write is
// refused with 412, as NSX refuses a stale _revision. Unlike
// SetRevisionRace it is deterministic: exactly n writes are refused.
func (m *Manager) RaceWrites(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.racedWrites = n
}

// raceWrite bumps the revision of a port about to be written when a raced
// write is due.
func (m *Manager) raceWrite(a model.PortAPI, id string) {
	m.mu.Lock()
	due := m.racedWrites > 0
	if due {
		m.racedWrites--
	}
	m.mu.Unlock()
	if due {
		_ = m.world.BumpRevision(a, id)
	}
}

// raced bumps the revisions of ports just read, as the race says.
func (m *Manager) raced(a model.PortAPI, ports ...map[string]any) {
	m.mu.Lock()
	p := m.race
	m.mu.Unlock()
	if p <= 0 {
		return
	}
	for _, port := range ports {
		if id, ok := port["id"].(string); ok && rand.Float64() < p {
			_ = m.world.BumpRevision(a, id)
		}
	}
}

// --- authentication ---

type userKey struct{}

// userOf returns who sent a request, as authenticate found.
func userOf(r *http.Request) string {
	u, _ := r.Context().Value(userKey{}).(string)
	return u
}

func (m *Manager) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := m.user(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="NSX Manager"`)
			api.ErrorStatus(w, api.NSX, http.StatusForbidden, "The credentials were incorrect or the account specified has been locked.")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
}

// user finds who sends a request: a client certificate, a session cookie
// with its XSRF token, or basic credentials.
func (m *Manager) user(r *http.Request) (string, bool) {
	if r.TLS != nil {
		for _, c := range r.TLS.PeerCertificates {
			sum := sha256.Sum256(c.Raw)
			if name, ok := m.cfg.ClientCertFingerprints[hex.EncodeToString(sum[:])]; ok {
				return name, true
			}
		}
	}
	if c, err := r.Cookie("JSESSIONID"); err == nil {
		m.mu.Lock()
		s, ok := m.sessions[c.Value]
		m.mu.Unlock()
		if ok && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-XSRF-TOKEN")), []byte(s.xsrf)) == 1 {
			return s.user, true
		}
	}
	if u, p, ok := r.BasicAuth(); ok && m.checkPassword(u, p) {
		return u, true
	}
	return "", false
}

func (m *Manager) checkPassword(user, password string) bool {
	want, ok := m.cfg.Users[user]
	return ok && subtle.ConstantTimeCompare([]byte(want), []byte(password)) == 1
}

func (m *Manager) createSession(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		api.ErrorStatus(w, api.NSX, http.StatusBadRequest, "malformed form")
		return
	}
	user := r.PostForm.Get("j_username")
	if !m.checkPassword(user, r.PostForm.Get("j_password")) {
		api.ErrorStatus(w, api.NSX, http.StatusForbidden, "The credentials were incorrect or the account specified has been locked.")
		return
	}
	id, xsrf := model.NewHexID(), model.NewID()
	m.mu.Lock()
	m.sessions[id] = session{user: user, xsrf: xsrf}
	m.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: id, Path: "/", Secure: r.TLS != nil, HttpOnly: true})
	w.Header().Set("X-XSRF-TOKEN", xsrf)
	w.WriteHeader(http.StatusOK)
}

func (m *Manager) destroySession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie("JSESSIONID"); err == nil {
		m.mu.Lock()
		delete(m.sessions, c.Value)
		m.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
}

// --- limits ---

// limiter enforces NSX's per-client request rate and concurrency, keyed by
// client address, answering 429 like NSX.
type limiter struct {
	mu          sync.Mutex
	rate        float64
	concurrency int
	clients     map[string]*client
}

type client struct {
	tokens   float64
	last     time.Time
	inFlight int
}

func newLimiter(rate float64, concurrency int) *limiter {
	return &limiter{rate: rate, concurrency: concurrency, clients: map[string]*client{}}
}

func (l *limiter) set(rate float64, concurrency int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate, l.concurrency = rate, concurrency
}

func (l *limiter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if msg := l.admit(host, userOf(r)); msg != "" {
			api.ErrorStatus(w, api.NSX, http.StatusTooManyRequests, msg)
			return
		}
		defer l.release(host)
		next.ServeHTTP(w, r)
	})
}

// admit takes a token and a concurrency slot, or says why not.
func (l *limiter) admit(host, user string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.clients[host]
	now := time.Now()
	if !ok {
		c = &client{tokens: l.rate, last: now}
		l.clients[host] = c
	}
	if l.concurrency > 0 && c.inFlight >= l.concurrency {
		return fmt.Sprintf("Client '%s' exceeded concurrency limit of %d.", user, l.concurrency)
	}
	if l.rate > 0 {
		c.tokens += now.Sub(c.last).Seconds() * l.rate
		if c.tokens > l.rate {
			c.tokens = l.rate
		}
		c.last = now
		if c.tokens < 1 {
			return fmt.Sprintf("Client '%s' exceeded request rate of %s per second.", user, strconv.FormatFloat(l.rate, 'f', -1, 64))
		}
		c.tokens--
	}
	c.inFlight++
	return ""
}

func (l *limiter) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.clients[host]; ok {
		c.inFlight--
	}
}

// --- handlers ---

func (m *Manager) version(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusOK, map[string]any{"node_version": Version, "product_version": Version})
}

func (m *Manager) clusterStatus(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusOK, map[string]any{
		"mgmt_cluster_status":     map[string]any{"status": "STABLE"},
		"control_cluster_status":  map[string]any{"status": "STABLE"},
		"detailed_cluster_status": map[string]any{"overall_status": "STABLE"},
	})
}

// pageSize reads page_size: at most 1000, default 1000, as NSX pages.
func pageSize(r *http.Request) (int, error) {
	s := r.URL.Query().Get("page_size")
	if s == "" {
		return 1000, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, &model.ErrBadRequest{Message: fmt.Sprintf("Invalid value %q for page_size", s)}
	}
	if n > 1000 {
		n = 1000
	}
	return n, nil
}

func listBody(results []map[string]any, cursor string, total int) map[string]any {
	out := make([]any, len(results))
	for i, r := range results {
		out[i] = r
	}
	body := map[string]any{"results": out, "result_count": total, "sort_by": "", "sort_ascending": true}
	if cursor != "" {
		body["cursor"] = cursor
	}
	return body
}

func (m *Manager) listPorts(a model.PortAPI) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		size, err := pageSize(r)
		if err != nil {
			api.Error(w, api.NSX, err)
			return
		}
		q := r.URL.Query()
		f := model.PortFilter{SwitchID: q.Get("logical_switch_id"), AttachmentID: q.Get("attachment_id")}
		if a == model.PolicyAPI {
			f.SwitchID = r.PathValue("segment")
		}
		page, next, total, err := m.world.ListPorts(a, f, q.Get("cursor"), size)
		if err != nil {
			api.Error(w, api.NSX, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, listBody(page, next, total))
		m.raced(a, page...)
	}
}

func (m *Manager) getPort(a model.PortAPI) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := m.world.GetPort(a, r.PathValue("id"))
		if err != nil || (a == model.PolicyAPI && body["parent_path"] != "/infra/segments/"+r.PathValue("segment")) {
			api.ErrorStatus(w, api.NSX, http.StatusNotFound, fmt.Sprintf("The requested object : %s could not be found. Object identifiers are case sensitive.", r.PathValue("id")))
			return
		}
		api.WriteJSON(w, http.StatusOK, body)
		m.raced(a, body)
	}
}

func (m *Manager) putPort(a model.PortAPI) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := api.ReadJSON(r, &body); err != nil {
			api.ErrorStatus(w, api.NSX, http.StatusBadRequest, err.Error())
			return
		}
		if id, ok := body["id"]; ok && id != r.PathValue("id") {
			api.ErrorStatus(w, api.NSX, http.StatusBadRequest, fmt.Sprintf("Id %v in the request body does not match %s in the URI.", id, r.PathValue("id")))
			return
		}
		if a == model.PolicyAPI {
			if _, err := m.world.GetPort(a, r.PathValue("id")); err != nil {
				api.Error(w, api.NSX, err)
				return
			}
		}
		m.raceWrite(a, r.PathValue("id"))
		out, err := m.world.UpdateNSXPort(a, r.PathValue("id"), body, userOf(r), allowOverwrite(r))
		if err != nil {
			api.Error(w, api.NSX, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, out)
	}
}

func allowOverwrite(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("X-Allow-Overwrite"), "true")
}

// patchPort merges the given top-level fields into a segment port, as the
// Policy API's PATCH does; a _revision, when given, must be current.
func (m *Manager) patchPort(w http.ResponseWriter, r *http.Request) {
	var patch map[string]any
	if err := api.ReadJSON(r, &patch); err != nil {
		api.ErrorStatus(w, api.NSX, http.StatusBadRequest, err.Error())
		return
	}
	current, err := m.world.GetPort(model.PolicyAPI, r.PathValue("id"))
	if err != nil {
		api.Error(w, api.NSX, err)
		return
	}
	if _, ok := patch["_revision"]; !ok {
		patch["_revision"] = current["_revision"]
	}
	m.raceWrite(model.PolicyAPI, r.PathValue("id"))
	for k, v := range patch {
		current[k] = v
	}
	if _, err := m.world.UpdateNSXPort(model.PolicyAPI, r.PathValue("id"), current, userOf(r), allowOverwrite(r)); err != nil {
		api.Error(w, api.NSX, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (m *Manager) listSwitches(w http.ResponseWriter, _ *http.Request) {
	var out []map[string]any
	for _, ls := range m.world.LogicalSwitches() {
		out = append(out, switchView(ls))
	}
	api.WriteJSON(w, http.StatusOK, listBody(out, "", len(out)))
}

func (m *Manager) getSwitch(w http.ResponseWriter, r *http.Request) {
	for _, ls := range m.world.LogicalSwitches() {
		if ls.ID == r.PathValue("id") {
			api.WriteJSON(w, http.StatusOK, switchView(ls))
			return
		}
	}
	api.ErrorStatus(w, api.NSX, http.StatusNotFound, fmt.Sprintf("The requested object : %s could not be found. Object identifiers are case sensitive.", r.PathValue("id")))
}

func switchView(ls model.LogicalSwitch) map[string]any {
	var tags []any
	for _, t := range ls.Tags {
		tags = append(tags, map[string]any{"scope": t.Scope, "tag": t.Tag})
	}
	return map[string]any{"resource_type": "LogicalSwitch", "id": ls.ID, "display_name": ls.DisplayName,
		"transport_zone_id": ls.TransportZoneID, "admin_state": "UP", "replication_mode": "MTEP", "tags": tags,
		"_revision": ls.Revision}
}

// search answers search queries for ports; other resource types find
// nothing, as the simulator models ports only.
func (m *Manager) search(a model.PortAPI) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, err := model.ParseQuery(r.URL.Query().Get("query"))
		if err != nil {
			api.ErrorStatus(w, api.NSX, http.StatusBadRequest, err.Error())
			return
		}
		size, err := pageSize(r)
		if err != nil {
			api.Error(w, api.NSX, err)
			return
		}
		all := m.world.SearchPorts(a, q)
		start := 0
		if c := r.URL.Query().Get("cursor"); c != "" {
			if start, err = strconv.Atoi(c); err != nil || start < 0 || start > len(all) {
				api.ErrorStatus(w, api.NSX, http.StatusBadRequest, fmt.Sprintf("Invalid cursor %q", c))
				return
			}
		}
		end := min(start+size, len(all))
		next := ""
		if end < len(all) {
			next = strconv.Itoa(end)
		}
		api.WriteJSON(w, http.StatusOK, listBody(all[start:end], next, len(all)))
	}
}
