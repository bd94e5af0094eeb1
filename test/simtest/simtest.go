// Package simtest runs tests against a viosim started for each (test machinery: the
// shipped binaries do not link it, nor the testing package).
package simtest

import (
	"context"
	"fmt"
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
