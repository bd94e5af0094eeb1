package sim_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/backups"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/model"
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

func until(t *testing.T, what string, cond func() (bool, error)) {
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

func TestAuthentication(t *testing.T) {
	s := start(t, sim.Options{})
	ctx := context.Background()
	// Application credentials authenticate too.
	pc := provider(t, s, gophercloud.AuthOptions{ApplicationCredentialID: "viosim-app-cred", ApplicationCredentialSecret: "viosim-app-secret"})
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
}

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

func TestVolumesSnapshotsAttachments(t *testing.T) {
	s := start(t, sim.Options{})
	ctx := context.Background()
	pc := provider(t, s, gophercloud.AuthOptions{})
	storage, err := openstack.NewBlockStorageV3(pc, eo)
	if err != nil {
		t.Fatal(err)
	}
	compute, _ := openstack.NewComputeV2(pc, eo)

	vol, err := volumes.Create(ctx, storage, volumes.CreateOpts{Size: 1, Name: "pvc-1", Metadata: map[string]string{"cinder.csi.openstack.org/cluster": "k8scluster"}}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if vol.Status != "creating" {
		t.Errorf("a new volume is %s", vol.Status)
	}
	status := func(want string) func() (bool, error) {
		return func() (bool, error) {
			v, err := volumes.Get(ctx, storage, vol.ID).Extract()
			return err == nil && v.Status == want, err
		}
	}
	until(t, "volume available", status("available"))

	byMeta, _ := volumes.List(storage, volumes.ListOpts{Metadata: map[string]string{"cinder.csi.openstack.org/cluster": "k8scluster"}}).AllPages(ctx)
	if list, _ := volumes.ExtractVolumes(byMeta); len(list) != 1 {
		t.Errorf("metadata filter found %d volumes", len(list))
	}

	srv := s.Seeded.Servers["k8scluster-minion-1"]
	att, err := volumeattach.Create(ctx, compute, srv.ID, volumeattach.CreateOpts{VolumeID: vol.ID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if att.VolumeID != vol.ID || att.Device == "" {
		t.Errorf("attachment %+v", att)
	}
	until(t, "volume in-use", status("in-use"))
	v, _ := volumes.Get(ctx, storage, vol.ID).Extract()
	if len(v.Attachments) != 1 || v.Attachments[0].ServerID != srv.ID {
		t.Errorf("attachments %+v", v.Attachments)
	}

	// Growing an attached volume needs microversion 3.42.
	err = volumes.ExtendSize(ctx, storage, vol.ID, volumes.ExtendSizeOpts{NewSize: 2}).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("extend in-use without 3.42: %v", err)
	}
	storage.Microversion = "3.42"
	if err := volumes.ExtendSize(ctx, storage, vol.ID, volumes.ExtendSizeOpts{NewSize: 2}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	until(t, "volume extended", func() (bool, error) {
		v, err := volumes.Get(ctx, storage, vol.ID).Extract()
		return err == nil && v.Size == 2 && v.Status == "in-use", err
	})

	snap, err := snapshots.Create(ctx, storage, snapshots.CreateOpts{VolumeID: vol.ID, Name: "snap-1", Force: true}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	until(t, "snapshot available", func() (bool, error) {
		sn, err := snapshots.Get(ctx, storage, snap.ID).Extract()
		return err == nil && sn.Status == "available", err
	})
	restored, err := volumes.Create(ctx, storage, volumes.CreateOpts{Size: 2, SnapshotID: snap.ID, Name: "restored"}, nil).Extract()
	if err != nil || restored.SnapshotID != snap.ID {
		t.Fatalf("restore: %v %+v", err, restored)
	}
	if err := volumes.Delete(ctx, storage, vol.ID, nil).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Errorf("deleting an attached volume with snapshots: %v", err)
	}

	if err := volumeattach.Delete(ctx, compute, srv.ID, vol.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	until(t, "volume detached", status("available"))
	until(t, "restored available", func() (bool, error) {
		v, err := volumes.Get(ctx, storage, restored.ID).Extract()
		return err == nil && v.Status == "available", err
	})
	for _, del := range []func() error{
		func() error { return snapshots.Delete(ctx, storage, snap.ID).ExtractErr() },
	} {
		if err := del(); err != nil {
			t.Fatal(err)
		}
	}
	until(t, "snapshot gone", func() (bool, error) { return len(s.World.Snapshots(nil)) == 0, nil })
	for _, id := range []string{vol.ID, restored.ID} {
		if err := volumes.Delete(ctx, storage, id, nil).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	}
	until(t, "volumes gone", func() (bool, error) { return len(s.World.Volumes(nil)) == 0, nil })

	// Cinder's own timestamp format: microseconds, no zone.
	resp, err := pc.Request(ctx, http.MethodGet, s.URL(sim.Cinder)+"/types", &gophercloud.RequestOpts{OkCodes: []int{200}, KeepResponseBody: true})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("OpenStack-API-Version") == "" {
		t.Error("no microversion header in Cinder's answer")
	}

	// No backups: a restore's source is looked up as one first.
	pages, err := backups.List(storage, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := backups.ExtractBackups(pages); err != nil || len(list) != 0 {
		t.Errorf("backups %v %v", list, err)
	}
	if _, err := backups.Get(ctx, storage, vol.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("a backup that is not there: %v", err)
	}
}

func TestLoadBalancers(t *testing.T) {
	s := start(t, sim.Options{})
	ctx := context.Background()
	pc := provider(t, s, gophercloud.AuthOptions{})
	lbc, err := openstack.NewLoadBalancerV2(pc, eo)
	if err != nil {
		t.Fatal(err)
	}
	subnet := s.Seeded.Subnets["k8scluster-mgmt"].ID
	s.World.SetTransition(time.Hour) // stepped with Settle below
	members := []pools.CreateMemberOpts{{Address: "10.10.0.10", ProtocolPort: 30080}, {Address: "10.10.0.11", ProtocolPort: 30080}}
	// A fully populated create, as the cloud controller manager makes it.
	lb, err := loadbalancers.Create(ctx, lbc, loadbalancers.CreateOpts{
		Name: "kube_service_k8scluster_default_web", VipSubnetID: subnet,
		Listeners: []listeners.CreateOpts{{
			Name: "listener_0", Protocol: listeners.ProtocolTCP, ProtocolPort: 80,
			DefaultPool: &pools.CreateOpts{
				Name: "pool_0", Protocol: pools.ProtocolTCP, LBMethod: pools.LBMethodRoundRobin, Members: members,
				Monitor: monitors.CreateOpts{Type: monitors.TypeTCP, Delay: 5, Timeout: 3, MaxRetries: 1},
			},
		}},
	}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if lb.ProvisioningStatus != model.StatusPendingCreate || lb.VipAddress == "" {
		t.Errorf("new load balancer %s vip %q", lb.ProvisioningStatus, lb.VipAddress)
	}
	// Immutable while pending.
	_, err = listeners.Create(ctx, lbc, listeners.CreateOpts{LoadbalancerID: lb.ID, Protocol: listeners.ProtocolTCP, ProtocolPort: 443}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("a change to a PENDING_CREATE load balancer: %v", err)
	}
	s.World.Settle()
	s.World.SetTransition(5 * time.Millisecond)
	active := func() (bool, error) {
		got, err := loadbalancers.Get(ctx, lbc, lb.ID).Extract()
		return err == nil && got.ProvisioningStatus == model.StatusActive && got.OperatingStatus == "ONLINE", err
	}
	until(t, "load balancer ACTIVE", active)
	lp, _ := listeners.List(lbc, listeners.ListOpts{LoadbalancerID: lb.ID}).AllPages(ctx)
	ls, _ := listeners.ExtractListeners(lp)
	if len(ls) != 1 || ls[0].ProtocolPort != 80 || ls[0].DefaultPoolID == "" {
		t.Fatalf("listeners %+v", ls)
	}
	pool, err := pools.Get(ctx, lbc, ls[0].DefaultPoolID).Extract()
	if err != nil || len(pool.Members) != 2 || pool.MonitorID == "" {
		t.Fatalf("pool %+v %v", pool, err)
	}

	// A batch update replaces the members (a node went away, one came).
	err = pools.BatchUpdateMembers(ctx, lbc, pool.ID, []pools.BatchUpdateMemberOpts{
		{Address: "10.10.0.10", ProtocolPort: 30080}, {Address: "10.10.0.12", ProtocolPort: 30080},
	}).ExtractErr()
	if err != nil {
		t.Fatal(err)
	}
	until(t, "load balancer ACTIVE after the update", active)
	mp, _ := pools.ListMembers(lbc, pool.ID, nil).AllPages(ctx)
	ms, _ := pools.ExtractMembers(mp)
	got := map[string]bool{}
	for _, m := range ms {
		got[m.Address] = true
	}
	if len(ms) != 2 || !got["10.10.0.10"] || !got["10.10.0.12"] {
		t.Errorf("members after the batch update: %+v", ms)
	}

	if err := loadbalancers.Delete(ctx, lbc, lb.ID, loadbalancers.DeleteOpts{Cascade: true}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	until(t, "load balancer gone", func() (bool, error) {
		_, err := loadbalancers.Get(ctx, lbc, lb.ID).Extract()
		return gophercloud.ResponseCodeIs(err, http.StatusNotFound), nil
	})
	if n := len(s.World.Ports(func(p *model.Port) bool { return p.DeviceOwner == "Octavia" })); n != 0 {
		t.Errorf("%d VIP ports left", n)
	}
}
