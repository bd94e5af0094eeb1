//go:build integration

package demo

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRun runs the README's main job as `make demo` does and checks that its
// report tells each step's outcome, and that it cleaned up.
func TestRun(t *testing.T) {
	dir, err := os.MkdirTemp("", "epks-demo-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := Run(ctx, Options{Dir: dir, Out: &out}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	report := out.String()
	for _, want := range []string{
		"epks cluster create built ", "3 networks, 3 subnets, 2 routers, 2 router interfaces, 1 security group, 18 rules, 6 ports, 3 floating IPs, 3 servers",
		"node k8scluster-master-0", "initialized by the OCCM from Nova: openstack:///",
		"tagged ncp/node_name=k8scluster-minion-1 ncp/cluster=k8scluster by the port tagger",
		"Service epks-demo/web got 198.51.100.", "Octavia load balancer kube_service_k8scluster_epks-demo_web",
		"attached to k8scluster-", "through Nova",
		"VolumeSnapshot data-snap ready: Cinder snapshot ",
		", created from snapshot ",
		"claim data grown to 2Gi", "is now 2 GiB",
		"the load balancer, volumes and snapshot are deleted in viosim",
		"viosim holds what it held before epks cluster create",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "not in viosim") {
		t.Errorf("the report names a volume viosim does not have:\n%s", report)
	}
}
