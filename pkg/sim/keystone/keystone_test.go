package keystone_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/endpoints"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/regions"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/simtest"
)

var eo = gophercloud.EndpointOpts{Region: "RegionOne"}

// authenticate logs in with gophercloud.
func authenticate(t *testing.T, s *sim.Server, opts gophercloud.AuthOptions) *gophercloud.ProviderClient {
	t.Helper()
	pc, err := openstack.NewClient(s.URL(sim.Keystone))
	if err != nil {
		t.Fatal(err)
	}
	pc.HTTPClient = *s.HTTPClient()
	opts.IdentityEndpoint = s.URL(sim.Keystone)
	opts.AllowReauth = true
	if err := openstack.Authenticate(context.Background(), pc, opts); err != nil {
		t.Fatalf("authenticating: %v", err)
	}
	return pc
}

func TestAuthentication(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, _ *gophercloud.ProviderClient) {
		// Application credentials authenticate too.
		pc := authenticate(t, s, gophercloud.AuthOptions{ApplicationCredentialID: "viosim-app-cred", ApplicationCredentialSecret: "viosim-app-secret"})
		compute, err := openstack.NewComputeV2(pc, eo)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := servers.List(compute, nil).AllPages(ctx); err != nil {
			t.Fatalf("listing with an application credential token: %v", err)
		}

		// A wrong password is 401.
		bad, _ := openstack.NewClient(s.URL(sim.Keystone))
		bad.HTTPClient = *s.HTTPClient()
		err = openstack.Authenticate(ctx, bad, gophercloud.AuthOptions{IdentityEndpoint: s.URL(sim.Keystone),
			Username: "admin", Password: "wrong", DomainID: "default", TenantID: s.Seeded.Project.ID})
		if !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
			t.Fatalf("wrong password: %v", err)
		}

		// Every call checks the token; when tokens expire, gophercloud
		// re-authenticates and the call succeeds.
		req, _ := http.NewRequest(http.MethodGet, s.URL(sim.Nova)+"/servers", nil)
		req.Header.Set("X-Auth-Token", "not-a-token")
		resp, err := s.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a bad token: %d", resp.StatusCode)
		}
		s.World.ExpireTokens()
		if _, err := servers.List(compute, nil).AllPages(ctx); err != nil {
			t.Fatalf("after the tokens expired: %v", err)
		}
		if s.CountsWithPrefix("keystone POST /v3/auth/tokens") < 2 {
			t.Error("gophercloud did not re-authenticate")
		}
	})
}

// TestProjectsEndpointsRegionsPolicy reads projects, endpoints and
// regions as an admin and as a member, with Keystone's default policy.
func TestProjectsEndpointsRegionsPolicy(t *testing.T) {
	seed := model.ClusterSeed("k8scluster", 1, 0)
	seed.Users = append(seed.Users, model.SeedUser{Name: "member", Password: "pw", Roles: []string{"member", "reader"}})
	simtest.Test(t, func(ctx context.Context, s *sim.Server, admin *gophercloud.ProviderClient) {
		project := s.Seeded.Project.ID
		member := authenticate(t, s, gophercloud.AuthOptions{Username: "member", Password: "pw", DomainID: "default", TenantID: project})
		if r, err := tokens.Get(ctx, mustIdentity(t, member), member.Token()).ExtractRoles(); err != nil || len(r) != 2 {
			t.Errorf("the member's token roles: %v %v", r, err)
		}
		for _, tc := range []struct {
			who   string
			pc    *gophercloud.ProviderClient
			allow bool
		}{{"admin", admin, true}, {"member", member, false}} {
			identity := mustIdentity(t, tc.pc)
			pages, err := projects.List(identity, nil).AllPages(ctx)
			if tc.allow {
				list, _ := projects.ExtractProjects(pages)
				if err != nil || len(list) != 1 || list[0].ID != project {
					t.Errorf("%s: projects %+v %v", tc.who, list, err)
				}
			} else if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
				t.Errorf("%s: listing projects: %v", tc.who, err)
			}
			if p, err := projects.Get(ctx, identity, project).Extract(); err != nil || p.Name != "demo" {
				t.Errorf("%s: its own project: %+v %v", tc.who, p, err)
			}
			pages, err = endpoints.List(identity, endpoints.ListOpts{Availability: gophercloud.AvailabilityPublic}).AllPages(ctx)
			if tc.allow {
				list, _ := endpoints.ExtractEndpoints(pages)
				if err != nil || len(list) != 7 {
					t.Errorf("%s: %d public endpoints, %v", tc.who, len(list), err)
				}
			} else if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
				t.Errorf("%s: listing endpoints: %v", tc.who, err)
			}
			pages, err = regions.List(identity, nil).AllPages(ctx)
			if list, _ := regions.ExtractRegions(pages); err != nil || len(list) != 1 || list[0].ID != "RegionOne" {
				t.Errorf("%s: regions %+v %v", tc.who, list, err)
			}
		}
		if _, err := projects.Get(ctx, mustIdentity(t, member), "0123456789abcdef0123456789abcdef").Extract(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
			t.Errorf("the member reading another project: %v", err)
		}
	}, sim.Options{Seed: &seed})
}

func mustIdentity(t *testing.T, pc *gophercloud.ProviderClient) *gophercloud.ServiceClient {
	t.Helper()
	c, err := openstack.NewIdentityV3(pc, eo)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
