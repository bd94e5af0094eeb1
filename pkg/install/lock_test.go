package install

import (
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestLeaseExpired(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.MicroTime { m := metav1.NewMicroTime(now.Add(d)); return &m }
	secs := int32(30)
	for _, tc := range []struct {
		name  string
		spec  coordinationv1.LeaseSpec
		wantX bool
	}{
		{"renewed just now", coordinationv1.LeaseSpec{RenewTime: at(-time.Second), LeaseDurationSeconds: &secs}, false},
		{"renewed 29s ago", coordinationv1.LeaseSpec{RenewTime: at(-29 * time.Second), LeaseDurationSeconds: &secs}, false},
		{"renewed 31s ago", coordinationv1.LeaseSpec{RenewTime: at(-31 * time.Second), LeaseDurationSeconds: &secs}, true},
		{"acquired only, recently", coordinationv1.LeaseSpec{AcquireTime: at(-time.Second), LeaseDurationSeconds: &secs}, false},
		{"no times", coordinationv1.LeaseSpec{LeaseDurationSeconds: &secs}, true},
		{"no duration", coordinationv1.LeaseSpec{RenewTime: at(0)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := leaseExpired(&coordinationv1.Lease{Spec: tc.spec}, now); got != tc.wantX {
				t.Errorf("expired=%v, want %v", got, tc.wantX)
			}
		})
	}
}

func TestHoldersDiffer(t *testing.T) {
	a, b := holderOf(newRunID()), holderOf(newRunID())
	if a == b || !strings.HasPrefix(a, "epks@") {
		t.Errorf("holders %q and %q", a, b)
	}
}

func TestMissingVersions(t *testing.T) {
	crd := func(versions ...any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"versions": versions}}}
	}
	v := func(name string, served bool) any { return map[string]any{"name": name, "served": served} }
	ours := crd(v("v1", true), v("v1beta1", false))
	for _, tc := range []struct {
		name     string
		existing *unstructured.Unstructured
		missing  string
	}{
		{"same", crd(v("v1", true)), ""},
		{"more", crd(v("v1", true), v("v1beta1", true)), ""},
		{"old only", crd(v("v1beta1", true)), "v1"},
		{"v1 not served", crd(v("v1", false), v("v1beta1", true)), "v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			missing, _ := missingVersions(ours, tc.existing)
			if got := strings.Join(missing, ","); got != tc.missing {
				t.Errorf("missing %q, want %q", got, tc.missing)
			}
		})
	}
}

func TestImageName(t *testing.T) {
	for ref, want := range map[string]string{
		"registry.k8s.io/sig-storage/snapshot-controller:v8.2.0": "snapshot-controller",
		"snapshot-controller":                                "snapshot-controller",
		"localhost:5000/snapshot-controller@sha256:abc":      "snapshot-controller",
		"registry.k8s.io/sig-storage/csi-snapshotter:v8.2.0": "csi-snapshotter",
		"example.com:443/x/snapshot-controller-operator:v1":  "snapshot-controller-operator",
	} {
		if got := imageName(ref); got != want {
			t.Errorf("imageName(%q) = %q, want %q", ref, got, want)
		}
	}
}
