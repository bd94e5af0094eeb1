package charts_test

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/klog/v2"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/render"
)

// TestPortTaggerRunsAtBootstrap: NCP networks pods only once their node's
// NSX port is tagged, so the tagger must run before any pod network, on
// nodes the cloud controller manager has not initialized and NCP has not
// made ready, and must not need cluster DNS.
func TestPortTaggerRunsAtBootstrap(t *testing.T) {
	objs := renderValues(t, fullValues(t), render.Options{})
	d := typed[appsv1.Deployment](t, render.Find(objs, "Deployment", "epks-addons-port-tagger"))
	spec := d.Spec.Template.Spec
	if !spec.HostNetwork {
		t.Error("the tagger is not on the host network: it waits for NCP, which waits for it")
	}
	if spec.DNSPolicy != corev1.DNSDefault {
		t.Errorf("dnsPolicy %q, want Default (the node's resolver: no cluster DNS before NCP)", spec.DNSPolicy)
	}
	if spec.PriorityClassName != "system-cluster-critical" {
		t.Errorf("priorityClassName %q", spec.PriorityClassName)
	}
	for _, taint := range []corev1.Taint{
		{Key: "node.cloudprovider.kubernetes.io/uninitialized", Value: "true", Effect: corev1.TaintEffectNoSchedule},
		{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoSchedule},
		{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoExecute},
		{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule},
	} {
		tolerated := false
		for _, tol := range spec.Tolerations {
			if tol.ToleratesTaint(klog.Background(), &taint, false) {
				tolerated = true
			}
		}
		if !tolerated {
			t.Errorf("taint %s:%s is not tolerated", taint.Key, taint.Effect)
		}
	}
	// The ports are the node's: the defaults, then values of the user's.
	wantPorts := func(spec corev1.PodSpec, metrics, health string) {
		t.Helper()
		c := spec.Containers[0]
		args := strings.Join(c.Args, " ")
		for _, want := range []string{"--metrics-bind-address=:" + metrics, "--health-probe-bind-address=:" + health} {
			if !strings.Contains(args, want) {
				t.Errorf("args lack %s: %s", want, args)
			}
		}
		var ports []string
		for _, p := range c.Ports {
			ports = append(ports, p.Name+"="+itoa(p.ContainerPort))
		}
		if got := strings.Join(ports, " "); got != "metrics="+metrics+" health="+health {
			t.Errorf("container ports %s", got)
		}
	}
	wantPorts(spec, "10271", "10272")
	v := set(set(fullValues(t), "portTagger.metricsPort", 19001), "portTagger.healthPort", 19002)
	d = typed[appsv1.Deployment](t, render.Find(renderValues(t, v, render.Options{}), "Deployment", "epks-addons-port-tagger"))
	wantPorts(d.Spec.Template.Spec, "19001", "19002")

	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	v = set(set(fullValues(t), "portTagger.metricsPort", 19001), "portTagger.healthPort", 19001)
	if _, err := render.Render(context.Background(), ch, v, render.Options{}); err == nil || !strings.Contains(err.Error(), "portTagger.metricsPort and portTagger.healthPort must differ") {
		t.Errorf("equal ports: %v", err)
	}
	v = set(fullValues(t), "portTagger.metricsPort", 70000)
	if _, err := render.Render(context.Background(), ch, v, render.Options{}); err == nil || !strings.Contains(err.Error(), "/portTagger/metricsPort") {
		t.Errorf("a port above 65535: %v", err)
	}
}

func itoa(i int32) string {
	var b []byte
	if i == 0 {
		return "0"
	}
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// TestPortTaggerRBAC: the verbs its code uses, no more. It reads Nodes
// (never writes them: no finalizer), tells on them with core/v1 events and
// elects a leader with a Lease.
func TestPortTaggerRBAC(t *testing.T) {
	objs := renderValues(t, fullValues(t), render.Options{})
	rules := func(kind string) map[string][]string {
		out := map[string][]string{}
		for _, r := range typed[rbacv1.ClusterRole](t, render.Find(objs, kind, "epks-addons-port-tagger")).Rules {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					verbs := append([]string(nil), r.Verbs...)
					sort.Strings(verbs)
					out[g+"/"+res] = append(out[g+"/"+res], verbs...)
				}
			}
		}
		return out
	}
	if got, want := rules("ClusterRole"), map[string][]string{"/nodes": {"get", "list", "watch"}, "/events": {"create", "patch"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("ClusterRole rules %v, want %v", got, want)
	}
	if got, want := rules("Role"), map[string][]string{"coordination.k8s.io/leases": {"create", "get", "update"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Role rules %v, want %v", got, want)
	}
}
