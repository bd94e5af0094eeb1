package podrun

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeBinary writes a program that prints out for --version, as the
// upstream binaries word it.
func fakeBinary(t *testing.T, name, out string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	script := "#!/bin/sh\n[ \"$1\" = --version ] || exit 3\necho '" + out + "'\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReportedVersion(t *testing.T) {
	for _, tc := range []struct{ out, want, wantErr string }{
		{"Kubernetes v1.36.0", "v1.36.0", ""},                      // openstack-cloud-controller-manager
		{"cinder-csi-plugin version v1.36.0", "v1.36.0", ""},       // cobra
		{"/cache/bin/csi-provisioner-v6.4.0 v6.4.0", "v6.4.0", ""}, // CSI sidecars print their path
		{"epks-port-tagger v0.1.0-rc.1", "v0.1.0-rc.1", ""},        // ours
		{"nsx-ncp 4.2.0", "4.2.0", ""},                             // no v
		{"development build", "", "printed 0 versions"},            // nothing to check
		{"v1.36.0 built with go1.26 for v1.35.0", "", "printed 2 versions"},
	} {
		got, err := ReportedVersion(context.Background(), fakeBinary(t, "bin", tc.out))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: ReportedVersion = %q, %v, want an error containing %q", tc.out, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: ReportedVersion = %q, %v, want %q", tc.out, got, err, tc.want)
		}
	}
}

// TestStartRefusesAnotherVersion: a pod whose image tag names another
// version than the binary reports does not run, and the error names the
// pod, the container, the tag and the binary's version; every such
// container is named at once.
func TestStartRefusesAnotherVersion(t *testing.T) {
	plugin := fakeBinary(t, "cinder-csi-plugin-v1.36.0", "cinder-csi-plugin version v1.36.0")
	provisioner := fakeBinary(t, "csi-provisioner-v6.4.0", "/cache/csi-provisioner-v6.4.0 v6.4.0")
	r := &Runner{Dir: t.TempDir(), Binaries: map[string]Binary{
		"provider-os/cinder-csi-plugin": {Path: plugin}, "sig-storage/csi-provisioner": {Path: provisioner},
	}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "epks-system", Name: "csi-controller-0"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "cinder-csi-plugin", Image: "registry.k8s.io/provider-os/cinder-csi-plugin:v1.35.0"},
			{Name: "csi-provisioner", Image: "registry.k8s.io/sig-storage/csi-provisioner:v6.3.0"},
		}}}
	p, err := r.Start(context.Background(), pod)
	if err == nil {
		p.Stop()
		t.Fatal("Start ran binaries of other versions than the images' tags")
	}
	for _, want := range []string{
		"pod epks-system/csi-controller-0",
		"container cinder-csi-plugin: image tag v1.35.0, but the binary " + plugin + " reports version v1.36.0",
		"container csi-provisioner: image tag v6.3.0, but the binary " + provisioner + " reports version v6.4.0",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestCheckVersion(t *testing.T) {
	bin := Binary{Path: fakeBinary(t, "epks-port-tagger", "epks-port-tagger v0.1.0")}
	r := &Runner{}
	ctx := context.Background()
	if err := r.checkVersion(ctx, "ghcr.io/epks/epks-port-tagger:v0.1.0", bin); err != nil {
		t.Errorf("the same version: %v", err)
	}
	if err := r.checkVersion(ctx, "ghcr.io/epks/epks-port-tagger:v0.1.0@sha256:"+strings.Repeat("a", 64), bin); err != nil {
		t.Errorf("a tag and a digest: %v", err)
	}
	if err := r.checkVersion(ctx, "ghcr.io/epks/epks-port-tagger@sha256:"+strings.Repeat("a", 64), bin); err == nil ||
		!strings.Contains(err.Error(), "has no tag") {
		t.Errorf("a digest alone: %v", err)
	}
	if err := r.checkVersion(ctx, "ghcr.io/epks/epks-port-tagger", bin); err == nil {
		t.Error("an image without a tag (latest) was accepted")
	}
}
