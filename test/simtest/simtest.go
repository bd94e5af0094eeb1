// Package simtest runs tests against a viosim started for each (test machinery: the
// shipped binaries do not link it, nor the testing package).
package simtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/epks/epks/pkg/sim"

	"github.com/gophercloud/gophercloud/v2"
)

// Test runs fn against a simulator started for it (with opts, fast
// transitions unless set) and a gophercloud client authenticated as the
// seed's admin user in the seed's project; the simulator is closed when
// the test ends. It is the counterpart of govmomi's simulator.Test:
//
//	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
//		network, _ := openstack.NewNetworkV2(pc, gophercloud.EndpointOpts{})
//		...
//	})
func Test(t testing.TB, fn func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient), opts ...sim.Options) {
	t.Helper()
	var o sim.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Transition == 0 {
		o.Transition = 5 * time.Millisecond
	}
	s, err := sim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pc, err := s.Provider(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	fn(ctx, s, pc)
}

// OpenStackValues are the epks-addons chart's openstack values for a user of
// the seed (the admin when user is ""), in the seed's project and region,
// trusting the simulator's CA: the values test/chartconf renders the chart's
// cloud.conf from, for a program that reads it to talk to s.
func OpenStackValues(s *sim.Server, user string) (map[string]any, error) {
	if user == "" {
		user = "admin"
	}
	u, ok := s.Seeded.Users[user]
	if !ok {
		return nil, fmt.Errorf("the seed has no user %s", user)
	}
	return map[string]any{
		"authURL": s.URL(sim.Keystone), "username": u.Name, "password": u.Password, "userDomainID": u.DomainID,
		"projectID": s.Seeded.Project.ID, "projectDomainID": s.Seeded.Project.DomainID, "region": s.World.Region,
		"caBundle": string(s.CACertPEM()),
	}, nil
}

// Call is one raw request of a table test: a method, a URL, a body (none
// when empty) and headers beside the token.
type Call struct {
	Method, URL, Body string
	Header            map[string]string
}

// Answer is what a service answered a Call.
type Answer struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends c with the token of pc, as a client that checks status codes
// and bodies itself (no retries, no error on a 4xx).
func Do(t testing.TB, s *sim.Server, pc *gophercloud.ProviderClient, c Call) Answer {
	t.Helper()
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequest(c.Method, c.URL, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", pc.Token())
	if c.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.Header {
		req.Header.Set(k, v)
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.Method, c.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", c.Method, c.URL, err)
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// Until waits up to 5 seconds, polling every 5 ms, for cond to hold: a
// status change the simulator makes after its transition delay. An error
// from cond, or the time running out, fails the test naming what.
func Until(t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen in time", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
