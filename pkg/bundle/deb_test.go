package bundle

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestKubernetesPackagesInstall makes the Kubernetes packages with dpkg-deb
// from small stand-in binaries and installs them with dpkg into a scratch
// root: dpkg reads their control files, puts the binaries, the kubelet's unit
// and kubeadm's drop-in where the upstream packages put them, and records them.
func TestKubernetesPackagesInstall(t *testing.T) {
	for _, c := range []string{"dpkg-deb", "dpkg"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("%s is needed (Debian's dpkg): %v", c, err)
		}
	}
	ctx := context.Background()
	src := t.TempDir()
	bin := map[string]string{}
	for _, n := range []string{"kubelet", "kubeadm", "kubectl", "crictl"} {
		bin[n] = filepath.Join(src, n)
		write(t, bin[n], "#!/bin/sh\necho "+n+"\n")
	}
	out := t.TempDir()
	var debs []string
	for _, p := range KubernetesPackages("v1.36.2", "v1.37.0", bin) {
		path, err := p.Build(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(path) != p.FileName() {
			t.Errorf("built %s, want %s", path, p.FileName())
		}
		debs = append(debs, path)
	}
	info, err := exec.Command("dpkg-deb", "--field", filepath.Join(out, "kubeadm_1.36.2-1_amd64.deb"), "Package", "Version", "Depends").CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb --field: %v\n%s", err, info)
	}
	for _, want := range []string{"Package: kubeadm", "Version: 1.36.2-1", "Depends: kubelet (>= 1.36.2), kubectl, cri-tools, conntrack, mount"} {
		if !strings.Contains(string(info), want) {
			t.Errorf("kubeadm's control lacks %q:\n%s", want, info)
		}
	}

	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/updates", "var/lib/dpkg/info", "var/lib/dpkg/triggers"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(root, "var/lib/dpkg/status"), "")
	// The scratch root has no base system: mount, iproute2, iptables and
	// conntrack are the guest's (or the bundle's Debian packages), so only
	// those dependencies are waived; the packages among themselves must agree.
	args := append([]string{"--root", root, "--log=/dev/null", "--force-not-root", "--force-depends",
		"--force-script-chrootless", "-i"}, debs...)
	if out, err := exec.Command("dpkg", args...).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	for _, f := range []string{"usr/bin/kubelet", "usr/bin/kubeadm", "usr/bin/kubectl", "usr/bin/crictl"} {
		fi, err := os.Stat(filepath.Join(root, f))
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s not installed as an executable: %v", f, err)
		}
	}
	unit, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/kubelet.service"))
	if err != nil || !strings.Contains(string(unit), "ExecStart=/usr/bin/kubelet") {
		t.Errorf("kubelet.service: %v\n%s", err, unit)
	}
	dropIn, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"))
	if err != nil || !strings.Contains(string(dropIn), "EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env") {
		t.Errorf("10-kubeadm.conf: %v\n%s", err, dropIn)
	}
	status, err := exec.Command("dpkg-query", "--admindir", filepath.Join(root, "var/lib/dpkg"), "-W", "-f", "${Package} ${Version} ${Status}\n").CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-query: %v\n%s", err, status)
	}
	for _, want := range []string{"kubelet 1.36.2-1 install ok installed", "kubeadm 1.36.2-1 install ok installed", "kubectl 1.36.2-1 install ok installed", "cri-tools 1.37.0-1 install ok installed"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("dpkg does not record %q:\n%s", want, status)
		}
	}
}
