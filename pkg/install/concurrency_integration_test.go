//go:build integration

package install_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	helmrelease "helm.sh/helm/v3/pkg/release"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/epks/epks/pkg/install"
	"github.com/epks/epks/test/localcluster"
	"github.com/epks/epks/test/localcluster/clustertest"
	"github.com/epks/epks/test/syncbuf"
)

// syncbuf.Buffer is a bytes.Buffer safe for the goroutine that prints progress.
type run struct {
	res *install.Result
	err error
	out *syncbuf.Buffer
}

// concurrently runs Install with each of opts at once.
func concurrently(ctx context.Context, opts ...install.Options) []run {
	runs := make([]run, len(opts))
	var wg sync.WaitGroup
	for i := range opts {
		runs[i].out = &syncbuf.Buffer{}
		opts[i].Progress = install.NewPrinter(runs[i].out)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			runs[i].res, runs[i].err = install.Install(ctx, opts[i])
		}(i)
	}
	wg.Wait()
	return runs
}

func helmConfig(t *testing.T, c *clustertest.Cluster) *action.Configuration {
	t.Helper()
	kubeconfig, namespace := c.Kubeconfig(), ns
	cfg := &action.Configuration{}
	getter := &genericclioptions.ConfigFlags{KubeConfig: &kubeconfig, Namespace: &namespace}
	if err := cfg.Init(getter, ns, "secret", func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// waitHealthy polls Status until the release is deployed and every component
// ready: a rollback does not wait for readiness.
func waitHealthy(t *testing.T, c *clustertest.Cluster) *install.ReleaseStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var st *install.ReleaseStatus
	var err error
	for {
		st, err = install.Status(ctx, options(t, c, nil, &bytes.Buffer{}))
		if err == nil && st.Healthy() {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("release not healthy: %+v %v", st, err)
		case <-time.After(time.Second):
		}
	}
}

func replicas(t *testing.T, c *clustertest.Cluster) int32 {
	t.Helper()
	d, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), release+"-snapshot-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas
}

// restartedAt maps each workload of the release to its pod template's
// kubectl.kubernetes.io/restartedAt annotation.
func restartedAt(t *testing.T, c *clustertest.Cluster) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	ds, err := c.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds.Items {
		out["Deployment "+d.Name] = d.Spec.Template.Annotations[install.RestartedAtAnnotation]
	}
	dss, err := c.Client.AppsV1().DaemonSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dss.Items {
		out["DaemonSet "+d.Name] = d.Spec.Template.Annotations[install.RestartedAtAnnotation]
	}
	return out
}

// TestConcurrentRuns proves that epks runs on one release are serialized by
// its Lease: of two concurrent first installs one installs and the other says
// why it did not (and removes nothing); two concurrent upgrades both apply, one
// after the other, and end deployed with the values of the later; a changed
// password restarts exactly the workloads that mount its Secret; and a release
// left pending by a killed run is rolled back, not uninstalled.
func TestConcurrentRuns(t *testing.T) {
	c := clustertest.Start(t, localcluster.Options{})
	ctx := context.Background()

	t.Run("two first installs", func(t *testing.T) {
		a, b := options(t, c, seedValues(t), nil), options(t, c, seedValues(t), nil)
		a.LockTimeout, b.LockTimeout = 2*time.Second, 2*time.Second
		runs := concurrently(ctx, a, b)
		var won, lost []run
		for _, r := range runs {
			if r.err == nil {
				won = append(won, r)
			} else {
				lost = append(lost, r)
			}
		}
		if len(won) != 1 || len(lost) != 1 {
			t.Fatalf("want one winner and one loser, got errors %v / %v\n%s\n%s", runs[0].err, runs[1].err, runs[0].out, runs[1].out)
		}
		var le *install.LockedError
		if !errors.As(lost[0].err, &le) || !strings.Contains(lost[0].err.Error(), "another epks run holds the lock") ||
			!strings.Contains(lost[0].err.Error(), "Nothing was changed") {
			t.Errorf("the loser does not say why: %v", lost[0].err)
		}
		if !strings.Contains(lost[0].out.String(), "Waiting for another epks run to finish") {
			t.Errorf("the loser's progress does not name the holder:\n%s", lost[0].out)
		}
		if won[0].res.Revision != 1 {
			t.Errorf("winner's revision %d", won[0].res.Revision)
		}
		if st := waitHealthy(t, c); st.Revision != 1 {
			t.Errorf("revision %d after two first installs, want 1", st.Revision)
		}
		if _, err := c.Client.CoordinationV1().Leases(ns).Get(ctx, release+"-lock", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the lock outlives the runs: %v", err)
		}
	})

	t.Run("two upgrades", func(t *testing.T) {
		v2, v3 := seedValues(t), seedValues(t)
		v2["snapshotController"] = map[string]any{"replicas": 2}
		v3["snapshotController"] = map[string]any{"replicas": 3}
		a, b := options(t, c, v2, nil), options(t, c, v3, nil)
		a.LockTimeout, b.LockTimeout = 5*time.Minute, 5*time.Minute
		runs := concurrently(ctx, a, b)
		for _, r := range runs {
			if r.err != nil {
				t.Fatalf("upgrade: %v\n%s", r.err, r.out)
			}
		}
		later, waited := 0, 0
		for i, r := range runs {
			if r.res.Revision == 3 {
				later = i
			}
			if strings.Contains(r.out.String(), "Waiting for another epks run to finish") {
				waited++
			}
		}
		if runs[0].res.Revision+runs[1].res.Revision != 5 {
			t.Fatalf("revisions %d and %d, want 2 and 3", runs[0].res.Revision, runs[1].res.Revision)
		}
		if waited != 1 || !strings.Contains(runs[later].out.String(), "Waiting for another epks run to finish") {
			t.Errorf("the later run must have waited for the other, and said so:\n%s\n---\n%s", runs[0].out, runs[1].out)
		}
		st := waitHealthy(t, c)
		want := int32(2 + later)
		if st.Revision != 3 || replicas(t, c) != want {
			t.Errorf("after two upgrades: revision %d, %d replicas; want revision 3 with the later run's %d", st.Revision, replicas(t, c), want)
		}
	})

	t.Run("changed password restarts what mounts its Secret", func(t *testing.T) {
		v := seedValues(t)
		v["snapshotController"] = map[string]any{"replicas": 3}
		before := restartedAt(t, c)
		v["nsx"].(map[string]any)["password"] = "Changed-Admin!23"
		res, err := install.Install(ctx, options(t, c, v, &bytes.Buffer{}))
		if err != nil {
			t.Fatal(err)
		}
		after := restartedAt(t, c)
		var got []string
		for w, at := range after {
			if at != before[w] {
				got = append(got, w)
			}
		}
		want := []string{"Deployment " + release + "-ncp", "Deployment " + release + "-port-tagger"}
		if fmt.Sprint(sorted(got)) != fmt.Sprint(want) || len(res.Restarted) != 2 {
			t.Errorf("restarted %v (reported %v), want exactly %v", sorted(got), res.Restarted, want)
		}

		before = after
		v["openstack"].(map[string]any)["password"] = "Changed-VMware1!"
		if _, err := install.Install(ctx, options(t, c, v, &bytes.Buffer{})); err != nil {
			t.Fatal(err)
		}
		after = restartedAt(t, c)
		got = nil
		for w, at := range after {
			if at != before[w] {
				got = append(got, w)
			}
		}
		want = []string{"DaemonSet " + release + "-cinder-csi-node", "DaemonSet " + release + "-occm",
			"Deployment " + release + "-cinder-csi-controller", "Deployment " + release + "-port-tagger"}
		if fmt.Sprint(sorted(got)) != fmt.Sprint(want) {
			t.Errorf("restarted %v, want exactly %v", sorted(got), want)
		}

		// Nothing changed: nothing restarts.
		before = after
		if res, err := install.Install(ctx, options(t, c, v, &bytes.Buffer{})); err != nil || res.Changed {
			t.Fatalf("re-install: %v changed=%v", err, res != nil && res.Changed)
		}
		if after := restartedAt(t, c); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("a re-install restarted workloads: %v -> %v", before, after)
		}
		waitHealthy(t, c)
	})

	t.Run("killed run is recovered by rollback", func(t *testing.T) {
		cfg := helmConfig(t, c)
		deployed, err := cfg.Releases.Deployed(release)
		if err != nil {
			t.Fatal(err)
		}
		ncp, err := c.Client.AppsV1().Deployments(ns).Get(ctx, release+"-ncp", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// What a run killed in the middle of an upgrade leaves: a pending
		// revision, and its Lease, no longer renewed.
		pending := *deployed
		info := *deployed.Info
		pending.Info, pending.Version = &info, deployed.Version+1
		pending.Info.Status = helmrelease.StatusPendingUpgrade
		pending.Info.Description = "Preparing upgrade"
		if err := cfg.Releases.Create(&pending); err != nil {
			t.Fatal(err)
		}
		holder, secs := "epks@killed/pid-1/dead", int32(30)
		old := metav1.NewMicroTime(time.Now().Add(-time.Minute))
		if _, err := c.Client.CoordinationV1().Leases(ns).Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: release + "-lock"},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &old, RenewTime: &old},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}

		v := seedValues(t)
		v["snapshotController"] = map[string]any{"replicas": 3}
		v["nsx"].(map[string]any)["password"] = "Changed-Admin!23"
		v["openstack"].(map[string]any)["password"] = "Changed-VMware1!"
		o := options(t, c, v, &bytes.Buffer{})
		res, err := install.Install(ctx, o)
		if err != nil {
			t.Fatalf("install after a killed run: %v", err)
		}
		wantMsg := fmt.Sprintf("revision %d was left pending-upgrade by an interrupted run; rolled back to revision %d", pending.Version, deployed.Version)
		if res.Recovered != wantMsg {
			t.Errorf("recovered: %q, want %q", res.Recovered, wantMsg)
		}
		st := waitHealthy(t, c)
		if st.Revision != pending.Version+1 {
			t.Errorf("revision %d, want %d (the rollback to %d)", st.Revision, pending.Version+1, deployed.Version)
		}
		after, err := c.Client.AppsV1().Deployments(ns).Get(ctx, release+"-ncp", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("NCP's Deployment: %v", err)
		}
		if after.UID != ncp.UID {
			t.Errorf("NCP's Deployment was recreated (uninstalled?): %s -> %s", ncp.UID, after.UID)
		}
	})
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
