package testbed

import (
	"context"
	"net"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/localcluster"
)

// Tag scopes NCP looks for on a node's NSX port before it wires the node's
// pods.
const (
	scopeNodeName = "ncp/node_name"
	scopeCluster  = "ncp/cluster"
)

// podNetwork plays NCP's part in pod networking: a pod off the host network
// gets its IP (and runs) only once its node's NSX port carries the node's
// name and the cluster's tags, as NCP wires a pod only then. Host-network
// pods run at once (localcluster's gate lets them).
func (tb *Testbed) podNetwork(ctx context.Context) {
	for {
		tagged := tb.taggedNodes()
		pods, err := tb.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, p := range pods.Items {
				if p.Spec.HostNetwork || p.Spec.NodeName == "" || !tagged[p.Spec.NodeName] || p.Annotations[localcluster.PodNetworkAnnotation] == "ready" {
					continue
				}
				patch := []byte(`{"metadata":{"annotations":{"` + localcluster.PodNetworkAnnotation + `":"ready"}}}`)
				_, _ = tb.Client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// taggedNodes are the nodes whose NSX port carries ncp/node_name=<node>
// and ncp/cluster=<cluster> in viosim.
func (tb *Testbed) taggedNodes() map[string]bool {
	out := map[string]bool{}
	for _, api := range []model.PortAPI{model.ManagerAPI, model.PolicyAPI} {
		for _, p := range tb.Sim.NSXPorts(api) {
			var node, cluster string
			for _, t := range p.Tags {
				switch t.Scope {
				case scopeNodeName:
					node = t.Tag
				case scopeCluster:
					cluster = t.Tag
				}
			}
			if node != "" && cluster == ClusterName {
				out[node] = true
			}
		}
	}
	return out
}

// NodeResolver resolves host names as the nodes do: with their name server.
func (tb *Testbed) NodeResolver() *net.Resolver {
	addr := net.JoinHostPort(tb.DNS.Address(), "53")
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", addr)
	}}
}
