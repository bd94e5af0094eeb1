//go:build integration

package testbed

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/epks/epks/pkg/nodename"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/model"
)

// TestClusterOnTheCloud builds the testbed's cloud as Start does: viosim
// with what a project has before the cluster, epks cluster create on the
// testbed's parameters file (the nodes' servers, named as the nodes), and
// epks cluster delete, which leaves viosim as it was.
func TestClusterOnTheCloud(t *testing.T) {
	seed := cloudSeed()
	s, err := sim.New(sim.Options{Seed: &seed, Transition: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := t.TempDir()
	ctx := context.Background()
	epks, err := BuildEPKS(ctx, filepath.Join(dir, "bin"))
	if err != nil {
		t.Fatal(err)
	}
	// By IP: the epks binary resolves nothing.
	tb := &Testbed{Sim: s, opts: Options{Dir: dir, Workers: 2, IPAccess: true}, epks: epks}
	if err := tb.prepareCloud(); err != nil {
		t.Fatal(err)
	}
	if tb.ParamsFile, err = tb.writeParams(filepath.Join(tb.opts.Dir, "viosim"), sim.ParamsOptions{ClusterName: ClusterName}); err != nil {
		t.Fatal(err)
	}
	if len(s.World.Servers(nil)) != 0 || len(s.World.Networks(nil)) != 1 {
		t.Fatalf("before create viosim has %d servers and %d networks, want none and the external one", len(s.World.Servers(nil)), len(s.World.Networks(nil)))
	}
	tb.beforeCreate = Topology(s)
	c, err := tb.createCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sv := range c.Servers {
		names = append(names, sv.Name)
		if sv.Status != "ACTIVE" {
			t.Errorf("server %s is %s", sv.Name, sv.Status)
		}
	}
	if want := nodename.All(ClusterName, 1, 2); !slices.Equal(names, want) {
		t.Errorf("servers %v, want the nodes %v", names, want)
	}
	if got, want := c.Summary(), "3 networks, 3 subnets, 2 routers, 2 router interfaces, 1 security group, 18 rules, 6 ports, 3 floating IPs, 3 servers"; got != want {
		t.Errorf("created %s, want %s", got, want)
	}
	if _, ok := tb.Network(ClusterName + "-pod"); !ok {
		t.Error("no pod network")
	}
	deleted, err := tb.DeleteCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The rules and subnets go with their group and networks.
	if want := c.Total() - c.Resources["rule"] - c.Resources["subnet"]; deleted != want {
		t.Errorf("delete deleted %d resources, want %d", deleted, want)
	}
	// DeleteCluster notices what delete leaves.
	if _, err := s.World.CreateVolume(model.Volume{Name: "left", Size: 1, ProjectID: s.Seeded.Project.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.DeleteCluster(ctx); err == nil || !strings.Contains(err.Error(), "volume left") {
		t.Errorf("a volume left behind: %v", err)
	}
}
