//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/scenario"
	"github.com/epks/epks/test/testbed"
)

// clientset is the suite's Kubernetes client.
func clientset(t *testing.T, cfg *envconf.Config) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg.Client().RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// workload returns the steps' helper in a fresh namespace named after
// prefix. On a real cluster the pods run E2E_IMAGE [scenario.DefaultImage].
func workload(t *testing.T, cfg *envconf.Config, prefix string) *scenario.Workload {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	w, err := scenario.New(cfg.Client().RESTConfig(), prefix+"-"+hex.EncodeToString(b))
	if err != nil {
		t.Fatal(err)
	}
	w.Image = os.Getenv("E2E_IMAGE")
	return w
}

// inNamespace is a feature's workload in a namespace of its own, made by
// its Setup step and deleted, with what is in it, by its Teardown step.
type inNamespace struct {
	prefix string
	*scenario.Workload
}

func (n *inNamespace) setup(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	n.Workload = workload(t, cfg, n.prefix)
	if err := n.CreateNamespace(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

func (n *inNamespace) teardown(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	if err := n.DeleteNamespace(ctx); err != nil {
		t.Error(err)
	}
	return ctx
}

// eventually polls cond every 250ms until it holds or timeout passes, then
// fails the test with what.
func eventually(ctx context.Context, t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		ok, state := cond()
		last = state
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s: not within %s (last seen: %s)", what, timeout, last)
	}
}

// internalIPs returns a node's InternalIP addresses.
func internalIPs(n *corev1.Node) []string {
	var out []string
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			out = append(out, a.Address)
		}
	}
	return out
}

// podPort returns viosim's NSX port of a server's pod NIC, and its
// management NICs' NSX ports.
func podPort(tb *testbed.Testbed, serverID string) (pod *sim.NSXPortInfo, others []sim.NSXPortInfo) {
	net, _ := tb.Network(testbed.ClusterName + "-pod")
	podNet := net.ID
	byAttachment := map[string]sim.NSXPortInfo{}
	// The ports as the NSX API the tagger uses shows them.
	api := model.ManagerAPI
	if tb.Params.EffectiveNSXAPIMode() == params.NSXAPIPolicy {
		api = model.PolicyAPI
	}
	for _, p := range tb.Sim.NSXPorts(api) {
		byAttachment[p.AttachmentID] = p
	}
	for _, np := range tb.Sim.World.PortsOfDevice(serverID) {
		p, ok := byAttachment[np.ID]
		if !ok {
			continue
		}
		if np.NetworkID == podNet {
			pod = &p
		} else {
			others = append(others, p)
		}
	}
	return pod, others
}

// tagValues returns the values of a scope among tags.
func tagValues(tags []model.Tag, scope string) []string {
	var out []string
	for _, t := range tags {
		if t.Scope == scope {
			out = append(out, t.Tag)
		}
	}
	return out
}

// cloudVolume returns viosim's volume of that id.
func cloudVolume(tb *testbed.Testbed, id string) (sim.VolumeInfo, bool) {
	for _, v := range tb.Sim.Snapshot().Volumes {
		if v.ID == id {
			return v, true
		}
	}
	return sim.VolumeInfo{}, false
}
