package sim

import (
	"context"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

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
