package sim_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/epks/epks/pkg/sim"
)

// start runs a simulator of a cluster of 1 control-plane and 2 workers.
func start(t testing.TB, opts sim.Options) *sim.Server {
	t.Helper()
	if opts.Transition == 0 {
		opts.Transition = 5 * time.Millisecond
	}
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

// provider authenticates with gophercloud as the seeded admin.
func provider(t testing.TB, s *sim.Server, opts gophercloud.AuthOptions) *gophercloud.ProviderClient {
	t.Helper()
	pc, err := openstack.NewClient(s.URL(sim.Keystone))
	if err != nil {
		t.Fatal(err)
	}
	pc.HTTPClient = *s.HTTPClient()
	if opts.Username == "" && opts.ApplicationCredentialID == "" {
		opts.Username, opts.Password, opts.DomainID = "admin", "viosim-password", "default"
		opts.TenantID = s.Seeded.Project.ID
	}
	opts.IdentityEndpoint = s.URL(sim.Keystone)
	opts.AllowReauth = true
	if err := openstack.Authenticate(context.Background(), pc, opts); err != nil {
		t.Fatalf("authenticating: %v", err)
	}
	return pc
}

var eo = gophercloud.EndpointOpts{Region: "RegionOne"}

func TestComputeAndNetworking(t *testing.T) {
	s := start(t, sim.Options{})
	ctx := context.Background()
	pc := provider(t, s, gophercloud.AuthOptions{})
	compute, _ := openstack.NewComputeV2(pc, eo)
	network, err := openstack.NewNetworkV2(pc, eo)
	if err != nil {
		t.Fatal(err)
	}

	// The name filter is a regular expression, as the OCCM uses it.
	page, err := servers.List(compute, servers.ListOpts{Name: "^k8scluster-minion-0$"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := servers.ExtractServers(page)
	if len(list) != 1 || list[0].Name != "k8scluster-minion-0" {
		t.Fatalf("servers %v", list)
	}
	srv := list[0]
	if len(srv.Addresses["k8scluster-mgmt"].([]any)) != 1 || srv.AvailabilityZone != "nova" || srv.Status != "ACTIVE" {
		t.Errorf("server %+v", srv)
	}
	all, _ := servers.List(compute, servers.ListOpts{Name: "k8scluster"}).AllPages(ctx)
	if list, _ := servers.ExtractServers(all); len(list) != 3 {
		t.Errorf("%d servers match k8scluster, want 3", len(list))
	}

	// Ports of the server, and paging through every port two at a time.
	pp, err := ports.List(network, ports.ListOpts{DeviceID: srv.ID}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	own, _ := ports.ExtractPorts(pp)
	if len(own) != 2 {
		t.Fatalf("%d ports of the server, want 2", len(own))
	}
	pages := 0
	var paged []ports.Port
	err = ports.List(network, ports.ListOpts{Limit: 2}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		pages++
		got, err := ports.ExtractPorts(p)
		paged = append(paged, got...)
		return true, err
	})
	// 3 servers with 2 ports each, and the router's interface on the management network.
	if err != nil || len(paged) != 7 || pages < 4 {
		t.Errorf("paging: %d ports in %d pages, %v", len(paged), pages, err)
	}
	podNet := s.Seeded.Networks["k8scluster-pod"]
	onPod, _ := ports.List(network, ports.ListOpts{DeviceID: srv.ID, NetworkID: podNet.ID}).AllPages(ctx)
	if p, _ := ports.ExtractPorts(onPod); len(p) != 1 {
		t.Errorf("%d pod ports, want 1", len(p))
	}

	np, _ := networks.List(network, networks.ListOpts{Name: "k8scluster-pod"}).AllPages(ctx)
	if n, _ := networks.ExtractNetworks(np); len(n) != 1 || n[0].ID != podNet.ID {
		t.Errorf("networks by name: %v", n)
	}
	sp, _ := subnets.List(network, subnets.ListOpts{CIDR: "172.30.0.0/16"}).AllPages(ctx)
	if sn, _ := subnets.ExtractSubnets(sp); len(sn) != 1 || sn[0].NetworkID != podNet.ID {
		t.Errorf("subnets by CIDR: %v", sn)
	}

	// Floating IPs from the external network, associated with a port.
	fip, err := floatingips.Create(ctx, network, floatingips.CreateOpts{FloatingNetworkID: s.Seeded.Networks["public"].ID, PortID: own[0].ID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if fip.PortID != own[0].ID || fip.Status != "ACTIVE" || fip.FloatingIP == "" {
		t.Errorf("floating IP %+v", fip)
	}
	got, _ := servers.Get(ctx, compute, srv.ID).Extract()
	floating := false
	for _, addrs := range got.Addresses {
		for _, a := range addrs.([]any) {
			floating = floating || a.(map[string]any)["OS-EXT-IPS:type"] == "floating"
		}
	}
	if !floating {
		t.Error("the server does not show its floating IP")
	}
	if _, err := groups.Create(ctx, network, groups.CreateOpts{Name: "lb-sg"}).Extract(); err != nil {
		t.Fatal(err)
	}
	_, err = ports.Get(ctx, network, "00000000-0000-0000-0000-000000000000").Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("a missing port: %v", err)
	}
}
