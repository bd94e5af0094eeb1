//go:build integration

package cloudinit

import (
	"archive/tar"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/epks/epks/pkg/bundle"
	"github.com/epks/epks/test/toolbin"
)

// realBundle makes the offline bundle as `make bundle` does (hack/bundle,
// which does nothing when its inputs did not change) and returns its directory.
func realBundle(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(toolbin.CacheDir(), "bundle")
	cmd := exec.Command("go", "run", "./hack/bundle", "-out", dir)
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./hack/bundle (make tools builds its binaries): %v\n%s", err, out)
	}
	return dir
}

// untar unpacks a tarball into a new directory.
func untar(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, tr); err != nil {
			t.Fatal(err)
		}
		out.Close()
	}
}

// TestBundle makes the real offline bundle and checks it as a node uses it:
// its checksums and manifest; every image tarball read back with
// go-containerregistry (its name, digest, and blobs); the node's own steps
// with package_source: bundle against a real containerd: the bundle checked
// against SHA256SUMS (and a changed file refused), every image imported with
// the digest of the manifest, nothing kubeadm needs missing; and the images'
// binaries run from the mounted images, kube-proxy's iptables with the
// Debian libraries of its image.
func TestBundle(t *testing.T) {
	dir := realBundle(t)
	if err := bundle.Verify(dir); err != nil {
		t.Fatal(err)
	}
	m, err := bundle.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]string{}
	for _, img := range m.Images {
		if img.Origin == "ncp" {
			continue
		}
		refs[img.Ref] = img.Digest
		idx, err := layout.ImageIndexFromPath(untar(t, filepath.Join(dir, bundle.ImagesDir, img.File)))
		if err != nil {
			t.Fatalf("%s: %v", img.File, err)
		}
		im, err := idx.IndexManifest()
		if err != nil || len(im.Manifests) != 1 {
			t.Fatalf("%s: index %v, %v", img.File, im, err)
		}
		desc := im.Manifests[0]
		if desc.Annotations["io.containerd.image.name"] != img.Ref || desc.Digest.String() != img.Digest {
			t.Errorf("%s names %s %s, the manifest %s %s", img.File, desc.Annotations["io.containerd.image.name"], desc.Digest, img.Ref, img.Digest)
		}
		image, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(image); err != nil {
			t.Errorf("%s: %v", img.File, err)
		}
	}
	// What kubeadm runs is in the bundle, by the names kubeadm gives them.
	list, err := exec.Command(kubeadm(t), "config", "images", "list", "--kubernetes-version", m.Versions["KUBERNETES_VERSION"]).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range strings.Fields(string(list)) {
		if _, ok := refs[ref]; !ok {
			t.Errorf("kubeadm runs %s; the bundle lacks it", ref)
		}
	}

	env := containerd(t)
	binDir := t.TempDir()
	if err := os.Symlink(kubeadm(t), filepath.Join(binDir, "kubeadm")); err != nil {
		t.Fatal(err)
	}
	env = append(env, "PATH="+binDir+":"+os.Getenv("PATH"))
	edits := map[string]any{"offline_bundle_path": dir, "package_source": "bundle"}

	out, err := nodeStep(t, env, edits, "epks-packages.sh", "verify")
	if err != nil {
		t.Fatalf("epks-packages.sh verify: %v\n%s", err, out)
	}
	mustContain(t, "the check of the bundle", out, "files match SHA256SUMS")
	// A bundle with one changed file: a copy of links to the files, one replaced.
	changed := t.TempDir()
	for _, f := range []string{bundle.SumsFile, bundle.ManifestFile, bundle.ReadmeFile, bundle.DebsDir, bundle.ImagesDir} {
		if err := os.Symlink(filepath.Join(dir, f), filepath.Join(changed, f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(changed, bundle.ReadmeFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(changed, bundle.ReadmeFile), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = nodeStep(t, env, map[string]any{"offline_bundle_path": changed, "package_source": "bundle"}, "epks-packages.sh", "verify")
	if err == nil || !strings.Contains(out, "README.md: FAILED") || !strings.Contains(out, "does not match its SHA256SUMS") {
		t.Errorf("a changed bundle: %v\n%s", err, out)
	}

	out, err = nodeStep(t, env, edits, "epks-containerd.sh", "import")
	if err != nil {
		t.Fatalf("epks-containerd.sh import: %v\n%s", err, out)
	}
	if strings.Contains(out, "lacks") || strings.Contains(out, "will pull") {
		t.Errorf("the node would need a registry:\n%s", out)
	}
	ctr := ctrIn(t, env)
	ls := ctr("images", "ls")
	for ref, digest := range refs {
		found := false
		for _, l := range strings.Split(ls, "\n") {
			found = found || (strings.HasPrefix(l, ref+" ") && strings.Contains(l, digest))
		}
		if !found {
			t.Errorf("%s is not imported with its digest %s", ref, digest)
		}
	}

	// The binaries run from the images.
	for _, c := range []struct {
		ref  string
		cmd  []string
		want string
	}{
		{"registry.k8s.io/coredns/coredns:" + m.Versions["COREDNS_VERSION"], []string{"/coredns", "-version"}, "CoreDNS-" + strings.TrimPrefix(m.Versions["COREDNS_VERSION"], "v")},
		{"registry.k8s.io/pause:" + m.Versions["PAUSE_VERSION"], []string{"/pause", "-v"}, "pause (epks)"},
		{"registry.k8s.io/provider-os/openstack-cloud-controller-manager:" + m.Versions["CLOUD_PROVIDER_OPENSTACK_VERSION"], []string{"/bin/openstack-cloud-controller-manager", "--version"}, m.Versions["CLOUD_PROVIDER_OPENSTACK_VERSION"]},
		{"registry.k8s.io/provider-os/cinder-csi-plugin:" + m.Versions["CLOUD_PROVIDER_OPENSTACK_VERSION"], []string{"/bin/cinder-csi-plugin", "--version"}, m.Versions["CLOUD_PROVIDER_OPENSTACK_VERSION"]},
		{"registry.k8s.io/kube-proxy:" + m.Versions["KUBERNETES_VERSION"], []string{"/usr/local/bin/kube-proxy", "--version"}, "Kubernetes " + m.Versions["KUBERNETES_VERSION"]},
		{"registry.k8s.io/kube-proxy:" + m.Versions["KUBERNETES_VERSION"], []string{"/usr/sbin/iptables", "--version"}, "(nf_tables)"},
		{"registry.k8s.io/kube-proxy:" + m.Versions["KUBERNETES_VERSION"], []string{"/usr/sbin/nft", "--version"}, "nftables v"},
	} {
		mnt := t.TempDir()
		ctr("images", "mount", c.ref, mnt)
		// chroot: the image's own libraries, not the machine's.
		got, err := exec.Command("chroot", append([]string{mnt}, c.cmd...)...).CombinedOutput()
		ctr("images", "unmount", mnt)
		if err != nil || !strings.Contains(string(got), c.want) {
			t.Errorf("%s %v: %v\n%s", c.ref, c.cmd, err, got)
		}
	}
}
