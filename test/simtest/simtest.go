// Package simtest runs tests against a viosim started for each (test machinery: the
// shipped binaries do not link it, nor the testing package).
package simtest

import (
	"context"
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
