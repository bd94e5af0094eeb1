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

	"github.com/epks/epks/pkg/openstack"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/test/chartconf"
	"github.com/epks/epks/test/simtest"
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
	v, err := simtest.OpenStackValues(s, "")
	if err != nil {
		t.Fatal(err)
	}
	path, err := chartconf.Write(context.Background(), chartconf.Values(v), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := 0
	c, err := openstack.FromCloudConf(context.Background(), path, "epks-test", func(string, int, time.Duration) { mu.Lock(); calls++; mu.Unlock() })
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

// TestAuthentication authenticates with cloud.conf files that the chart
// renders, as the port tagger does in its pod.
func TestAuthentication(t *testing.T) {
	s, err := sim.New(sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for _, tc := range []struct {
		name    string
		edit    func(v map[string]any)
		wantErr string
	}{
		{"password, the CA bundle", func(map[string]any) {}, ""},
		{"application credential", func(v map[string]any) {
			delete(v, "username")
			delete(v, "password")
			v["applicationCredentialID"], v["applicationCredentialSecret"] = "viosim-app-cred", "viosim-app-secret"
		}, ""},
		{"no CA bundle: the system roots do not know viosim's CA", func(v map[string]any) { delete(v, "caBundle") },
			"certificate signed by unknown authority"},
		{"no CA bundle, insecure", func(v map[string]any) { delete(v, "caBundle"); v["insecure"] = true }, ""},
		{"a wrong password", func(v map[string]any) { v["password"] = "wrong" }, "authenticating to OpenStack"},
		{"another project", func(v map[string]any) { v["projectID"] = "0123456789abcdef0123456789abcdef" }, "authenticating to OpenStack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := simtest.OpenStackValues(s, "")
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(v)
			ctx := context.Background()
			path, err := chartconf.Write(ctx, chartconf.Values(v), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			c, err := openstack.FromCloudConf(ctx, path, "epks-test", nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("FromCloudConf = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.ServerIDByName(ctx, "k8scluster-minion-1"); err != nil {
				t.Errorf("a call with the token: %v", err)
			}
		})
	}
}

func TestFromCloudConfRefusesUnknownAuthentication(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cloud.conf")
	if err := os.WriteFile(path, []byte("[Global]\nauth-url = https://127.0.0.1:1/v3\ntrust-id = t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := openstack.FromCloudConf(context.Background(), path, "epks-test", nil)
	if err == nil || !strings.Contains(err.Error(), "trust-id") {
		t.Errorf("FromCloudConf = %v, want trust-id refused", err)
	}
}
