package sim_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/epks/epks/pkg/sim"
)

// TestUnservedRoutes asks each service, through the whole simulator and
// with a valid token, for a route it does not serve and with a method a
// path does not take: each answers in its own format, 404 or 405 as its
// router does.
func TestUnservedRoutes(t *testing.T) {
	s := start(t, sim.Options{})
	pc := provider(t, s, gophercloud.AuthOptions{})
	for _, tc := range []struct {
		method, url string
		status      int
		body        string
	}{
		{"GET", s.URL(sim.Nova) + "/os-nothing", 404, `"itemNotFound"`},
		{"DELETE", s.URL(sim.Nova) + "/servers", 404, `"itemNotFound"`},
		{"GET", s.URL(sim.Neutron) + "/v2.0/nothings", 404, `"type":"HTTPNotFound"`},
		{"DELETE", s.URL(sim.Neutron) + "/v2.0/networks", 405, `"type":"HTTPMethodNotAllowed"`},
		{"GET", s.URL(sim.Cinder) + "/nothings", 404, `"itemNotFound"`},
		{"PATCH", s.URL(sim.Cinder) + "/volumes", 404, `"itemNotFound"`},
		{"GET", s.URL(sim.Octavia) + "/v2/lbaas/nothings", 404, `"faultstring"`},
		{"PATCH", s.URL(sim.Octavia) + "/v2/lbaas/loadbalancers", 405, `"faultstring"`},
		{"GET", s.URL(sim.Keystone) + "/nothings", 404, `"error":{"code":404`},
		{"DELETE", s.URL(sim.Keystone) + "/regions", 405, `"error":{"code":405`},
		{"GET", s.URL(sim.Glance) + "/v2/nothings", 404, "404 Not Found\n\n"},
		{"PATCH", s.URL(sim.Glance) + "/v2/images", 405, "405 Method Not Allowed\n\n"},
		{"GET", s.URL(sim.Control) + "/nothing", 404, `"error"`},
	} {
		req, _ := http.NewRequest(tc.method, tc.url, nil)
		req.Header.Set("X-Auth-Token", pc.Token())
		resp, err := s.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
			t.Errorf("%s %s: %d %s, want %d with %q", tc.method, tc.url, resp.StatusCode, body, tc.status, tc.body)
		}
	}
}
