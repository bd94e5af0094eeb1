// Package sim is viosim: a stateful simulator of the VIO (Keystone, Nova,
// Neutron, Cinder, Octavia) and NSX-T Manager APIs that epks talks to, served
// over HTTPS on loopback with a CA it makes, with faults on demand and an
// introspection API. Tests use it like httptest; cmd/viosim serves it.
//
//	s, err := sim.New(sim.Options{Seed: model.ClusterSeed("k8scluster", 1, 2)})
//	if err := s.Start(); err != nil { ... }
//	defer s.Close()
//	authURL := s.URL(sim.Keystone) // https://127.0.0.1:PORT/v3
package sim

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/cinder"
	"github.com/epks/epks/pkg/sim/fault"
	"github.com/epks/epks/pkg/sim/glance"
	"github.com/epks/epks/pkg/sim/keystone"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/pkg/sim/neutron"
	"github.com/epks/epks/pkg/sim/nova"
	"github.com/epks/epks/pkg/sim/nsx"
	"github.com/epks/epks/pkg/sim/octavia"
)

// Service names, as fault rules and URL use them.
const (
	Keystone = "keystone"
	Nova     = "nova"
	Neutron  = "neutron"
	Cinder   = "cinder"
	Octavia  = "octavia"
	Glance   = "glance"
	NSX      = "nsx"
	Control  = "control"
)

// Options configure a simulator.
type Options struct {
	// Seed is the starting world [model.ClusterSeed("k8scluster", 1, 2)].
	Seed *model.Seed
	// Region of the catalog [RegionOne].
	Region string
	// Address to listen on [127.0.0.1]; only loopback addresses are
	// accepted unless AllowNonLoopback.
	Address          string
	AllowNonLoopback bool
	// OpenStackPort and NSXPort to listen on [0: any free port].
	OpenStackPort int
	NSXPort       int
	// PlainHTTP serves without TLS.
	PlainHTTP bool
	// DNSNames are added to the server certificate besides localhost.
	DNSNames []string
	// IPAddresses are added to the server certificate besides loopback and
	// Address: where ServeOn's listeners are reached (the gateway addresses
	// of the networks that booted servers reach viosim at).
	IPAddresses []string
	// Hostnames serve the OpenStack services under host names, as VIO does
	// with IP access off: Keystone's catalog (and the auth URL, URL and
	// Params) name each service (Keystone, Nova, Neutron, Cinder, Octavia)
	// by the host name given here, with the listener's port, and the
	// certificate carries the names. Nothing resolves them but what the
	// client is given: /etc/hosts entries (the pods' hostAliases) or a
	// resolver. A service without a name is named by IP.
	Hostnames map[string]string
	// NSXUser and NSXPassword are the NSX Manager's account
	// [admin / viosim-nsx-password].
	NSXUser, NSXPassword string
	// NSXRateLimit and NSXConcurrency are NSX's per-client limits [100/s, 40].
	NSXRateLimit   float64
	NSXConcurrency int
	// Transition is how long asynchronous status changes take [100ms].
	Transition time.Duration
	// TokenTTL is how long Keystone tokens last [1h].
	TokenTTL time.Duration
	// Log is the server's logger [none]: net/http's own lines (TLS
	// handshakes of clients that do not trust the CA, dropped connections,
	// expected here) at V(1).
	Log logr.Logger
}

// VIOHostnames are host names as VIO serves its endpoints with IP access
// off: the seed's for Keystone, Nova and Cinder, and Neutron's and Octavia's
// alike, for Options.Hostnames.
func VIOHostnames() map[string]string {
	return map[string]string{
		Keystone: "keystone.openstack.svc.cluster.local",
		Nova:     "nova.vio.local",
		Cinder:   "cinder.vio.local",
		Neutron:  "neutron.vio.local",
		Octavia:  "octavia.vio.local",
	}
}

// Server is a running simulator.
type Server struct {
	// World is the simulated state; tests read and change it directly.
	World *model.World
	// Seeded is what the seed created, by name.
	Seeded *model.Seeded
	// Faults holds the fault rules.
	Faults *fault.Injector
	// NSXManager is the simulated NSX Manager.
	NSXManager *nsx.Manager

	opts     Options
	ca       *authority
	servers  []*http.Server
	osURL    string
	nsxURL   string
	tokenTTL time.Duration

	osHandler, nsxHandler http.Handler
	booter                nova.Booter

	mu     sync.Mutex
	counts map[string]int
}

// New builds a simulator with its world seeded; Start serves it.
func New(opts Options) (*Server, error) {
	if opts.Address == "" {
		opts.Address = "127.0.0.1"
	}
	if ip := net.ParseIP(opts.Address); !opts.AllowNonLoopback && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("viosim listens on loopback addresses only, not %q", opts.Address)
	}
	if opts.NSXUser == "" {
		opts.NSXUser, opts.NSXPassword = "admin", "viosim-nsx-password"
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	seed := opts.Seed
	if seed == nil {
		s := model.ClusterSeed("k8scluster", 1, 2)
		seed = &s
	}
	world := model.New(model.Options{Region: opts.Region, Transition: opts.Transition})
	seeded, err := world.Apply(*seed)
	if err != nil {
		return nil, fmt.Errorf("seeding: %w", err)
	}
	s := &Server{World: world, Seeded: seeded, Faults: fault.New(), opts: opts, tokenTTL: opts.TokenTTL, counts: map[string]int{}}
	s.NSXManager = nsx.New(world, nsx.Config{
		Users:     map[string]string{opts.NSXUser: opts.NSXPassword},
		RateLimit: opts.NSXRateLimit, Concurrency: opts.NSXConcurrency,
	})
	if !opts.PlainHTTP {
		names := append([]string(nil), opts.DNSNames...)
		for _, svc := range []string{Keystone, Nova, Neutron, Cinder, Octavia} {
			if h := opts.Hostnames[svc]; h != "" {
				names = append(names, h)
			}
		}
		if s.ca, err = newAuthority(opts.Address, names, opts.IPAddresses); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Start listens and serves the OpenStack APIs and the NSX Manager.
func (s *Server) Start() error {
	osLn, err := net.Listen("tcp", net.JoinHostPort(s.opts.Address, fmt.Sprint(s.opts.OpenStackPort)))
	if err != nil {
		return fmt.Errorf("listening for the OpenStack APIs: %w", err)
	}
	nsxLn, err := net.Listen("tcp", net.JoinHostPort(s.opts.Address, fmt.Sprint(s.opts.NSXPort)))
	if err != nil {
		osLn.Close()
		return fmt.Errorf("listening for the NSX Manager: %w", err)
	}
	scheme := "https"
	if s.opts.PlainHTTP {
		scheme = "http"
	}
	s.osURL = scheme + "://" + osLn.Addr().String()
	s.nsxURL = scheme + "://" + nsxLn.Addr().String()
	s.osHandler = s.openStackHandler()
	faults := func(h http.Handler) http.Handler { return s.Faults.Wrap(NSX, api.NSX, h) }
	s.nsxHandler = s.count(NSX, s.NSXManager.Handler(faults))
	s.serve(osLn, s.osHandler, false)
	s.serve(nsxLn, s.nsxHandler, true)
	return nil
}

// SetBooter makes Nova run the servers it creates as virtual machines
// (package boot) instead of simulating them. Call it before Start; the
// caller closes the booter after Close.
func (s *Server) SetBooter(b nova.Booter) { s.booter = b }

// ServeOn serves the OpenStack APIs and the NSX Manager on more listeners
// besides the loopback ones, as they are served there (TLS with the same
// certificate): listeners in a network namespace, where booted servers reach
// viosim. Keystone's catalog still names the loopback address (or the host
// names of Options.Hostnames). Call it after Start; Close closes them.
func (s *Server) ServeOn(openStack, nsx net.Listener) error {
	if s.osHandler == nil {
		return errors.New("ServeOn before Start")
	}
	s.serve(openStack, s.osHandler, false)
	s.serve(nsx, s.nsxHandler, true)
	return nil
}

// Ports are the ports of the OpenStack APIs and of the NSX Manager.
func (s *Server) Ports() (openStack, nsx int) {
	port := func(u string) int {
		parsed, err := url.Parse(u)
		if err != nil {
			return 0
		}
		p, _ := strconv.Atoi(parsed.Port())
		return p
	}
	return port(s.osURL), port(s.nsxURL)
}

func (s *Server) serve(ln net.Listener, h http.Handler, clientCerts bool) {
	// Every request sees the transitions due before it came (World.Advance).
	advancing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.World.Advance()
		h.ServeHTTP(w, r)
	})
	srv := &http.Server{
		Handler:           advancing,
		ReadHeaderTimeout: 10 * time.Second,
		// HTTP/1.1 only, so that dropped-connection faults can hijack.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     httpErrorLog(s.opts.Log),
	}
	if s.ca != nil {
		cfg := &tls.Config{Certificates: []tls.Certificate{s.ca.serving}, MinVersion: tls.VersionTLS12}
		if clientCerts {
			// NSX principal identities present client certificates.
			cfg.ClientAuth = tls.RequestClientCert
		}
		srv.TLSConfig = cfg
		ln = tls.NewListener(ln, cfg)
	}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
}

// httpErrorLog gives net/http's log lines to log, at V(1).
func httpErrorLog(log logr.Logger) *stdlog.Logger {
	return stdlog.New(logWriter{log.WithName("http").V(1)}, "", 0)
}

type logWriter struct{ log logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	if w.log.Enabled() {
		w.log.Info(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// openStackHandler mounts every OpenStack service below its path.
func (s *Server) openStackHandler() http.Handler {
	base := s.baseURL
	mount := func(mux *http.ServeMux, prefix, service string, d api.Dialect, h http.Handler) {
		inner := s.count(service, s.Faults.Wrap(service, d, h))
		mux.Handle(prefix+"/", http.StripPrefix(prefix, inner))
		// The catalog's URL itself (no slash) is the version document, as the
		// services answer it: clients such as keystoneauth do not follow
		// ServeMux's relative redirect to the slashed path.
		mux.Handle(prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2 := r.Clone(r.Context())
			r2.URL.Path, r2.URL.RawPath = "/", ""
			inner.ServeHTTP(w, r2)
		}))
	}
	mux := http.NewServeMux()
	mount(mux, "/compute/v2.1", Nova, api.NovaCinder, nova.Handler(s.World, func() string { return s.osURL + "/compute/v2.1" }, s.booter))
	mount(mux, "/network", Neutron, api.Neutron, neutron.Handler(s.World, func() string { return s.osURL + "/network" }))
	mount(mux, "/volume", Cinder, api.NovaCinder, cinder.Handler(s.World, func() string { return s.osURL + "/volume" }))
	mount(mux, "/load-balancer", Octavia, api.Octavia, octavia.Handler(s.World, func() string { return s.osURL + "/load-balancer" }))
	mount(mux, "/image", Glance, api.Glance, glance.Handler(s.World, func() string { return s.osURL + "/image" }))
	mux.Handle("/control/", s.controlHandler())
	ks := keystone.Handler(s.World, keystone.Config{
		BaseURL: base(Keystone),
		Services: []keystone.Service{
			{Type: "compute", Name: "nova", URL: base(Nova) + "/compute/v2.1"},
			{Type: "network", Name: "neutron", URL: base(Neutron) + "/network"},
			{Type: "block-storage", Name: "cinder", URL: base(Cinder) + "/volume/v3/{project_id}"},
			{Type: "volumev3", Name: "cinderv3", URL: base(Cinder) + "/volume/v3/{project_id}"},
			{Type: "load-balancer", Name: "octavia", URL: base(Octavia) + "/load-balancer"},
			{Type: "image", Name: "glance", URL: base(Glance) + "/image"},
		},
		TokenTTL: func() time.Duration {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.tokenTTL
		},
	})
	mux.Handle("/", s.count(Keystone, s.Faults.Wrap(Keystone, api.Keystone, ks)))
	return mux
}

// Close stops serving and the world's pending changes.
func (s *Server) Close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	s.World.Close()
}

// baseURL is where a service is served: scheme://host:port, with the
// service's host name when Options.Hostnames gives one.
func (s *Server) baseURL(service string) string {
	h := s.opts.Hostnames[service]
	if h == "" {
		return s.osURL
	}
	u, err := url.Parse(s.osURL)
	if err != nil {
		return s.osURL
	}
	u.Host = net.JoinHostPort(h, u.Port())
	return u.String()
}

// Hostname is the host name a service is served under, or "" when it is
// named by IP.
func (s *Server) Hostname(service string) string { return s.opts.Hostnames[service] }

// Address is the IP the OpenStack APIs listen on.
func (s *Server) Address() string { return s.opts.Address }

// URL returns the endpoint of a service as Keystone's catalog names it
// (by host name with Options.Hostnames): Keystone's is its v3 URL, NSX's
// the Manager's base URL.
func (s *Server) URL(service string) string {
	switch service {
	case Keystone:
		return s.baseURL(Keystone) + "/v3"
	case Nova:
		return s.baseURL(Nova) + "/compute/v2.1"
	case Neutron:
		return s.baseURL(Neutron) + "/network"
	case Cinder:
		return s.baseURL(Cinder) + "/volume/v3/" + s.Seeded.Project.ID
	case Octavia:
		return s.baseURL(Octavia) + "/load-balancer"
	case Glance:
		return s.baseURL(Glance) + "/image"
	case NSX:
		return s.nsxURL
	case Control:
		return s.osURL + "/control/v1"
	}
	return ""
}

// NSXAddress is the NSX Manager's host:port.
func (s *Server) NSXAddress() string {
	return strings.TrimPrefix(strings.TrimPrefix(s.nsxURL, "https://"), "http://")
}

// CACertPEM is the CA that signed the simulator's certificate; nil with
// plain HTTP.
func (s *Server) CACertPEM() []byte {
	if s.ca == nil {
		return nil
	}
	return s.ca.certPEM
}

// TLSConfig is a client TLS configuration that trusts the simulator.
func (s *Server) TLSConfig() *tls.Config {
	if s.ca == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.ca.pool(), MinVersion: tls.VersionTLS12}
}

// HTTPClient is a client that trusts the simulator.
func (s *Server) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: s.TLSConfig()}, Timeout: 30 * time.Second}
}

// NSXCredentials returns the NSX Manager's user and password.
func (s *Server) NSXCredentials() (string, string) { return s.opts.NSXUser, s.opts.NSXPassword }

// SetTokenTTL changes how long new Keystone tokens last.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenTTL = d
}

// idSegment matches path segments that are ids (UUIDs or hex).
var idSegment = regexp.MustCompile(`^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$`)

// route names a request for counting: "service METHOD /path/{id}".
func route(service string, r *http.Request) string {
	parts := strings.Split(r.URL.Path, "/")
	for i, p := range parts {
		if idSegment.MatchString(p) {
			parts[i] = "{id}"
		}
	}
	return service + " " + r.Method + " " + strings.Join(parts, "/")
}

// count records every request of a service by route and status.
func (s *Server) count(service string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.mu.Lock()
		s.counts[route(service, r)]++
		s.counts[fmt.Sprintf("%s status %d", service, rec.status)]++
		s.mu.Unlock()
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Hijack lets the dropped-connection fault through the recorder.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijacking not supported")
	}
	return hj.Hijack()
}

// RequestCounts returns how many requests each route got, keyed
// "service METHOD /path/{id}", and each service's answers by status, keyed
// "service status 429".
func (s *Server) RequestCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// ResetRequestCounts sets every count back to zero.
func (s *Server) ResetRequestCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
}

// CountsWithPrefix sums the counts whose key starts with prefix.
func (s *Server) CountsWithPrefix(prefix string) int {
	n := 0
	for k, v := range s.RequestCounts() {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// Routes lists the counted routes, sorted.
func (s *Server) Routes() []string {
	var out []string
	for k := range s.RequestCounts() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
