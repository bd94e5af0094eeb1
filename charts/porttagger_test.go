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
	"github.com/epks/epks/pkg/params"
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

// TestDefaultNCPVersion: pkg/params chooses the NSX API mode by the NCP
// version the chart pins.
func TestDefaultNCPVersion(t *testing.T) {
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	ncp, _ := ch.Values["ncp"].(map[string]any)
	image, _ := ncp["image"].(map[string]any)
	if tag, _ := image["tag"].(string); tag != params.DefaultNCPVersion {
		t.Errorf("the chart pins NCP %q, pkg/params assumes %q", tag, params.DefaultNCPVersion)
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

// TestNSXAPIModeFollowsNCP: the NSX API defaults to what the pinned NCP
// needs (NCP 4.x forces the Policy API), for NCP and the tagger alike.
func TestNSXAPIModeFollowsNCP(t *testing.T) {
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tag, mode, want, err string
	}{
		{"", "", "policy", ""}, // the chart's pinned NCP
		{"4.2.0", "", "policy", ""},
		{"v4.1.2", "policy", "policy", ""},
		{"3.2.1", "", "manager", ""},
		{"3.2.1", "policy", "policy", ""},
		{"4.2.0", "manager", "", "nsx.apiMode: manager cannot be used with NCP 4.2.0"},
		{"latest", "", "", `the NCP image tag "latest" names no NCP version`},
		{"latest", "manager", "manager", ""},
		{"seed", "", "manager", ""}, // registry.local/2.4.1.13515827/nsx-ncp-ubuntu:latest
	} {
		v := fullValues(t)
		if tc.tag == "seed" {
			set(set(v, "ncp.image.tag", "latest"), "ncp.image.repository", "2.4.1.13515827/nsx-ncp-ubuntu")
		} else if tc.tag != "" {
			set(v, "ncp.image.tag", tc.tag)
		}
		set(v, "nsx.apiMode", tc.mode)
		out, err := render.Render(context.Background(), ch, v, render.Options{})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("tag %q mode %q: error %v, want %q", tc.tag, tc.mode, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("tag %q mode %q: %v", tc.tag, tc.mode, err)
			continue
		}
		objs, err := render.Objects(out)
		if err != nil {
			t.Fatal(err)
		}
		cm := typed[corev1.ConfigMap](t, render.Find(objs, "ConfigMap", "epks-addons-port-tagger"))
		if !strings.Contains(cm.Data["config.yaml"], `apiMode: "`+tc.want+`"`) {
			t.Errorf("tag %q mode %q: the tagger's config says\n%s\nwant apiMode %s", tc.tag, tc.mode, cm.Data["config.yaml"], tc.want)
		}
		wantPolicy := map[string]string{"policy": "True", "manager": "False"}[tc.want]
		found := false
		for _, o := range objs {
			if o.GetKind() != "ConfigMap" {
				continue
			}
			for _, data := range typed[corev1.ConfigMap](t, o).Data {
				if strings.Contains(data, "policy_nsxapi") {
					found = true
					if !strings.Contains(data, "policy_nsxapi = "+wantPolicy+"\n") {
						t.Errorf("tag %q mode %q: ncp.ini lacks policy_nsxapi = %s", tc.tag, tc.mode, wantPolicy)
					}
				}
			}
		}
		if !found {
			t.Error("no ncp.ini with policy_nsxapi rendered")
		}
	}
}
