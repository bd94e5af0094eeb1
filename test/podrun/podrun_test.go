package podrun

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"context"
	"github.com/epks/epks/test/proc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"os"
	"path/filepath"
	"time"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "CSI_ENDPOINT": "unix:///csi/csi.sock"}
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"--endpoint=$(CSI_ENDPOINT)", "--endpoint=unix:///csi/csi.sock"},
		{"$(A)$(A)", "11"},
		{"$(UNDEFINED) stays", "$(UNDEFINED) stays"},
		{"$$(A) is escaped", "$(A) is escaped"},
		{"a $ alone", "a $ alone"},
		{"trailing $", "trailing $"},
		{"$(unclosed", "$(unclosed"},
	} {
		if got := expand(tc.in, vars); got != tc.want {
			t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRemap(t *testing.T) {
	m := mountMap{"/csi": "/tmp/p/v/socket-dir", "/etc/config": "/tmp/p/v/cloud-config", "/etc/config/extra": "/tmp/p/v/extra"}
	for _, tc := range []struct{ in, want string }{
		{"--csi-address=/csi/csi.sock", "--csi-address=/tmp/p/v/socket-dir/csi.sock"},
		{"unix:///csi/csi.sock", "unix:///tmp/p/v/socket-dir/csi.sock"},
		{"/csi", "/tmp/p/v/socket-dir"},
		{`ca-file = "/etc/config/ca.crt"`, `ca-file = "/tmp/p/v/cloud-config/ca.crt"`},
		{"/etc/config/extra/x", "/tmp/p/v/extra/x"},
		{"/var/csi/x /csinode /csi.d", "/var/csi/x /csinode /csi.d"},
		{"a=/csi,b=/csi/", "a=/tmp/p/v/socket-dir,b=/tmp/p/v/socket-dir/"},
	} {
		if got := m.remap(tc.in); got != tc.want {
			t.Errorf("remap(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSetFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--metrics-bind-address=:8080", "--v=2"}, []string{"--metrics-bind-address=127.0.0.1:1", "--v=2"}},
		{[]string{"--metrics-bind-address", ":8080"}, []string{"--metrics-bind-address", "127.0.0.1:1"}},
		{[]string{"-metrics-bind-address=:8080"}, []string{"--metrics-bind-address=127.0.0.1:1"}},
		{[]string{"--v=2"}, []string{"--v=2", "--metrics-bind-address=127.0.0.1:1"}},
		{[]string{"--metrics-bind-address-other=x"}, []string{"--metrics-bind-address-other=x", "--metrics-bind-address=127.0.0.1:1"}},
	} {
		if got := setFlag(append([]string(nil), tc.args...), "--metrics-bind-address", "127.0.0.1:1"); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("setFlag(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestAssignListeners(t *testing.T) {
	args, got, err := assignListeners([]string{"--health=:8081"}, Binary{ListenFlags: []string{"--health", "--metrics"}, PortFlags: []string{"--secure-port"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(args) != 3 || len(got) != 3 {
		t.Fatalf("args %q, addresses %v", args, got)
	}
	for _, f := range []string{"--health", "--metrics"} {
		if !strings.HasPrefix(got[f], "127.0.0.1:") {
			t.Errorf("%s got %q, not a loopback address", f, got[f])
		}
	}
	if port, err := strconv.Atoi(got["--secure-port"]); err != nil || port <= 0 || port > 65535 {
		t.Errorf("--secure-port got %q, not a port number", got["--secure-port"])
	}
	if !strings.HasPrefix(args[0], "--health=127.0.0.1:") {
		t.Errorf("the pod's own --health was not replaced: %q", args)
	}
}

func TestRepository(t *testing.T) {
	for in, want := range map[string]string{
		"registry.k8s.io/sig-storage/csi-attacher:v4.13.0":            "sig-storage/csi-attacher",
		"registry.k8s.io/provider-os/cinder-csi-plugin@sha256:" + sha: "provider-os/cinder-csi-plugin",
		"ghcr.io/epks/epks-port-tagger:v0.1.0":                        "epks/epks-port-tagger",
		"registry.local:5000/nsx-container/nsx-ncp-ubuntu":            "nsx-container/nsx-ncp-ubuntu",
		"busybox": "library/busybox",
	} {
		got, err := Repository(in)
		if err != nil || got != want {
			t.Errorf("Repository(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Repository("Not A Reference"); err == nil {
		t.Error("a bad reference must be an error")
	}
}

const sha = "0123456789012345678901234567890123456789012345678901234567890123"

func TestFieldValue(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u", Labels: map[string]string{"app": "x"}},
		Spec:       corev1.PodSpec{NodeName: "node-1", ServiceAccountName: "sa"},
		Status:     corev1.PodStatus{PodIP: "10.0.0.1"},
	}
	for path, want := range map[string]string{
		"metadata.name": "p", "metadata.namespace": "ns", "metadata.uid": "u", "spec.nodeName": "node-1",
		"spec.serviceAccountName": "sa", "status.podIP": "10.0.0.1", "metadata.labels['app']": "x",
	} {
		if got, err := fieldValue(pod, path); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := fieldValue(pod, "spec.unknown"); err == nil {
		t.Error("an unknown field must be an error")
	}
}

func TestCommandLine(t *testing.T) {
	c := &corev1.Container{
		Command: []string{"/bin/cinder-csi-plugin", "--first"},
		Args:    []string{"--endpoint=$(CSI_ENDPOINT)", "--v=2"},
	}
	got := commandLine(c, []envVar{{"CSI_ENDPOINT", "unix:///csi/csi.sock"}})
	want := []string{"--first", "--endpoint=unix:///csi/csi.sock", "--v=2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("commandLine = %q, want %q", got, want)
	}
}

// TestRestartOnNewPorts: a container that could not bind its port (taken
// after it was chosen) restarts on other ports, keeping its other
// arguments; another crash restarts it on the same ports.
func TestRestartOnNewPorts(t *testing.T) {
	dir := t.TempDir()
	// The first run fails as a taken port fails, the second serves.
	script := filepath.Join(dir, "bin.sh")
	marker := filepath.Join(dir, "ran")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$@\"\nif [ ! -e "+marker+" ]; then touch "+marker+
		"; echo 'listen tcp '\"$1\"': bind: address already in use'; exit 1; fi\nexec sleep 600\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := Binary{Path: script, ListenFlags: []string{"--listen"}, ExtraArgs: []string{"--extra"}}
	base := []string{"--v=1"}
	args, listen, err := assignListeners(base, bin)
	if err != nil {
		t.Fatal(err)
	}
	c := &Container{Name: "c", Path: script, Args: append(args, "--kubeconfig=k", "--extra"), Listen: listen, bin: bin, baseArgs: base,
		LogPath: filepath.Join(dir, "c.log")}
	first, err := proc.Start(proc.Spec{Name: c.Name, Dir: dir, Path: c.Path, Args: c.Args})
	if err != nil {
		t.Fatal(err)
	}
	c.current = first
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.supervise(ctx, dir, t.Logf); close(done) }()
	defer func() { cancel(); <-done }()
	for i := 0; ; i++ {
		if n, _ := c.Restarts(); n == 1 {
			break
		}
		if i > 600 {
			t.Fatal("not restarted")
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := c.Addresses()
	if got["--listen"] == listen["--listen"] {
		t.Errorf("restarted on the port it could not bind: %v", got)
	}
	c.mu.Lock()
	gotArgs := append([]string(nil), c.Args...)
	c.mu.Unlock()
	want := []string{"--v=1", "--listen=" + got["--listen"], "--kubeconfig=k", "--extra"}
	if !reflect.DeepEqual(gotArgs, want) {
		t.Errorf("args after the restart %q, want %q", gotArgs, want)
	}
}
