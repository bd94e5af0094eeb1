package openstack_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epks/epks/pkg/cloudconf"
	"github.com/epks/epks/pkg/openstack"
	"github.com/epks/epks/pkg/sim"
)

func setup(t *testing.T) (*sim.Server, *openstack.Client, *int) {
	t.Helper()
	s, err := sim.New(sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, s.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := cloudconf.Config{Global: cloudconf.Global{
		AuthURL: s.URL(sim.Keystone), Username: "admin", Password: "viosim-password", UserDomainID: "default",
		TenantID: s.Seeded.Project.ID, TenantDomainID: "default", Region: "RegionOne", CAFile: ca,
	}, Metadata: cloudconf.Metadata{SearchOrder: cloudconf.DefaultSearchOrder}}
	path := filepath.Join(dir, "cloud.conf")
	if err := os.WriteFile(path, []byte(conf.Render()), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := 0
	c, err := openstack.FromCloudConf(path, func(string, int, time.Duration) { mu.Lock(); calls++; mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	return s, c, &calls
}

func TestLookups(t *testing.T) {
	s, c, calls := setup(t)
	ctx := context.Background()
	id, err := c.ServerIDByName(ctx, "k8scluster-minion-1")
	if err != nil || id != s.Seeded.Servers["k8scluster-minion-1"].ID {
		t.Fatalf("ServerIDByName = %s, %v", id, err)
	}
	// "k8scluster-minion-1" must not match "k8scluster-minion-10".
	if _, err := s.AddServer("k8scluster-minion-10", "k8scluster-mgmt"); err != nil {
		t.Fatal(err)
	}
	if id2, err := c.ServerIDByName(ctx, "k8scluster-minion-1"); err != nil || id2 != id {
		t.Errorf("exact name: %s, %v", id2, err)
	}
	if _, err := c.ServerIDByName(ctx, "nope"); !errors.Is(err, openstack.ErrNotFound) {
		t.Errorf("a missing server: %v", err)
	}

	pod := s.Seeded.Networks["k8scluster-pod"].ID
	for _, tc := range []struct{ idOrName, cidr string }{{"k8scluster-pod", ""}, {pod, ""}, {"", "172.30.0.0/16"}} {
		got, err := c.ResolveNetwork(ctx, tc.idOrName, tc.cidr)
		if err != nil || got != pod {
			t.Errorf("ResolveNetwork(%q, %q) = %s, %v", tc.idOrName, tc.cidr, got, err)
		}
	}
	if _, err := c.ResolveNetwork(ctx, "", "192.0.2.0/24"); err == nil || !strings.Contains(err.Error(), "0 networks") {
		t.Errorf("an unknown CIDR: %v", err)
	}

	c.PageSize = 2
	var refs []openstack.PortRef
	pages := 0
	if err := c.NetworkPorts(ctx, pod, func(p []openstack.PortRef) error { pages++; refs = append(refs, p...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(refs) != 3 || pages != 2 {
		t.Errorf("%d pod ports in %d pages", len(refs), pages)
	}
	own, err := c.ServerPorts(ctx, id, pod)
	if err != nil || len(own) != 1 || own[0].DeviceID != id {
		t.Errorf("ServerPorts = %v, %v", own, err)
	}
	if *calls == 0 {
		t.Error("the observer saw no request")
	}
}
