// Package clustertest starts a local cluster for a test and stops it when
// the test ends.
package clustertest

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/epks/epks/test/localcluster"
)

// Cluster is a started local cluster with an admin client.
type Cluster struct {
	*localcluster.Cluster
	Config *rest.Config
	Client kubernetes.Interface
}

// Start starts a local cluster in a temporary directory and registers its
// stop with t.Cleanup. It fails the test, with the reason (a missing binary
// says to run `make tools`), when the cluster cannot start.
func Start(t testing.TB, opts localcluster.Options) *Cluster {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := localcluster.Start(ctx, opts)
	if err != nil {
		t.Fatalf("starting the local cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("stopping the local cluster: %v", err)
		}
	})
	t.Logf("local cluster up in %s at %s", time.Since(start).Round(time.Millisecond), c.APIServer())
	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Cluster{Cluster: c, Config: cfg, Client: cs}
}
