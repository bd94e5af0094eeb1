//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
	"sigs.k8s.io/e2e-framework/pkg/types"

	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/pkg/tagger"
	"github.com/epks/epks/test/localcluster"
	"github.com/epks/epks/test/testbed"
)

// nodesFeature: the OCCM initializes every node from Nova, then the port
// tagger tags each node's pod NSX port for NCP.
func nodesFeature() types.Feature {
	return features.New("nodes").
		Assess("the cloud controller manager initialized every node from Nova", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			nodes, err := clientset(t, cfg).CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(nodes.Items) == 0 {
				t.Fatal("the cluster has no nodes")
			}
			tb := bedOf(ctx)
			for _, n := range nodes.Items {
				id, ok := tagger.ServerID(n.Spec.ProviderID)
				if !ok {
					t.Errorf("node %s: provider ID %q is not OpenStack's", n.Name, n.Spec.ProviderID)
					continue
				}
				for _, taint := range n.Spec.Taints {
					if taint.Key == localcluster.UninitializedTaint {
						t.Errorf("node %s still carries the uninitialized taint", n.Name)
					}
				}
				if len(internalIPs(&n)) == 0 || n.Labels[corev1.LabelInstanceTypeStable] == "" || n.Labels[corev1.LabelTopologyZone] == "" {
					t.Errorf("node %s: addresses %v, labels %v: the OCCM did not fill them", n.Name, n.Status.Addresses, n.Labels)
				}
				if tb == nil {
					continue
				}
				srv, ok := tb.Sim.ServerByName(n.Name)
				if !ok || srv.ID != id {
					t.Errorf("node %s: provider ID %s, but Nova's server of that name is %+v", n.Name, n.Spec.ProviderID, srv)
					continue
				}
				// The nodes are the servers epks cluster create made.
				if !slices.ContainsFunc(tb.Created.Servers, func(sv model.Server) bool { return sv.ID == id }) || srv.Metadata["epks-cluster"] != testbed.ClusterName {
					t.Errorf("node %s: server %s is not one epks cluster create made (%d servers, metadata %v)", n.Name, id, len(tb.Created.Servers), srv.Metadata)
					continue
				}
				var novaIPs []string
				for _, p := range tb.Sim.World.PortsOfDevice(srv.ID) {
					for _, ip := range p.FixedIPs {
						novaIPs = append(novaIPs, ip.IPAddress)
					}
				}
				for _, ip := range internalIPs(&n) {
					if !slices.Contains(novaIPs, ip) {
						t.Errorf("node %s: InternalIP %s is not one of its server's %v", n.Name, ip, novaIPs)
					}
				}
				// A node has a management and a pod NIC; its address is the
				// management NIC's only (cloud.conf [Networking]), never the
				// pod NIC's, an OVS uplink the guest does not configure.
				net, _ := tb.Network(testbed.ClusterName + "-mgmt")
				mgmtNet := net.ID
				var mgmtIPs []string
				for _, p := range tb.Sim.World.PortsOfDevice(srv.ID) {
					for _, ip := range p.FixedIPs {
						if p.NetworkID == mgmtNet {
							mgmtIPs = append(mgmtIPs, ip.IPAddress)
						}
					}
				}
				if got := internalIPs(&n); len(mgmtIPs) != 1 || !slices.Equal(got, mgmtIPs) {
					t.Errorf("node %s: InternalIPs %v, want exactly its management IP %v", n.Name, got, mgmtIPs)
				}
				if got := n.Labels[corev1.LabelTopologyZone]; got != srv.AvailabilityZone {
					t.Errorf("node %s: zone %q, server's %q", n.Name, got, srv.AvailabilityZone)
				}
			}
			return ctx
		}).
		Assess("the port tagger tagged every node's pod NSX port for NCP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			cs := clientset(t, cfg)
			nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Both here and on a real cluster: the tagger complains on a
			// node whose port it cannot find or tag.
			for _, n := range nodes.Items {
				events, err := cs.CoreV1().Events("").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Node,involvedObject.name=" + n.Name + ",type=Warning"})
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range events.Items {
					if ev.Source.Component == "epks-port-tagger" {
						t.Errorf("node %s: the port tagger warned %s: %s", n.Name, ev.Reason, ev.Message)
					}
				}
			}
			tb := bedOf(ctx)
			if tb == nil {
				return ctx
			}
			for _, n := range nodes.Items {
				id, _ := tagger.ServerID(n.Spec.ProviderID)
				eventually(ctx, t, "node "+n.Name+"'s pod port tagged", time.Minute, func() (bool, string) {
					pod, _ := podPort(tb, id)
					if pod == nil {
						return false, "no pod NSX port"
					}
					names, clusters := tagValues(pod.Tags, tagger.ScopeNodeName), tagValues(pod.Tags, tagger.ScopeCluster)
					return slices.Equal(names, []string{n.Name}) && slices.Equal(clusters, []string{testbed.ClusterName}),
						fmt.Sprintf("tags %v", pod.Tags)
				})
				pod, others := podPort(tb, id)
				if len(tagValues(pod.Tags, "os-instance-uuid")) != 1 {
					t.Errorf("node %s: VIO's own tags were lost: %v", n.Name, pod.Tags)
				}
				for _, o := range others {
					if len(tagValues(o.Tags, tagger.ScopeNodeName)) > 0 {
						t.Errorf("node %s: a port not on the pod network was tagged: %v", n.Name, o.Tags)
					}
				}
			}
			return ctx
		}).
		Feature()
}
