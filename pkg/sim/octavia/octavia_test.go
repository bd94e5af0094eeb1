package octavia_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/simtest"
)

var eo = gophercloud.EndpointOpts{Region: "RegionOne"}

func TestLoadBalancers(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
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
		simtest.Until(t, "load balancer ACTIVE", active)
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
		simtest.Until(t, "load balancer ACTIVE after the update", active)
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
		simtest.Until(t, "load balancer gone", func() (bool, error) {
			_, err := loadbalancers.Get(ctx, lbc, lb.ID).Extract()
			return gophercloud.ResponseCodeIs(err, http.StatusNotFound), nil
		})
		if n := len(s.World.Ports(func(p *model.Port) bool { return p.DeviceOwner == "Octavia" })); n != 0 {
			t.Errorf("%d VIP ports left", n)
		}
	})
}
