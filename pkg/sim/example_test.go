package sim_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/fault"
	"github.com/epks/epks/pkg/sim/model"
)

// Example starts a simulated cloud of one control-plane and two worker
// servers and lists them with gophercloud.
func Example() {
	seed := model.ClusterSeed("demo", 1, 2)
	s, err := sim.New(sim.Options{Seed: &seed})
	if err != nil {
		panic(err)
	}
	if err := s.Start(); err != nil {
		panic(err)
	}
	defer s.Close()

	ctx := context.Background()
	pc, _ := openstack.NewClient(s.URL(sim.Keystone))
	pc.HTTPClient = *s.HTTPClient() // trusts the simulator's CA
	err = openstack.Authenticate(ctx, pc, gophercloud.AuthOptions{
		IdentityEndpoint: s.URL(sim.Keystone), Username: "admin", Password: "viosim-password",
		DomainID: "default", TenantID: s.Seeded.Project.ID,
	})
	if err != nil {
		panic(err)
	}
	compute, _ := openstack.NewComputeV2(pc, gophercloud.EndpointOpts{})
	page, _ := servers.List(compute, servers.ListOpts{Name: "^demo-"}).AllPages(ctx)
	list, _ := servers.ExtractServers(page)
	for _, srv := range list {
		fmt.Println(srv.Name, srv.Status)
	}
	// Output:
	// demo-master-0 ACTIVE
	// demo-minion-0 ACTIVE
	// demo-minion-1 ACTIVE
}

// Example_faults breaks the simulated cloud: the next two server lists
// fail with 503, in Nova's error format.
func Example_faults() {
	s, _ := sim.New(sim.Options{})
	_ = s.Start()
	defer s.Close()

	_, _ = s.Faults.Add(fault.Rule{Service: sim.Nova, Method: http.MethodGet, Path: "^/servers", Status: 503, Count: 2})
	for _, r := range s.Faults.Rules() {
		fmt.Println(r.Service, r.Method, r.Path, r.Status, r.Count)
	}
	// Output:
	// nova GET ^/servers 503 2
}

// Example_nsxPorts reads the NSX ports of the nodes' NICs and their tags
// through the Go API, as tests assert on what the cloud holds.
func Example_nsxPorts() {
	seed := model.ClusterSeed("demo", 1, 0)
	s, _ := sim.New(sim.Options{Seed: &seed})
	defer s.Close()
	for _, p := range s.NSXPorts(model.ManagerAPI) {
		server, _ := s.World.Server(p.ServerID)
		fmt.Println(server.Name, len(p.Tags), "tags")
	}
	// Output:
	// demo-master-0 6 tags
	// demo-master-0 6 tags
}
