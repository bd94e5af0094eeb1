package tagger

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/epks/epks/pkg/nsx"
)

func TestServerID(t *testing.T) {
	for _, tc := range []struct {
		in, id string
		ok     bool
	}{
		{"openstack:///2b3c", "2b3c", true},
		{"openstack://RegionOne/2b3c", "2b3c", true},
		{"openstack://", "", false},
		{"openstack:///", "", false},
		{"vsphere://4213-aa", "", false},
		{"", "", false},
	} {
		id, ok := ServerID(tc.in)
		if id != tc.id || ok != tc.ok {
			t.Errorf("ServerID(%q) = %q, %v", tc.in, id, ok)
		}
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", `clusterName: k8scluster
nsx:
  managers: ["nsx.example:443"]
  credentialsDir: `+dir+`
podNetworkCIDR: 172.30.0.0/16
`)
	c, err := LoadConfig(good)
	if err != nil {
		t.Fatal(err)
	}
	if c.NSX.APIMode != "manager" || c.ResyncPeriod.Duration != 10*time.Minute {
		t.Errorf("defaults: %+v", c)
	}
	bad := writeFile(t, dir, "bad.yaml", "nsx:\n  maxConcurrency: 50\nresyncPeriod: 1ms\n")
	_, err = LoadConfig(bad)
	for _, want := range []string{"clusterName is required", "nsx.managers is required", "nsx.credentialsDir is required",
		"maxConcurrency 50", "podNetwork or podNetworkCIDR", "resyncPeriod must be at least 1s"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if _, err := LoadConfig(writeFile(t, dir, "typo.yaml", "clusterNmae: x\n")); err == nil || !strings.Contains(err.Error(), "clusterNmae") {
		t.Errorf("an unknown field: %v", err)
	}
	if _, err := LoadConfig(writeFile(t, dir, "dur.yaml", "resyncPeriod: soon\n")); err == nil || !strings.Contains(err.Error(), "not a duration") {
		t.Errorf("a bad duration: %v", err)
	}

	// Credentials: user and password, and the CA.
	writeFile(t, dir, "username", "admin\n")
	writeFile(t, dir, "password", "p@ss w0rd\n")
	nc, err := c.NSXConfig()
	if err != nil || nc.Username != "admin" || nc.Password != "p@ss w0rd" || nc.RootCAs != nil {
		t.Fatalf("NSXConfig = %+v, %v", nc, err)
	}
	writeFile(t, dir, "ca.crt", "garbage")
	if _, err := c.NSXConfig(); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a bad CA: %v", err)
	}
	os.Remove(filepath.Join(dir, "ca.crt"))
	os.Remove(filepath.Join(dir, "password"))
	if _, err := c.NSXConfig(); err == nil || !strings.Contains(err.Error(), "neither username and password") {
		t.Errorf("no credentials: %v", err)
	}
}

func TestKeepNewer(t *testing.T) {
	listed := map[string]nsx.Port{
		"written-during-list": {ID: "a", Revision: 3},
		"changed-out-of-band": {ID: "b", Revision: 9},
		"unchanged":           {ID: "c", Revision: 1},
	}
	cached := map[string]nsx.Port{
		"written-during-list": {ID: "a", Revision: 4},
		"changed-out-of-band": {ID: "b", Revision: 8},
		"unchanged":           {ID: "c", Revision: 1},
		"gone":                {ID: "d", Revision: 2},
	}
	keepNewer(listed, cached)
	for id, rev := range map[string]int64{"written-during-list": 4, "changed-out-of-band": 9, "unchanged": 1} {
		if listed[id].Revision != rev {
			t.Errorf("%s: revision %d, want %d", id, listed[id].Revision, rev)
		}
	}
	if _, ok := listed["gone"]; ok {
		t.Error("a port no longer listed came back from the cache")
	}
}

func TestSlimNode(t *testing.T) {
	now := metav1.Now()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n", UID: "u", ResourceVersion: "7", DeletionTimestamp: &now,
			Labels: map[string]string{"a": "b"}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec:   corev1.NodeSpec{ProviderID: "openstack:///x", PodCIDR: "10.0.0.0/24"},
		Status: corev1.NodeStatus{Images: []corev1.ContainerImage{{Names: []string{"big"}}}},
	}
	out, err := SlimNode(n)
	if err != nil {
		t.Fatal(err)
	}
	slim := out.(*corev1.Node)
	if slim.Name != "n" || slim.UID != "u" || slim.ResourceVersion != "7" || slim.DeletionTimestamp == nil || slim.Spec.ProviderID != "openstack:///x" {
		t.Errorf("lost what the tagger reads: %+v", slim)
	}
	if len(slim.Status.Images) != 0 || len(slim.Labels) != 0 || len(slim.ManagedFields) != 0 || slim.Spec.PodCIDR != "" {
		t.Errorf("kept what the tagger does not read: %+v", slim)
	}
	if other, _ := SlimNode("not a node"); other != "not a node" {
		t.Error("other objects must pass through")
	}
}
