package nsx_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epks/epks/pkg/nsx"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/fault"
	"github.com/epks/epks/pkg/sim/model"
)

func simulator(t *testing.T, opts sim.Options) *sim.Server {
	t.Helper()
	s, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

type observed struct {
	mu       sync.Mutex
	statuses map[int]int
}

func (o *observed) observe(_ string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.statuses[status]++
}

func (o *observed) count(status int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.statuses[status]
}

func client(t *testing.T, s *sim.Server, edit func(*nsx.Config)) (*nsx.Client, *observed) {
	t.Helper()
	user, password := s.NSXCredentials()
	obs := &observed{statuses: map[int]int{}}
	cfg := nsx.Config{Managers: []string{s.NSXAddress()}, Username: user, Password: password,
		RootCAs: s.TLSConfig().RootCAs, Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Observe: obs.observe}
	if edit != nil {
		edit(&cfg)
	}
	c, err := nsx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, obs
}

func podScope(t *testing.T, s *sim.Server, ports nsx.Ports) string {
	t.Helper()
	scope, err := ports.Scope(context.Background(), s.Seeded.Networks["k8scluster-pod"].ID)
	if err != nil {
		t.Fatal(err)
	}
	return scope
}

func TestManagerPorts(t *testing.T) {
	s := simulator(t, sim.Options{})
	c, obs := client(t, s, func(c *nsx.Config) { c.PageSize = 2 })
	ctx := context.Background()
	ports, _ := nsx.NewPorts(c, nsx.ManagerMode)
	scope := podScope(t, s, ports)
	ls, _ := s.World.LogicalSwitchOfNetwork(s.Seeded.Networks["k8scluster-pod"].ID)
	if scope != ls.ID {
		t.Fatalf("scope %s, want the pod network's switch %s", scope, ls.ID)
	}
	var all []nsx.Port
	pages := 0
	if err := ports.List(ctx, scope, func(p []nsx.Port) error { pages++; all = append(all, p...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || pages != 2 {
		t.Fatalf("%d ports in %d pages, want 3 in 2", len(all), pages)
	}
	// Only the session login and lists: no basic auth needed on each call.
	if s.CountsWithPrefix("nsx POST /api/session/create") != 1 {
		t.Errorf("logged in %d times", s.CountsWithPrefix("nsx POST /api/session/create"))
	}

	// Update keeps unknown fields and bumps the revision; a stale write is
	// recognized.
	p := all[0]
	obj, err := p.Object()
	if err != nil {
		t.Fatal(err)
	}
	obj["future_field"] = "kept"
	p.Raw, _ = json.Marshal(obj)
	p.Tags, _ = nsx.SetScopes(p.Tags, map[string]string{"ncp/cluster": "k8scluster"})
	updated, err := ports.Update(ctx, scope, p)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := updated.Object()
	if updated.Revision != p.Revision+1 || back["future_field"] != "kept" {
		t.Errorf("after update: %s", updated.Raw)
	}
	if _, err := ports.Update(ctx, scope, p); !nsx.IsStaleRevision(err) {
		t.Fatalf("a stale write: %v", err)
	}
	got, err := ports.ByAttachment(ctx, scope, p.AttachmentID)
	if err != nil || got == nil || got.ID != p.ID {
		t.Fatalf("by attachment: %+v %v", got, err)
	}
	if v, _ := nsx.Value(got.Tags, "ncp/cluster"); v != "k8scluster" {
		t.Errorf("tag not stored: %v", got.Tags)
	}
	if _, err := ports.Get(ctx, scope, "no-such-port"); !nsx.IsNotFound(err) {
		t.Errorf("a missing port: %v", err)
	}
	if obs.count(0) != 0 {
		t.Errorf("%d transport errors", obs.count(0))
	}
}

func TestPolicyPorts(t *testing.T) {
	s := simulator(t, sim.Options{})
	c, _ := client(t, s, nil)
	ctx := context.Background()
	ports, _ := nsx.NewPorts(c, nsx.PolicyMode)
	scope := podScope(t, s, ports)
	var all []nsx.Port
	if err := ports.List(ctx, scope, func(p []nsx.Port) error { all = append(all, p...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("%d segment ports", len(all))
	}
	p := all[1]
	p.Tags, _ = nsx.SetScopes(p.Tags, map[string]string{"ncp/node_name": "k8scluster-minion-0"})
	if _, err := ports.Update(ctx, scope, p); err != nil {
		t.Fatal(err)
	}
	tags, _ := s.World.PortTags(model.PolicyAPI, p.ID)
	if v, _ := nsx.Value(nsxTags(tags), "ncp/node_name"); v != "k8scluster-minion-0" {
		t.Errorf("segment port tags %v", tags)
	}
	if got, err := ports.ByAttachment(ctx, scope, "missing"); got != nil || err != nil {
		t.Errorf("missing segment port: %v %v", got, err)
	}
}

func nsxTags(tags []model.Tag) []nsx.Tag {
	out := make([]nsx.Tag, len(tags))
	for i, t := range tags {
		out[i] = nsx.Tag{Scope: t.Scope, Tag: t.Tag}
	}
	return out
}

// TestRetries: 429 bursts, 503s and dropped connections are retried with
// backoff until they pass; a 404 is not retried.
func TestRetries(t *testing.T) {
	s := simulator(t, sim.Options{})
	c, obs := client(t, s, nil)
	ctx := context.Background()
	for _, r := range []fault.Rule{
		{Service: sim.NSX, Path: "/api/v1/node/version", Status: 429, Count: 3},
		{Service: sim.NSX, Path: "/api/v1/node/version", Status: 503, Count: 2},
		{Service: sim.NSX, Path: "/api/v1/node/version", Drop: true, Count: 2},
	} {
		if _, err := s.Faults.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	var v map[string]any
	if err := c.Do(ctx, http.MethodGet, "/api/v1/node/version", nil, &v); err != nil {
		t.Fatalf("retries did not get through: %v", err)
	}
	if v["node_version"] == nil {
		t.Errorf("answer %v", v)
	}
	if obs.count(429) != 3 || obs.count(503) != 2 {
		t.Errorf("observed %v", obs.statuses)
	}
	before := s.CountsWithPrefix("nsx GET /api/v1/logical-ports/")
	if err := c.Do(ctx, http.MethodGet, "/api/v1/logical-ports/none", nil, nil); !nsx.IsNotFound(err) {
		t.Fatalf("404: %v", err)
	}
	if n := s.CountsWithPrefix("nsx GET /api/v1/logical-ports/") - before; n != 1 {
		t.Errorf("a 404 was sent %d times", n)
	}
	// Retries are bounded.
	if _, err := s.Faults.Add(fault.Rule{Service: sim.NSX, Path: "/api/v1/node/version", Status: 503}); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, http.MethodGet, "/api/v1/node/version", nil, nil); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("endless 503s: %v", err)
	}
}

// TestStaysUnderLimits sends more requests than NSX's per-client rate would
// take at once and gets no 429: the client paces itself.
func TestStaysUnderLimits(t *testing.T) {
	s := simulator(t, sim.Options{NSXRateLimit: 12, NSXConcurrency: 3})
	c, obs := client(t, s, func(c *nsx.Config) { c.RateLimit = 10; c.Concurrency = 3 })
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 25)
	for i := 0; i < 25; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.Do(ctx, http.MethodGet, "/api/v1/node/version", nil, nil)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := obs.count(429); n != 0 {
		t.Errorf("%d answers were 429: the client went over NSX's limit", n)
	}
}

func TestFailoverAndTLS(t *testing.T) {
	s := simulator(t, sim.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	c, _ := client(t, s, func(c *nsx.Config) { c.Managers = []string{dead, s.NSXAddress()} })
	if err := c.Do(context.Background(), http.MethodGet, "/api/v1/node/version", nil, nil); err != nil {
		t.Fatalf("no failover to the second manager: %v", err)
	}
	// Without the simulator's CA, TLS verification fails: it is on by default.
	untrusted, _ := client(t, s, func(c *nsx.Config) { c.RootCAs = nil; c.MaxRetries = 1 })
	err = untrusted.Do(context.Background(), http.MethodGet, "/api/v1/node/version", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an unverified manager was accepted: %v", err)
	}
	// A wrong password fails without showing it.
	bad, _ := client(t, s, func(c *nsx.Config) { c.Password = "s3cret-wrong" })
	err = bad.Do(context.Background(), http.MethodGet, "/api/v1/node/version", nil, nil)
	if err == nil || strings.Contains(err.Error(), "s3cret-wrong") || !strings.Contains(err.Error(), "403") {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []nsx.Config{
		{},
		{Managers: []string{"nsx"}},
		{Managers: []string{"http://[bad"}, Username: "u", Password: "p"},
	} {
		if _, err := nsx.New(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	if _, err := nsx.NewPorts(nil, "simplified"); err == nil {
		t.Error("unknown API mode accepted")
	}
}

// TestThumbprintPinning: with thumbprints, the client accepts viosim's NSX
// Manager by its leaf certificate alone (no CA, as for VIO's self-signed
// Manager) and refuses a Manager whose certificate is not pinned.
func TestThumbprintPinning(t *testing.T) {
	s := simulator(t, sim.Options{})
	// The Manager's real leaf, read through a verified handshake.
	conn, err := tls.Dial("tcp", s.NSXAddress(), s.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	sum := sha256.Sum256(leaf.Raw)
	right := hex.EncodeToString(sum[:])
	wrong := strings.Repeat("ab", 32)
	ctx := context.Background()
	get := func(edit func(*nsx.Config)) error {
		c, _ := client(t, s, func(c *nsx.Config) {
			c.RootCAs, c.MaxRetries = nil, 1
			edit(c)
		})
		return c.Do(ctx, http.MethodGet, "/api/v1/node/version", nil, nil)
	}
	if err := get(func(c *nsx.Config) { c.Thumbprints = []string{wrong, right} }); err != nil {
		t.Fatalf("the pinned thumbprint is refused: %v", err)
	}
	// NSX's colon-separated upper-case form is the same pin.
	colons := strings.ToUpper(right)
	var pairs []string
	for i := 0; i < len(colons); i += 2 {
		pairs = append(pairs, colons[i:i+2])
	}
	if err := get(func(c *nsx.Config) { c.Thumbprints = []string{strings.Join(pairs, ":")} }); err != nil {
		t.Fatalf("the colon form is refused: %v", err)
	}
	err = get(func(c *nsx.Config) { c.Thumbprints = []string{wrong} })
	if err == nil || !strings.Contains(err.Error(), "not a pinned thumbprint") || !strings.Contains(err.Error(), right) {
		t.Fatalf("a wrong thumbprint connects, or the error does not say what the Manager presented: %v", err)
	}
	// The pin replaces the CA: trusting viosim's CA does not let a wrong pin through.
	err = get(func(c *nsx.Config) { c.RootCAs = s.TLSConfig().RootCAs; c.Thumbprints = []string{wrong} })
	if err == nil {
		t.Fatal("a wrong thumbprint connects when the CA is trusted too")
	}
	if _, err := nsx.New(nsx.Config{Managers: []string{"nsx"}, Username: "u", Password: "p", Thumbprints: []string{"abc"}}); err == nil {
		t.Error("a malformed thumbprint is accepted")
	}
}
