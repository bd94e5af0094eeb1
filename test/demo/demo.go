// Package demo is the README's main job: a whole epks cluster on this
// machine (test/testbed: its servers built by epks cluster create), then
// the seed's two promises carried out through the Kubernetes API
// (test/scenario), a report of what the cluster and the simulated cloud
// did, and epks cluster delete.
package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/scenario"
	"github.com/epks/epks/test/testbed"
)

// Options configure the demo.
type Options struct {
	// Dir holds the demo's files.
	Dir string
	// Keep leaves everything running after the report until ctx ends.
	Keep bool
	// IPAccess reaches VIO's endpoints by IP; without it viosim serves
	// them under host names (see testbed.Options.IPAccess).
	IPAccess bool
	// Out receives progress and the report.
	Out io.Writer
}

// namespace is where the demo's workloads live.
const namespace = "epks-demo"

// Run runs the demo. Everything it started is stopped when it returns.
func Run(ctx context.Context, o Options) error {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if err := freshDir(o.Dir); err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(out, "Bringing up viosim, a local control plane and the add-ons in %s ...\n", o.Dir)
	tb, err := testbed.Start(ctx, testbed.Options{Dir: o.Dir, Out: out, IPAccess: o.IPAccess})
	if err != nil {
		return err
	}
	defer tb.Stop()

	w, err := scenario.New(tb.Config, namespace)
	if err != nil {
		return err
	}
	w.Image = "registry.local/demo/agnhost:2.53" // kwok runs no containers; any image does
	r := &report{}
	r.add("Cluster", "epks cluster create built %d resources from the parameters file: %s", tb.Created.Total(), tb.Created.Summary())
	steps := []struct {
		what string
		run  func(context.Context) error
	}{
		{"nodes initialized and their NSX ports tagged", func(ctx context.Context) error { return r.nodes(ctx, tb) }},
		{"a LoadBalancer Service", func(ctx context.Context) error { return r.loadBalancer(ctx, tb, w) }},
		{"a volume, its attachment, a snapshot, a restore and an expansion", func(ctx context.Context) error { return r.volumes(ctx, tb, w) }},
	}
	if err := w.CreateNamespace(ctx); err != nil {
		return err
	}
	for _, s := range steps {
		t := time.Now()
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("%s: %w\n%s", s.what, err, tb.PodLogs(15))
		}
		fmt.Fprintf(out, " ✓ %s (%s)\n", s.what, time.Since(t).Round(100*time.Millisecond))
	}
	fmt.Fprintf(out, "\nWhat happened (%s in all):\n", time.Since(start).Round(time.Second))
	r.print(out)

	if o.Keep {
		fmt.Fprintf(out, `
Everything keeps running until you press Ctrl-C:
  export KUBECONFIG=%s
  kubectl get nodes -o wide; kubectl -n %s get svc,pvc,volumesnapshot; kubectl -n %s get pods
  curl --cacert %s/viosim/viosim-ca.crt %s/model     # viosim's world
  component logs: %s
`, tb.Cluster.Kubeconfig(), namespace, testbed.Namespace, o.Dir, tb.Sim.URL(sim.Control), tb.Pods.Runner.Dir)
		<-ctx.Done()
		fmt.Fprintln(out, "\nStopping ...")
		return nil
	}
	fmt.Fprintln(out, "\nCleaning up ...")
	t := time.Now()
	if err := w.DeleteService(context.Background(), "web"); err != nil {
		return err
	}
	if err := w.DeleteVolumes(context.Background()); err != nil {
		return err
	}
	// The provisioner and the snapshotter delete in Cinder before they let
	// the objects go; Cinder's own deletions take a moment more.
	snap := tb.Sim.Snapshot()
	for deadline := time.Now().Add(time.Minute); len(snap.LoadBalancers)+len(snap.Volumes)+len(snap.Snapshots) > 0 && time.Now().Before(deadline); snap = tb.Sim.Snapshot() {
		time.Sleep(250 * time.Millisecond)
	}
	if n := len(snap.LoadBalancers) + len(snap.Volumes) + len(snap.Snapshots); n > 0 {
		return fmt.Errorf("left in viosim after the cleanup: load balancers %v, volumes %v, snapshots %v", snap.LoadBalancers, snap.Volumes, snap.Snapshots)
	}
	fmt.Fprintf(out, " ✓ the load balancer, volumes and snapshot are deleted in viosim (%s)\n", time.Since(t).Round(100*time.Millisecond))
	t = time.Now()
	deleted, err := tb.DeleteCluster(context.Background())
	if err != nil {
		return fmt.Errorf("epks cluster delete: %w", err)
	}
	fmt.Fprintf(out, " ✓ epks cluster delete: %d resources deleted, viosim holds what it held before epks cluster create (%s)\n", deleted, time.Since(t).Round(100*time.Millisecond))
	fmt.Fprintf(out, " ✓ every process stops now; the files stay in %s (make demo runs again from scratch)\n", o.Dir)
	return nil
}

// marker marks a directory as the demo's, which a later run may empty.
const marker = ".epks-demo"

// freshDir empties dir for a new run: a new or empty directory, or one an
// earlier run made. Any other directory is refused, never removed.
func freshDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case os.IsNotExist(err):
	case err != nil:
		return err
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(dir, marker)); err != nil {
			return fmt.Errorf("%s is not empty and not a demo's directory: give a new or empty one with --dir", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, marker), []byte("made by make demo; emptied by the next run\n"), 0o644)
}

// report collects what each step found.
type report struct{ rows [][2]string }

func (r *report) add(what, format string, args ...any) {
	r.rows = append(r.rows, [2]string{what, fmt.Sprintf(format, args...)})
}

func (r *report) print(out io.Writer) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, row := range r.rows {
		fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
	}
	tw.Flush()
}

// nodes reports the nodes the OCCM initialized and waits until the port
// tagger tagged each node's pod port.
func (r *report) nodes(ctx context.Context, tb *testbed.Testbed) error {
	nodes, err := tb.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, n := range nodes.Items {
		var ips []string
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				ips = append(ips, a.Address)
			}
		}
		r.add("node "+n.Name, "initialized by the OCCM from Nova: %s, %s, zone %s", n.Spec.ProviderID, strings.Join(ips, ","), n.Labels[corev1.LabelTopologyZone])
	}
	tagged := func() map[string]string {
		out := map[string]string{}
		// The ports as the NSX API the tagger uses (the NCP version's) shows them.
		api := model.ManagerAPI
		if tb.Params.EffectiveNSXAPIMode() == params.NSXAPIPolicy {
			api = model.PolicyAPI
		}
		for _, p := range tb.Sim.NSXPorts(api) {
			var node, cluster string
			for _, t := range p.Tags {
				switch t.Scope {
				case "ncp/node_name":
					node = t.Tag
				case "ncp/cluster":
					cluster = t.Tag
				}
			}
			if node != "" && cluster == testbed.ClusterName {
				out[node] = p.ID
			}
		}
		return out
	}
	deadline := time.Now().Add(2 * time.Minute)
	for len(tagged()) < len(nodes.Items) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the port tagger tagged %d of %d nodes' ports", len(tagged()), len(nodes.Items))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	ports := tagged()
	names := make([]string, 0, len(ports))
	for n := range ports {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		r.add("  NSX port", "%s tagged ncp/node_name=%s ncp/cluster=%s by the port tagger", ports[n], n, testbed.ClusterName)
	}
	return nil
}

func (r *report) loadBalancer(ctx context.Context, tb *testbed.Testbed, w *scenario.Workload) error {
	svc, err := w.LoadBalancer(ctx, "web", 80, 443)
	if err != nil {
		return err
	}
	ip := scenario.ExternalIP(svc)
	for _, lb := range tb.Sim.Snapshot().LoadBalancers {
		if lb.FloatingIP == ip {
			r.add("LoadBalancer", "Service %s/web got %s: Octavia load balancer %s (VIP %s), listeners %v, members %v",
				namespace, ip, lb.Name, lb.VIP, lb.Ports, lb.Members)
			return nil
		}
	}
	return fmt.Errorf("no Octavia load balancer in viosim has the Service's IP %s", ip)
}

func (r *report) volumes(ctx context.Context, tb *testbed.Testbed, w *scenario.Workload) error {
	if _, err := w.Claim(ctx, "data", "1Gi", ""); err != nil {
		return err
	}
	if _, err := w.PodWithClaim(ctx, "writer", "data"); err != nil {
		return err
	}
	pv, err := w.WaitBound(ctx, "data")
	if err != nil {
		return err
	}
	node, err := w.WaitScheduled(ctx, "writer")
	if err != nil {
		return err
	}
	if _, err := w.WaitAttached(ctx, pv.Name, node); err != nil {
		return err
	}
	vol := volume(tb, scenario.VolumeHandle(pv))
	r.add("Volume", "claim data bound to Cinder volume %s (%d GiB, %s), attached to %s through Nova", vol.ID, vol.Size, vol.Status, node)

	_, content, err := w.Snapshot(ctx, "data-snap", "data")
	if err != nil {
		return err
	}
	snapID := scenario.SnapshotHandle(content)
	r.add("Snapshot", "VolumeSnapshot data-snap ready: Cinder snapshot %s of volume %s", snapID, vol.ID)

	if _, err := w.Claim(ctx, "restored", "1Gi", "data-snap"); err != nil {
		return err
	}
	if _, err := w.PodWithClaim(ctx, "reader", "restored"); err != nil {
		return err
	}
	restored, err := w.WaitBound(ctx, "restored")
	if err != nil {
		return err
	}
	rv := volume(tb, scenario.VolumeHandle(restored))
	r.add("Restore", "claim restored bound to Cinder volume %s, created from snapshot %s", rv.ID, rv.SnapshotID)

	if _, _, err := w.Expand(ctx, "data", "2Gi"); err != nil {
		return err
	}
	r.add("Expansion", "claim data grown to 2Gi: Cinder volume %s is now %d GiB", vol.ID, volume(tb, vol.ID).Size)
	return nil
}

// volume returns viosim's view of a volume.
func volume(tb *testbed.Testbed, id string) sim.VolumeInfo {
	for _, v := range tb.Sim.Snapshot().Volumes {
		if v.ID == id {
			return v
		}
	}
	return sim.VolumeInfo{ID: id, Status: "not in viosim"}
}
