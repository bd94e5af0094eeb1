package sim

import (
	"context"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// Test runs fn against a simulator started for it (with opts, fast
// transitions unless set) and a gophercloud client authenticated as the
// seed's admin user in the seed's project; the simulator is closed when
// the test ends. It is the counterpart of govmomi's simulator.Test:
//
//	sim.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
//		network, _ := openstack.NewNetworkV2(pc, gophercloud.EndpointOpts{})
//		...
//	})
func Test(t testing.TB, fn func(ctx context.Context, s *Server, pc *gophercloud.ProviderClient), opts ...Options) {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Transition == 0 {
		o.Transition = 5 * time.Millisecond
	}
	s, err := New(o)
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

// Provider authenticates with gophercloud as a seeded user ("" for the
// first, the seed's admin) in the seed's project, trusting the
// simulator's CA.
func (s *Server) Provider(ctx context.Context, user string) (*gophercloud.ProviderClient, error) {
	if user == "" {
		user = "admin"
	}
	u, ok := s.Seeded.Users[user]
	if !ok {
		return nil, &model404{user}
	}
	pc, err := openstack.NewClient(s.URL(Keystone))
	if err != nil {
		return nil, err
	}
	pc.HTTPClient = *s.HTTPClient()
	err = openstack.Authenticate(ctx, pc, gophercloud.AuthOptions{
		IdentityEndpoint: s.URL(Keystone), Username: u.Name, Password: u.Password, DomainID: u.DomainID,
		TenantID: s.Seeded.Project.ID, AllowReauth: true,
	})
	if err != nil {
		return nil, err
	}
	return pc, nil
}

type model404 struct{ user string }

func (e *model404) Error() string { return "the seed has no user " + e.user }
