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
	"slices"
	"sort"
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
	mux := api.NewMux(api.NSX)
	mux.HandleFunc("GET /api/v1/node/version", get(m.version))
	mux.HandleFunc("GET /api/v1/cluster/status", get(m.clusterStatus))
	mux.HandleFunc("GET /api/v1/logical-ports", m.listPorts(model.ManagerAPI))
	mux.HandleFunc("POST /api/v1/logical-ports", m.createPort())
	mux.HandleFunc("GET /api/v1/logical-ports/{id}", m.getPort(model.ManagerAPI))
	mux.HandleFunc("PUT /api/v1/logical-ports/{id}", m.putPort(model.ManagerAPI))
	mux.HandleFunc("GET /api/v1/logical-switches", get(m.listSwitches))
	mux.HandleFunc("GET /api/v1/logical-switches/{id}", get(m.getSwitch))
	mux.HandleFunc("GET /api/v1/search", m.search(model.ManagerAPI))
	mux.HandleFunc("GET /api/v1/search/query", m.search(model.ManagerAPI))
	mux.HandleFunc("GET /policy/api/v1/infra/segments", get(m.listSegments))
	mux.HandleFunc("GET /policy/api/v1/infra/segments/{segment}", get(m.getSegment))
	mux.HandleFunc("GET /policy/api/v1/infra/segments/{segment}/ports", m.listPorts(model.PolicyAPI))
	mux.HandleFunc("GET /policy/api/v1/infra/segments/{segment}/ports/{id}", m.getPort(model.PolicyAPI))
	mux.HandleFunc("PUT /policy/api/v1/infra/segments/{segment}/ports/{id}", m.putPort(model.PolicyAPI))
	mux.HandleFunc("PATCH /policy/api/v1/infra/segments/{segment}/ports/{id}", m.patchPort())
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

// get is a read: no body, 200.
func get(fn func(r *http.Request) (any, error)) http.HandlerFunc {
	return api.Get(api.NSX, fn)
}

func badRequest(format string, a ...any) error {
	return api.Errorf(http.StatusBadRequest, format, a...)
}

func notFound(id string) error {
	return api.Errorf(http.StatusNotFound, "The requested object : %s could not be found. Object identifiers are case sensitive.", id)
}

func (m *Manager) version(*http.Request) (any, error) {
	return map[string]any{"node_version": Version, "product_version": Version}, nil
}

func (m *Manager) clusterStatus(*http.Request) (any, error) {
	return map[string]any{
		"mgmt_cluster_status":     map[string]any{"status": "STABLE"},
		"control_cluster_status":  map[string]any{"status": "STABLE"},
		"detailed_cluster_status": map[string]any{"overall_status": "STABLE"},
	}, nil
}

// checkParams refuses query parameters a list does not take: NSX's
// parameters are typed, and a filter misspelt must not pass for none.
func checkParams(r *http.Request, known ...string) error {
	var bad []string
	for k := range r.URL.Query() {
		if !slices.Contains(known, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return badRequest("Invalid query parameter(s) %s for %s; it takes: %s.", strings.Join(bad, ", "), r.URL.Path, strings.Join(known, ", "))
	}
	return nil
}

// The list parameters NSX takes everywhere.
var listParams = []string{"cursor", "page_size", "included_fields", "sort_ascending", "sort_by"}

// pageSize reads page_size: at most 1000, default 1000, as NSX pages.
func pageSize(r *http.Request) (int, error) {
	s := r.URL.Query().Get("page_size")
	if s == "" {
		return 1000, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, badRequest("Invalid value %q for page_size: an integer from 0 to 1000.", s)
	}
	if n == 0 || n > 1000 {
		n = 1000
	}
	return n, nil
}

// boolParam reads a boolean query parameter.
func boolParam(r *http.Request, key string) (bool, error) {
	s := r.URL.Query().Get(key)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badRequest("Invalid value %q for %s: true or false.", s, key)
	}
	return b, nil
}

// sorted sorts a page's objects by sort_by (a top-level field), as asked.
func sorted(r *http.Request, objs []map[string]any) ([]map[string]any, error) {
	by := r.URL.Query().Get("sort_by")
	asc := true
	if s := r.URL.Query().Get("sort_ascending"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, badRequest("Invalid value %q for sort_ascending: true or false.", s)
		}
		asc = b
	}
	if by == "" {
		if !asc {
			slices.Reverse(objs)
		}
		return objs, nil
	}
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := fmt.Sprint(objs[i][by]), fmt.Sprint(objs[j][by])
		if asc {
			return a < b
		}
		return a > b
	})
	return objs, nil
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

// The filters of GET /api/v1/logical-ports.
var portParams = append([]string{"attachment_id", "attachment_type", "bridge_cluster_id", "container_ports_only", "diagnostic",
	"logical_switch_id", "parent_vif_id", "switching_profile_id", "transport_node_id", "transport_zone_id"}, listParams...)

// portFilter reads the filters of a port list.
func portFilter(r *http.Request, a model.PortAPI) (model.PortFilter, error) {
	q := r.URL.Query()
	if a == model.PolicyAPI {
		return model.PortFilter{SwitchID: r.PathValue("segment")}, checkParams(r, listParams...)
	}
	if err := checkParams(r, portParams...); err != nil {
		return model.PortFilter{}, err
	}
	f := model.PortFilter{SwitchID: q.Get("logical_switch_id"), AttachmentID: q.Get("attachment_id"),
		AttachmentType: q.Get("attachment_type"), ParentVIFID: q.Get("parent_vif_id"), TransportZoneID: q.Get("transport_zone_id"),
		SwitchingProfileID: q.Get("switching_profile_id"), TransportNodeID: q.Get("transport_node_id"), BridgeClusterID: q.Get("bridge_cluster_id")}
	if f.AttachmentType != "" && !model.ValidAttachmentType(f.AttachmentType) {
		return f, badRequest("Invalid value %q for attachment_type: one of VIF, LOGICALROUTER, BRIDGEENDPOINT, DHCP_SERVICE, METADATA_PROXY, L2VPN_SESSION, NONE.", f.AttachmentType)
	}
	var err error
	if f.ContainerOnly, err = boolParam(r, "container_ports_only"); err != nil {
		return f, err
	}
	// diagnostic shows transit ports as well; the simulator has none.
	_, err = boolParam(r, "diagnostic")
	return f, err
}

func (m *Manager) listPorts(a model.PortAPI) http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		f, err := portFilter(r, a)
		if err != nil {
			return nil, err
		}
		size, err := pageSize(r)
		if err != nil {
			return nil, err
		}
		if a == model.PolicyAPI {
			if _, err := m.world.Segment(f.SwitchID); err != nil {
				return nil, notFound(f.SwitchID)
			}
		}
		page, next, total, err := m.world.ListPorts(a, f, r.URL.Query().Get("cursor"), size)
		if err != nil {
			return nil, err
		}
		m.raced(a, page...)
		if page, err = sorted(r, page); err != nil {
			return nil, err
		}
		return listBody(page, next, total), nil
	})
}

func (m *Manager) getPort(a model.PortAPI) http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		body, err := m.world.GetPort(a, r.PathValue("id"))
		if err != nil || (a == model.PolicyAPI && body["parent_path"] != "/infra/segments/"+r.PathValue("segment")) {
			return nil, notFound(r.PathValue("id"))
		}
		m.raced(a, body)
		return body, nil
	})
}

// createPort creates a logical port, as NCP makes pods' CHILD VIF ports.
func (m *Manager) createPort() http.HandlerFunc {
	return api.Handle(api.NSX, http.StatusCreated, func(r *http.Request, body *map[string]any) (any, error) {
		return m.world.CreateNSXPort(*body, userOf(r))
	})
}

func (m *Manager) putPort(a model.PortAPI) http.HandlerFunc {
	return api.Handle(api.NSX, http.StatusOK, func(r *http.Request, body *map[string]any) (any, error) {
		id := r.PathValue("id")
		if got, ok := (*body)["id"]; ok && got != id {
			return nil, badRequest("Id %v in the request body does not match %s in the URI.", got, id)
		}
		if a == model.PolicyAPI {
			if cur, err := m.world.GetPort(a, id); err != nil || cur["parent_path"] != "/infra/segments/"+r.PathValue("segment") {
				return nil, notFound(id)
			}
		}
		m.raceWrite(a, id)
		return m.world.UpdateNSXPort(a, id, *body, userOf(r), allowOverwrite(r))
	})
}

func allowOverwrite(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("X-Allow-Overwrite"), "true")
}

// patchPort merges the given top-level fields into a segment port, as the
// Policy API's PATCH does; a _revision, when given, must be current.
func (m *Manager) patchPort() http.HandlerFunc {
	return api.Handle(api.NSX, http.StatusOK, func(r *http.Request, patch *map[string]any) (any, error) {
		id := r.PathValue("id")
		current, err := m.world.GetPort(model.PolicyAPI, id)
		if err != nil || current["parent_path"] != "/infra/segments/"+r.PathValue("segment") {
			return nil, notFound(id)
		}
		if _, ok := (*patch)["_revision"]; !ok {
			(*patch)["_revision"] = current["_revision"]
		}
		m.raceWrite(model.PolicyAPI, id)
		for k, v := range *patch {
			current[k] = v
		}
		_, err = m.world.UpdateNSXPort(model.PolicyAPI, id, current, userOf(r), allowOverwrite(r))
		return nil, err
	})
}

func (m *Manager) listSwitches(r *http.Request) (any, error) {
	if err := checkParams(r, append([]string{"transport_zone_id", "transport_type", "switching_profile_id", "uplink_teaming_policy_name",
		"vlan", "vni", "diagnostic"}, listParams...)...); err != nil {
		return nil, err
	}
	tz := r.URL.Query().Get("transport_zone_id")
	var out []map[string]any
	for _, ls := range m.world.LogicalSwitches() {
		if tz == "" || ls.TransportZoneID == tz {
			out = append(out, model.SwitchBody(ls))
		}
	}
	out, err := sorted(r, out)
	if err != nil {
		return nil, err
	}
	return listBody(out, "", len(out)), nil
}

func (m *Manager) getSwitch(r *http.Request) (any, error) {
	for _, ls := range m.world.LogicalSwitches() {
		if ls.ID == r.PathValue("id") {
			return model.SwitchBody(ls), nil
		}
	}
	return nil, notFound(r.PathValue("id"))
}

func (m *Manager) listSegments(r *http.Request) (any, error) {
	if err := checkParams(r, append([]string{"include_mark_for_delete_objects", "connectivity_path", "segment_type"}, listParams...)...); err != nil {
		return nil, err
	}
	size, err := pageSize(r)
	if err != nil {
		return nil, err
	}
	page, next, total, err := m.world.Segments(r.URL.Query().Get("cursor"), size)
	if err != nil {
		return nil, err
	}
	if page, err = sorted(r, page); err != nil {
		return nil, err
	}
	return listBody(page, next, total), nil
}

func (m *Manager) getSegment(r *http.Request) (any, error) {
	seg, err := m.world.Segment(r.PathValue("segment"))
	if err != nil {
		return nil, notFound(r.PathValue("segment"))
	}
	return seg, nil
}

// search answers search queries (see model.ParseQuery) over the API's
// objects: logical ports and switches, or segments and segment ports.
func (m *Manager) search(a model.PortAPI) http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		if err := checkParams(r, append([]string{"query"}, listParams...)...); err != nil {
			return nil, err
		}
		q, err := model.ParseQuery(r.URL.Query().Get("query"))
		if err != nil {
			return nil, badRequest("%v", err)
		}
		size, err := pageSize(r)
		if err != nil {
			return nil, err
		}
		all, err := sorted(r, m.world.Search(a, q))
		if err != nil {
			return nil, err
		}
		start := 0
		if c := r.URL.Query().Get("cursor"); c != "" {
			if start, err = strconv.Atoi(c); err != nil || start < 0 || start > len(all) {
				return nil, badRequest("Invalid cursor %q", c)
			}
		}
		end := min(start+size, len(all))
		next := ""
		if end < len(all) {
			next = strconv.Itoa(end)
		}
		return listBody(all[start:end], next, len(all)), nil
	})
}
