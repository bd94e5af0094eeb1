package charts_test

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"testing"
	"text/template"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/epks/epks/pkg/render"
)

// The reference manifests of the components the chart deploys, kept as test
// data with their version and source named in testdata/*/README.md.
const (
	ncpReference      = "testdata/ncp-4.2.0/ncp-ubuntu.yaml"
	upstreamReference = "testdata/upstream/"
)

// ncpManifest renders NCP's published manifest, a Go template that NCP's
// operator fills in, with placeholders, and decodes its objects.
func ncpManifest(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(ncpReference)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.New("ncp").Option("missingkey=error").Funcs(template.FuncMap{
		"indent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
		},
	}).Parse(string(data))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, map[string]any{
		"NcpImage": "registry.local/nsx-container/nsx-ncp-ubuntu:4.2.0", "NcpReplicas": 1,
		"NcpNodeSelector": "{}", "NcpTolerations": "[]", "NsxNodeAgentTolerations": "[]",
		"NSXNCPConfig": "[coe]", "NSXNodeAgentConfig": "[coe]",
		"NsxCert": "", "NsxKey": "", "NsxCA": "", "LbCert": "", "LbKey": "",
		"UseNsxOvsKmod": false,
	}); err != nil {
		t.Fatal(err)
	}
	objs, err := render.Objects(out.String())
	if err != nil {
		t.Fatalf("decoding %s: %v", ncpReference, err)
	}
	return objs
}

// upstreamObjects decodes an upstream file of testdata/upstream. In the
// charts' files, the role name takes the chart's default and the other lines
// with Helm template actions (labels and annotations) are dropped.
func upstreamObjects(t *testing.T, file string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(upstreamReference + file)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.Replace(line, "{{ .Values.clusterRoleName }}", "system:cloud-controller-manager", 1)
		if !strings.Contains(line, "{{") {
			kept = append(kept, line)
		}
	}
	objs, err := render.Objects(strings.Join(kept, "\n"))
	if err != nil {
		t.Fatalf("decoding %s: %v", file, err)
	}
	return objs
}

// fields flattens the parts of a pod that matter for what it may do on its
// node into "container field" → value, so that two pods compare field by
// field. Container names go through rename first.
func fields(t *testing.T, spec corev1.PodSpec, annotations map[string]string, rename map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{
		"pod hostNetwork":       fmt.Sprint(spec.HostNetwork),
		"pod hostPID":           fmt.Sprint(spec.HostPID),
		"pod hostIPC":           fmt.Sprint(spec.HostIPC),
		"pod priorityClassName": spec.PriorityClassName,
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	add := func(c corev1.Container, init bool) {
		name := c.Name
		if r, ok := rename[name]; ok {
			name = r
		}
		f := func(field, value string) { out[name+" "+field] = value }
		f("present", map[bool]string{true: "init", false: "container"}[init])
		f("command", strings.Join(c.Command, " "))
		var env []string
		for _, e := range c.Env {
			env = append(env, e.Name)
		}
		sort.Strings(env)
		f("env", strings.Join(env, " "))
		if p := c.LivenessProbe; p != nil && p.Exec != nil {
			f("liveness", fmt.Sprintf("%s delay=%d", strings.Join(p.Exec.Command, " "), p.InitialDelaySeconds))
		}
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		f("privileged", fmt.Sprint(sc.Privileged != nil && *sc.Privileged))
		if sc.RunAsUser != nil {
			f("runAsUser", fmt.Sprint(*sc.RunAsUser))
		}
		if sc.AllowPrivilegeEscalation != nil {
			f("allowPrivilegeEscalation", fmt.Sprint(*sc.AllowPrivilegeEscalation))
		}
		if sc.Capabilities != nil {
			for field, caps := range map[string][]corev1.Capability{"capabilities.add": sc.Capabilities.Add, "capabilities.drop": sc.Capabilities.Drop} {
				var s []string
				for _, c := range caps {
					s = append(s, string(c))
				}
				sort.Strings(s)
				if len(s) > 0 {
					f(field, strings.Join(s, " "))
				}
			}
		}
		// AppArmor: the field, or the beta annotation NCP's manifest still uses.
		apparmor := annotations["container.apparmor.security.beta.kubernetes.io/"+c.Name]
		if p := sc.AppArmorProfile; p != nil {
			apparmor = strings.ToLower(string(p.Type))
			if p.LocalhostProfile != nil {
				apparmor += "/" + *p.LocalhostProfile
			}
		}
		if apparmor != "" {
			f("apparmor", apparmor)
		}
		for _, m := range c.VolumeMounts {
			v, ok := volumes[m.Name]
			if !ok {
				t.Fatalf("container %s mounts unknown volume %s", c.Name, m.Name)
			}
			var src string
			switch {
			case v.HostPath != nil:
				src = "host " + path.Join(v.HostPath.Path, m.SubPath)
				if m.ReadOnly {
					src += " ro"
				}
				if m.MountPropagation != nil {
					src += " " + string(*m.MountPropagation)
				}
			case v.ConfigMap != nil, v.Projected != nil:
				src = "ncp.ini"
			case v.Secret != nil:
				src = "secret"
			case v.EmptyDir != nil:
				src = "emptyDir"
			}
			f("mount "+strings.TrimSuffix(m.MountPath, "/"), src)
		}
	}
	for _, c := range spec.InitContainers {
		add(c, true)
	}
	for _, c := range spec.Containers {
		add(c, false)
	}
	return out
}

// compareFields reports every field that differs and is not an intended
// difference, and every intended difference that no longer is one.
func compareFields(t *testing.T, ours, ref map[string]string, intended map[string]string) {
	t.Helper()
	keys := map[string]bool{}
	for k := range ours {
		keys[k] = true
	}
	for k := range ref {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		o, inOurs := ours[k]
		r, inRef := ref[k]
		differs := o != r || inOurs != inRef
		_, why := intended[k]
		switch {
		case differs && !why:
			t.Errorf("%s: chart %q, NCP's manifest %q (not an intended difference)", k, show(o, inOurs), show(r, inRef))
		case !differs && why:
			t.Errorf("%s: listed as an intended difference, but the chart agrees with NCP's manifest (%q)", k, o)
		}
	}
	for k := range intended {
		if !keys[k] {
			t.Errorf("%s: listed as an intended difference of a field neither has", k)
		}
	}
}

func show(v string, ok bool) string {
	if !ok {
		return "<absent>"
	}
	return v
}

// TestNCPWorkloadsMatchNCPManifest compares the NCP Deployment and the
// nsx-node-agent DaemonSet with NCP's published manifest for the pinned NCP
// version, field by field: containers, commands, mounts, security contexts,
// capabilities, AppArmor, host namespaces. Every difference is listed below
// with its reason.
func TestNCPWorkloadsMatchNCPManifest(t *testing.T) {
	ref := ncpManifest(t)
	v := set(fullValues(t), "nsxNodeAgent.ovsInContainer", true)
	objs := renderValues(t, v, render.Options{})

	t.Run("ncp", func(t *testing.T) {
		want := typed[appsv1.Deployment](t, render.Find(ref, "Deployment", "nsx-ncp"))
		got := typed[appsv1.Deployment](t, render.Find(objs, "Deployment", "epks-addons-ncp"))
		compareFields(t,
			fields(t, got.Spec.Template.Spec, got.Spec.Template.Annotations, map[string]string{"ncp": "nsx-ncp"}),
			fields(t, want.Spec.Template.Spec, want.Spec.Template.Annotations, nil),
			map[string]string{
				"pod priorityClassName": "NCP builds the pod network every other pod waits for; it must not be evicted for them.",
				"config present": "The chart's init container builds ncp.ini in memory from the ConfigMap and the NSX Secret " +
					"(user and password, or a client certificate); NCP's operator writes the credentials into ncp.ini itself.",
				"config command": "(the init container above)", "config env": "(the init container above)",
				"config privileged": "(the init container above)", "config allowPrivilegeEscalation": "(the init container above)",
				"config capabilities.drop":  "(the init container above)",
				"config mount /etc/nsx-ujo": "(the init container above)", "config mount /etc/epks/ncp": "(the init container above)",
				"config mount /etc/epks/nsx":       "(the init container above)",
				"nsx-ncp mount /etc/nsx-ujo":       "ncp.ini with the credentials lives in a memory emptyDir the init container fills, not in a projected ConfigMap.",
				"nsx-ncp mount /etc/epks/nsx":      "The NSX Secret (client certificate and CA files that ncp.ini names), mounted read-only.",
				"nsx-ncp allowPrivilegeEscalation": "NCP needs no setuid binary: escalation is off.",
				"nsx-ncp capabilities.drop":        "Every capability but AUDIT_WRITE is dropped; NCP's manifest keeps the runtime's defaults.",
			})
	})

	t.Run("nsx-node-agent", func(t *testing.T) {
		// NCP's manifest runs the bootstrap as its own DaemonSet (an init container and the
		// host OVS monitor) beside the node agent's; the chart runs both in one pod, so that
		// the bootstrap has loaded the AppArmor profile before the agent starts.
		boot := typed[appsv1.DaemonSet](t, render.Find(ref, "DaemonSet", "nsx-ncp-bootstrap"))
		agent := typed[appsv1.DaemonSet](t, render.Find(ref, "DaemonSet", "nsx-node-agent"))
		wantSpec := agent.Spec.Template.Spec
		wantSpec.InitContainers = boot.Spec.Template.Spec.InitContainers
		wantSpec.Containers = append(append([]corev1.Container{}, boot.Spec.Template.Spec.Containers...), wantSpec.Containers...)
		wantSpec.Volumes = append(append([]corev1.Volume{}, boot.Spec.Template.Spec.Volumes...), wantSpec.Volumes...)
		wantSpec.HostPID = boot.Spec.Template.Spec.HostPID
		got := typed[appsv1.DaemonSet](t, render.Find(objs, "DaemonSet", "epks-addons-nsx-node-agent"))
		compareFields(t,
			fields(t, got.Spec.Template.Spec, got.Spec.Template.Annotations, map[string]string{"bootstrap": "nsx-ncp-bootstrap"}),
			fields(t, wantSpec, agent.Spec.Template.Annotations, nil),
			map[string]string{})
	})

	// OVS on the host (the default): no nsx-ovs container, the rest unchanged.
	t.Run("ovs on the host", func(t *testing.T) {
		objs := renderValues(t, set(fullValues(t), "nsxNodeAgent.ovsInContainer", false), render.Options{})
		ds := typed[appsv1.DaemonSet](t, render.Find(objs, "DaemonSet", "epks-addons-nsx-node-agent"))
		for _, c := range ds.Spec.Template.Spec.Containers {
			if c.Name == "nsx-ovs" {
				t.Errorf("nsx-ovs runs with ovsInContainer false")
			}
		}
	})
}

// grant is one verb on one resource, cluster-wide or in the release's (for
// upstream: the component's) namespace.
type grant struct {
	namespaced bool
	resource   string // resource.group, the core group without a suffix
	verb       string
}

func (g grant) String() string {
	s := g.resource + ":" + g.verb
	if g.namespaced {
		s = "Role " + s
	}
	return s
}

// servedIn names the one group that serves each resource that NCP's rules
// list under several groups at once (its rules cross "", extensions,
// networking.k8s.io and apps with every resource; extensions serves none of
// them since Kubernetes 1.22).
var servedIn = map[string]string{
	"deployments": "apps", "statefulsets": "apps", "replicationcontrollers": "", "endpoints": "",
	"pods": "", "pods/log": "", "nodes": "", "secrets": "", "namespaces": "", "services": "",
	"services/status": "", "ingresses": "networking.k8s.io", "ingresses/status": "networking.k8s.io",
	"ingressclasses": "networking.k8s.io", "networkpolicies": "networking.k8s.io",
}

var allVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// grants expands rules into single grants.
func grants(t *testing.T, rules []rbacv1.PolicyRule, namespaced bool) map[grant]bool {
	t.Helper()
	out := map[grant]bool{}
	for _, r := range rules {
		for _, group := range r.APIGroups {
			for _, res := range r.Resources {
				if len(r.APIGroups) > 1 {
					served, ok := servedIn[res]
					if !ok {
						t.Fatalf("resource %s listed under several groups: add it to servedIn", res)
					}
					if served != group {
						continue
					}
				}
				name := res
				if group != "" {
					name += "." + group
				}
				verbs := r.Verbs
				if len(verbs) == 1 && verbs[0] == "*" {
					verbs = allVerbs
				}
				for _, verb := range verbs {
					out[grant{namespaced, name, verb}] = true
				}
			}
		}
	}
	return out
}

// roleGrants collects the grants of the named Roles and ClusterRoles.
func roleGrants(t *testing.T, objs []*unstructured.Unstructured, names ...string) map[grant]bool {
	t.Helper()
	out := map[grant]bool{}
	for _, name := range names {
		found := false
		for _, kind := range []string{"ClusterRole", "Role"} {
			o := render.Find(objs, kind, name)
			if o == nil {
				continue
			}
			found = true
			for g := range grants(t, typed[rbacv1.ClusterRole](t, o).Rules, kind == "Role") {
				out[g] = true
			}
		}
		if !found {
			t.Fatalf("no Role or ClusterRole %s", name)
		}
	}
	return out
}

// with returns a copy of m with key set to value.
func with(m map[string]string, key, value string) map[string]string {
	out := map[string]string{key: value}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestRBACMatchesUpstream compares each component's RBAC with what its
// upstream grants for the pinned version: NCP's manifest, the OCCM's chart,
// the CSI sidecars' and the snapshot-controller's deploy files. Every grant
// upstream has and the chart has not (missing), and every grant the chart has
// and upstream has not (extra), is listed with its reason. A key without a
// verb covers every verb of the resource.
func TestRBACMatchesUpstream(t *testing.T) {
	ncp := ncpManifest(t)
	ncpUpstream := func(t *testing.T) map[grant]bool {
		return roleGrants(t, ncp, "ncp-cluster-role", "ncp-patch-role", "ncp-exec-role")
	}
	ncpMissing := map[string]string{
		"podsecuritypolicies.policy":                 "PodSecurityPolicy was removed in Kubernetes 1.25.",
		"ingresses/status.networking.k8s.io:replace": "`replace` is no Kubernetes verb.",
		"services/status:replace":                    "`replace` is no Kubernetes verb.",
	}
	for _, tc := range []struct {
		name     string
		values   map[string]any
		ours     []string
		upstream func(t *testing.T) map[grant]bool
		// subset: the chart grants a subset of upstream's broad role; missing is not checked.
		subset         bool
		missing, extra map[string]string
	}{{
		name:     "ncp with NSX load balancers",
		ours:     []string{"epks-addons-ncp", "epks-addons-ncp-exec"},
		upstream: ncpUpstream,
		missing:  ncpMissing,
	}, {
		name:     "ncp with Octavia load balancers",
		values:   map[string]any{"loadBalancer.provider": "octavia"},
		ours:     []string{"epks-addons-ncp", "epks-addons-ncp-exec"},
		upstream: ncpUpstream,
		missing: with(ncpMissing, "secrets", "NCP reads TLS Secrets cluster-wide only for NSX load balancers (Ingress and "+
			"LoadBalancer certificates); with Octavia it serves none (use_native_loadbalancer = False)."),
	}, {
		name: "nsx-node-agent",
		ours: []string{"epks-addons-nsx-node-agent"},
		upstream: func(t *testing.T) map[grant]bool {
			return roleGrants(t, ncp, "nsx-node-agent-cluster-role")
		},
	}, {
		name:   "occm",
		values: map[string]any{"loadBalancer.provider": "octavia"},
		ours:   []string{"epks-addons-occm"},
		upstream: func(t *testing.T) map[grant]bool {
			g := roleGrants(t, upstreamObjects(t, "occm-clusterrole-v1.36.0.yaml"), "system:cloud-controller-manager")
			// The chart grants leases in the release namespace; upstream's ClusterRole grants them everywhere.
			for k := range g {
				if k.resource == "leases.coordination.k8s.io" {
					g[grant{true, k.resource, k.verb}] = true
				}
			}
			return g
		},
		subset: true,
	}, {
		name: "cinder-csi controller (attacher, provisioner, resizer, snapshotter)",
		ours: []string{"epks-addons-cinder-csi-controller"},
		upstream: func(t *testing.T) map[grant]bool {
			out := map[grant]bool{}
			for file, roles := range map[string][]string{
				"external-attacher-v4.13.0-rbac.yaml":   {"external-attacher-runner", "external-attacher-cfg"},
				"external-provisioner-v6.4.0-rbac.yaml": {"external-provisioner-runner", "external-provisioner-cfg"},
				"external-resizer-v1.14.0-rbac.yaml":    {"external-resizer-runner", "external-resizer-cfg"},
				"csi-snapshotter-v8.7.0-rbac.yaml":      {"external-snapshotter-runner", "external-snapshotter-leaderelection"},
			} {
				for g := range roleGrants(t, upstreamObjects(t, file), roles...) {
					out[g] = true
				}
			}
			return out
		},
		missing: map[string]string{
			"Role csistoragecapacities.storage.k8s.io": "Storage capacity tracking is off (no --enable-capacity): Cinder has no capacity per topology.",
			"Role pods:get":             "Only capacity tracking reads the provisioner's own pod and ReplicaSet.",
			"Role replicasets.apps:get": "Only capacity tracking reads the provisioner's own pod and ReplicaSet.",
			"volumegroupsnapshotclasses.groupsnapshot.storage.k8s.io": "Volume group snapshots are off: the chart installs " +
				"no groupsnapshot CRDs and the snapshotter runs without --feature-gates=CSIVolumeGroupSnapshot.",
			"volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io":        "(volume group snapshots, above)",
			"volumegroupsnapshotcontents/status.groupsnapshot.storage.k8s.io": "(volume group snapshots, above)",
		},
	}, {
		name: "snapshot-controller",
		ours: []string{"epks-addons-snapshot-controller"},
		upstream: func(t *testing.T) map[grant]bool {
			return roleGrants(t, upstreamObjects(t, "snapshot-controller-v8.7.0-rbac.yaml"),
				"snapshot-controller-runner", "snapshot-controller-leaderelection")
		},
		missing: map[string]string{
			"volumesnapshots.snapshot.storage.k8s.io:create": "Only volume group snapshots create VolumeSnapshots; they are off (above).",
			"volumesnapshots.snapshot.storage.k8s.io:delete": "Only volume group snapshots delete VolumeSnapshots; they are off (above).",
			"volumegroupsnapshotclasses.groupsnapshot.storage.k8s.io": "Volume group snapshots are off: the chart installs " +
				"no groupsnapshot CRDs and the controller runs without --feature-gates=CSIVolumeGroupSnapshot.",
			"volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io":        "(volume group snapshots, above)",
			"volumegroupsnapshotcontents/status.groupsnapshot.storage.k8s.io": "(volume group snapshots, above)",
			"volumegroupsnapshots.groupsnapshot.storage.k8s.io":               "(volume group snapshots, above)",
			"volumegroupsnapshots/status.groupsnapshot.storage.k8s.io":        "(volume group snapshots, above)",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			v := fullValues(t)
			for k, val := range tc.values {
				set(v, k, val)
			}
			ours := roleGrants(t, renderValues(t, v, render.Options{}), tc.ours...)
			up := tc.upstream(t)
			used := map[string]bool{}
			explained := func(table map[string]string, g grant) bool {
				for _, key := range []string{g.String(), strings.TrimSuffix(g.String(), ":"+g.verb)} {
					if _, ok := table[key]; ok {
						used[key] = true
						return true
					}
				}
				return false
			}
			var problems []string
			for g := range up {
				if !ours[g] && !tc.subset && !explained(tc.missing, g) {
					problems = append(problems, "missing "+g.String())
				}
			}
			for g := range ours {
				if !up[g] && !explained(tc.extra, g) {
					problems = append(problems, "extra "+g.String())
				}
			}
			sort.Strings(problems)
			for _, p := range problems {
				t.Errorf("%s (upstream grants differ and no reason is listed)", p)
			}
			for _, table := range []map[string]string{tc.missing, tc.extra} {
				for key := range table {
					if !used[key] {
						t.Errorf("%q is listed as an intended difference but is none", key)
					}
				}
			}
		})
	}
}
