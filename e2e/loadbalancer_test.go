//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
	"sigs.k8s.io/e2e-framework/pkg/types"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/test/scenario"
	"github.com/epks/epks/test/testbed"
)

// loadBalancerFeature: a Service of type LoadBalancer gets an external IP.
// On the testbed the OCCM makes it with viosim's Octavia; on a real cluster
// NCP makes it with NSX, and the IP must answer.
func loadBalancerFeature() types.Feature {
	w := &inNamespace{prefix: "e2e-lb"}
	var svc *corev1.Service
	return features.New("load balancer").
		Setup(w.setup).
		Assess("a Service of type LoadBalancer gets an external IP", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			var err error
			if svc, err = w.LoadBalancer(ctx, "web", 80, 443); err != nil {
				t.Fatal(err)
			}
			if scenario.ExternalIP(svc) == "" {
				t.Fatalf("no external IP: %+v", svc.Status)
			}
			return ctx
		}).
		Assess("the cloud serves it: listeners for its ports, members for its nodes", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			tb := bedOf(ctx)
			if tb == nil {
				checkAnswers(ctx, t, scenario.ExternalIP(svc))
				return ctx
			}
			lb, ok := loadBalancerOf(tb, scenario.ExternalIP(svc))
			if !ok {
				t.Fatalf("no Octavia load balancer has the Service's IP %s: %+v", scenario.ExternalIP(svc), tb.Sim.Snapshot().LoadBalancers)
			}
			if want := "kube_service_" + testbed.ClusterName + "_" + w.Namespace + "_web"; lb.Name != want || lb.Status != "ACTIVE" {
				t.Errorf("load balancer %s is %s, want %s ACTIVE", lb.Name, lb.Status, want)
			}
			ports := slices.Clone(lb.Ports)
			slices.Sort(ports)
			if !slices.Equal(ports, []int{80, 443}) {
				t.Errorf("listeners on %v, want the Service's ports [80 443]", lb.Ports)
			}
			nodes, err := clientset(t, cfg).CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, p := range svc.Spec.Ports {
				for _, n := range nodes.Items {
					want = append(want, internalIPs(&n)[0]+":"+strconv.Itoa(int(p.NodePort)))
				}
			}
			got := slices.Clone(lb.Members)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("members %v, want a member per node and node port %v", got, want)
			}
			return ctx
		}).
		Assess("deleting the Service deletes its load balancer", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			ip := scenario.ExternalIP(svc)
			if err := w.DeleteService(ctx, "web"); err != nil {
				t.Fatal(err)
			}
			tb := bedOf(ctx)
			if tb == nil {
				return ctx
			}
			eventually(ctx, t, "the load balancer and its floating IP gone from Octavia and Neutron", time.Minute, func() (bool, string) {
				_, ok := loadBalancerOf(tb, ip)
				return !ok && !slices.Contains(tb.Sim.Snapshot().FloatingIPs, ip), fmt.Sprint(tb.Sim.Snapshot().LoadBalancers)
			})
			return ctx
		}).
		Teardown(w.teardown).
		Feature()
}

func loadBalancerOf(tb *testbed.Testbed, ip string) (sim.LoadBalancerInfo, bool) {
	for _, lb := range tb.Sim.Snapshot().LoadBalancers {
		if lb.FloatingIP == ip {
			return lb, true
		}
	}
	return sim.LoadBalancerInfo{}, false
}

// checkAnswers asks agnhost behind a real cluster's load balancer for its
// hostname. Only ever called on a real cluster (KUBECONFIG set), never on
// the testbed.
func checkAnswers(ctx context.Context, t *testing.T, ip string) {
	t.Helper()
	url := "http://" + net.JoinHostPort(ip, "80") + "/hostname"
	client := &http.Client{Timeout: 5 * time.Second}
	eventually(ctx, t, "the load balancer answers at "+url, 3*time.Minute, func() (bool, string) {
		resp, err := client.Get(url)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.HasPrefix(string(body), "web-"), fmt.Sprintf("%d %q", resp.StatusCode, body)
	})
}
