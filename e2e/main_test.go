//go:build e2e

// Package e2e proves the seed's two promises end to end: LoadBalancer
// Services get an external IP, and claims get Cinder volumes that are
// attached, snapshotted, restored and expanded; with nodes initialized by
// the cloud controller manager and their NSX ports tagged for NCP.
//
// With KUBECONFIG set the suite runs against that cluster as it is (an epks
// cluster on VIO: NCP serves the LoadBalancers). Without it, it brings up a
// testbed on this machine (test/testbed): viosim, the local control plane,
// the add-ons installed by epks, and the OCCM, the cinder CSI controller
// with its sidecars, the snapshot-controller and the port tagger running as
// real processes with the chart's configuration and RBAC. `make e2e` runs it
// on the testbed, `make e2e-cluster` on $KUBECONFIG.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/types"

	"github.com/epks/epks/test/testbed"
)

var (
	testenv env.Environment
	// onTestbed is false when the suite runs against KUBECONFIG's cluster.
	onTestbed bool
	// ipAccess (E2E_IP_ACCESS=true) brings the testbed up with VIO's IP
	// access on: endpoints by IP. Without it viosim serves every endpoint
	// under a host name that the pods resolve through their hostAliases
	// and the nodes' name server only.
	ipAccess = os.Getenv("E2E_IP_ACCESS") == "true"
)

// bedKey keys the testbed in the suite's context; it is absent on a real
// cluster.
type bedKey struct{}

// bedOf returns the testbed, or nil on a real cluster.
func bedOf(ctx context.Context) *testbed.Testbed {
	tb, _ := ctx.Value(bedKey{}).(*testbed.Testbed)
	return tb
}

func TestMain(m *testing.M) {
	if kubeconfig := os.Getenv("KUBECONFIG"); kubeconfig != "" {
		fmt.Fprintf(os.Stderr, "e2e: running against the cluster of KUBECONFIG=%s\n", kubeconfig)
		testenv = env.NewWithConfig(envconf.NewWithKubeConfig(kubeconfig))
		os.Exit(testenv.Run(m))
	}
	onTestbed = true
	testenv = env.New()
	testenv.Setup(startTestbed)
	testenv.AfterEachFeature(logsOnFailure)
	testenv.Finish(stopTestbed)
	os.Exit(testenv.Run(m))
}

// logsOnFailure shows the end of every component's log when a feature
// failed: what the OCCM, the CSI sidecars or the tagger said about it.
func logsOnFailure(ctx context.Context, _ *envconf.Config, t *testing.T, f types.Feature) (context.Context, error) {
	if tb := bedOf(ctx); tb != nil && t.Failed() {
		t.Logf("feature %q failed; the components' logs end with:\n%s", f.Name(), tb.PodLogs(30))
	}
	return ctx, nil
}

// startTestbed brings the testbed up in a short temporary directory (CSI
// sockets live there) and points the suite's client at it.
func startTestbed(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	dir, err := os.MkdirTemp("", "epks-e2e-")
	if err != nil {
		return ctx, err
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "e2e: bringing up the testbed in %s (IP access %v)\n", dir, ipAccess)
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	tb, err := testbed.Start(startCtx, testbed.Options{Dir: dir, Out: os.Stderr, IPAccess: ipAccess})
	if err != nil {
		return ctx, fmt.Errorf("starting the testbed: %w", err)
	}
	fmt.Fprintf(os.Stderr, "e2e: testbed ready in %s\n", time.Since(start).Round(time.Second))
	cfg.WithKubeconfigFile(tb.Cluster.Kubeconfig())
	return context.WithValue(ctx, bedKey{}, tb), nil
}

// stopTestbed stops every process the testbed started and removes its
// files, unless E2E_KEEP is set (to read the components' logs).
func stopTestbed(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	tb := bedOf(ctx)
	if tb == nil {
		return ctx, nil
	}
	tb.Stop()
	if os.Getenv("E2E_KEEP") == "" {
		_ = os.RemoveAll(tb.Dir())
	} else {
		fmt.Fprintf(os.Stderr, "e2e: the testbed's files are in %s\n", tb.Dir())
	}
	return ctx, nil
}
