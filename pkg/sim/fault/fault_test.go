package fault_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/fault"
	"github.com/epks/epks/test/simtest"
)

// TestFaults: rules that retire after a count, dropped connections,
// latency, and errors in the service's own format.
func TestFaults(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		compute, _ := openstack.NewComputeV2(pc, gophercloud.EndpointOpts{})
		list := func() error {
			_, err := servers.List(compute, nil).AllPages(ctx)
			return err
		}

		// Two 503s for listing servers, then success: the rule retires.
		rule, err := s.Faults.Add(fault.Rule{Service: sim.Nova, Method: "GET", Path: "/servers", Status: 503, Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if err := list(); !gophercloud.ResponseCodeIs(err, http.StatusServiceUnavailable) {
				t.Fatalf("request %d: want 503, got %v", i, err)
			}
		}
		if err := list(); err != nil {
			t.Fatalf("after the fault retired: %v", err)
		}
		if len(s.Faults.Rules()) != 0 {
			t.Errorf("rule %s did not retire", rule.ID)
		}
		if n := s.RequestCounts()["nova status 503"]; n != 2 {
			t.Errorf("counted %d 503s", n)
		}

		// A dropped connection is an error without an HTTP status (Go's client
		// retries a GET once on a dropped keep-alive connection, so the rule
		// stays until removed).
		drop, err := s.Faults.Add(fault.Rule{Service: sim.Nova, Drop: true})
		if err != nil {
			t.Fatal(err)
		}
		err = list()
		var code gophercloud.ErrUnexpectedResponseCode
		if err == nil || errors.As(err, &code) {
			t.Fatalf("a dropped connection: %v", err)
		}
		s.Faults.Remove(drop.ID)

		// Latency.
		if _, err := s.Faults.Add(fault.Rule{Service: sim.Nova, Latency: fault.Duration(200 * time.Millisecond), Count: 1}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := list(); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) < 200*time.Millisecond {
			t.Error("the latency was not added")
		}

		// Faults in the service's own error format (Neutron's here).
		if _, err := s.Faults.Add(fault.Rule{Service: sim.Neutron, Status: 500, Count: 1}); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, s.URL(sim.Neutron)+"/v2.0/ports", nil)
		req.Header.Set("X-Auth-Token", pc.Token())
		resp, err := s.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		resp.Body.Close()
		if resp.StatusCode != 500 || !strings.Contains(string(buf[:n]), "NeutronError") {
			t.Errorf("Neutron fault body: %d %s", resp.StatusCode, buf[:n])
		}

		for _, bad := range []fault.Rule{{Status: 200}, {Probability: 2, Status: 500}, {Path: "(", Status: 500}, {}} {
			if _, err := s.Faults.Add(bad); err == nil {
				t.Errorf("rule %+v accepted", bad)
			}
		}
	})
}
