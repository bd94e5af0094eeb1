//go:build integration

package cloudinit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epks/epks/pkg/images"
	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/test/proc"
)

// containerd starts a containerd of its own (no CRI, files under the test's
// directory) and returns the environment that points ctr at it. It is
// stopped by its process id.
func containerd(t *testing.T) []string {
	t.Helper()
	bin := tool(t, "containerd", "containerd")
	tool(t, "ctr", "containerd")
	if os.Geteuid() != 0 {
		t.Fatal("containerd needs root to unpack and mount images: run the integration tests as root, as CI does")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "containerd.sock")
	cfg := "version = 2\nroot = \"" + dir + "/root\"\nstate = \"" + dir + "/state\"\n" +
		"disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"" + sock + "\"\n"
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// Its own process group, SIGKILL if this test process dies (proc), and
	// stopped by its pid and group on cleanup.
	p, err := proc.Start(proc.Spec{Name: "containerd", Dir: dir, Path: bin, Args: []string{"--config", filepath.Join(dir, "config.toml")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(10 * time.Second); err != nil {
			t.Errorf("stopping containerd: %v", err)
		}
	})
	env := append(os.Environ(), "CONTAINERD_ADDRESS="+sock, "CONTAINERD_SNAPSHOTTER=native")
	for i := 0; i < 100; i++ {
		c := exec.Command("ctr", "version")
		c.Env = env
		if c.Run() == nil {
			return env
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("containerd did not start:\n%s", proc.LogTail(p.LogPath, 40))
	return nil
}

// ctrIn returns a function that runs ctr in containerd's k8s.io namespace
// with env and fails the test when ctr fails.
func ctrIn(t *testing.T, env []string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		cmd := exec.Command("ctr", append([]string{"--namespace", "k8s.io"}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ctr %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
}

// nodeStep renders the user data of a control-plane node with the params
// edits, extracts its files into a scratch root and runs one of its scripts
// there with env.
func nodeStep(t *testing.T, env []string, edits map[string]any, script string, args ...string) (string, error) {
	t.Helper()
	p := seedParams(t, edits)
	ud := parseUserData(t, render(t, p, RoleControlPlane, DefaultOS))
	root := t.TempDir()
	ud.extract(t, root)
	cmd := exec.Command("bash", append([]string{filepath.Join(root, "usr/local/lib/epks", script)}, args...)...)
	cmd.Env = append(env, "EPKS_ENV="+filepath.Join(root, "etc/epks/node.env"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestOfflineImages builds the images as `make images` does into an offline
// bundle, runs the node's own import step (epks-containerd.sh import) against
// a real containerd, and then the install step's own check of the epks
// image (epks-install.sh image): found, mounted, its binary run; refused
// by name on an offline node that lacks it.
func TestOfflineImages(t *testing.T) {
	env := containerd(t)
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatal(err)
	}
	bundle := t.TempDir()
	built, err := images.BuildAll(context.Background(), "../..", "../../images", filepath.Join(bundle, "images"),
		images.Options{Registry: names.Registry, Version: names.Version, Created: testNow, CABundle: ca})
	if err != nil {
		t.Fatal(err)
	}
	// kubeadm on PATH, for the list of the images it needs.
	binDir := t.TempDir()
	if err := os.Symlink(kubeadm(t), filepath.Join(binDir, "kubeadm")); err != nil {
		t.Fatal(err)
	}
	env = append(env, "PATH="+binDir+":"+os.Getenv("PATH"))

	importStep := func(source string) (string, error) {
		return nodeStep(t, env, map[string]any{"offline_bundle_path": bundle, "package_source": source}, "epks-containerd.sh", "import")
	}
	out, err := importStep("apt")
	if err != nil {
		t.Fatalf("epks-containerd.sh import: %v\n%s", err, out)
	}
	mustContain(t, "the import step", out, "imported 2 image tarball(s)", "kubeadm will pull: registry.k8s.io/kube-apiserver:v1.36.2")

	ctr := ctrIn(t, env)
	list := ctr("images", "ls")
	for _, b := range built {
		var line string
		for _, l := range strings.Split(list, "\n") {
			if strings.HasPrefix(l, b.Ref+" ") {
				line = l
			}
		}
		if !strings.Contains(line, b.Digest.String()) || !strings.Contains(line, "io.cri-containerd.pinned=pinned") {
			t.Errorf("%s is not imported with its digest %s and pinned:\n%s", b.Ref, b.Digest, list)
		}
	}

	// epks-install.sh finds the imported epks image, mounts it and runs its
	// binary. 400 more names of 200 bytes make ctr's list longer than a
	// pipe holds, after the epks image: a check that stops reading at the
	// first match kills ctr with SIGPIPE, and under pipefail the image
	// looks missing.
	for i := 0; i < 400; i++ {
		ctr("images", "tag", built[0].Ref, fmt.Sprintf("registry.local/padding/%s-%03d:v1", strings.Repeat("x", 170), i))
	}
	mountEnv := append(env[:len(env):len(env)], "EPKS_IMAGE_MOUNT="+filepath.Join(t.TempDir(), "epks-image"))
	installImage := func(source string) (string, error) {
		return nodeStep(t, mountEnv, map[string]any{"offline_bundle_path": bundle, "package_source": source}, "epks-install.sh", "image")
	}
	out, err = installImage("bundle")
	if err != nil || !strings.Contains(out, "epks version "+names.Version) || strings.Contains(out, "pulling") {
		t.Errorf("epks-install.sh image: %v\n%s", err, out)
	}
	if !strings.Contains(ctr("images", "ls", "-q"), EPKSImage(seedParams(t, nil))) {
		t.Fatal("the epks image is not imported")
	}
	ctr("images", "rm", EPKSImage(seedParams(t, nil)))
	out, err = installImage("bundle")
	if err == nil || !strings.Contains(out, EPKSImage(seedParams(t, nil))+" is not among the imported images: add its tarball to "+bundle+"/images") {
		t.Errorf("epks-install.sh image on an offline node without the epks image: %v\n%s", err, out)
	}
	// The import again, for what follows.
	if out, err := importStep("apt"); err != nil {
		t.Fatalf("epks-containerd.sh import: %v\n%s", err, out)
	}

	// With package_source: bundle the node is offline: missing images fail the step.
	out, err = importStep("bundle")
	if err == nil || !strings.Contains(out, "the offline bundle lacks images kubeadm needs: registry.k8s.io/kube-apiserver:v1.36.2") {
		t.Errorf("bundle without kubeadm's images: %v\n%s", err, out)
	}
}
