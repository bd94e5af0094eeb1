// Command bundle makes the offline bundle (docs/bundle.md): Debian's
// containerd, runc, conntrack, iptables and Open vSwitch with the
// dependencies a Debian 12 base system lacks, kubelet, kubeadm, kubectl and
// cri-tools packaged from the binaries hack/build-tools.sh built from the
// pinned modules, and OCI image tarballs of the control plane, CoreDNS,
// pause, the cloud provider, the CSI sidecars, the snapshot-controller, epks
// and the port tagger; with manifest.json, SHA256SUMS and a README.
//
// Usage: go run ./hack/bundle [-out DIR] [-ncp-images PATH] [-require-ncp]
//
// `make bundle` builds the binaries first. A bundle whose inputs did not
// change is not made again (its hash is in DIR/.inputs).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/epks/epks/pkg/bundle"
	"github.com/epks/epks/pkg/images"
	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/test/toolbin"
)

func main() {
	cache := toolbin.CacheDir()
	var out, ncp, caFile string
	var requireNCP, force bool
	flag.StringVar(&out, "out", envOr("BUNDLE_DIR", filepath.Join(cache, "bundle")), "directory of the bundle (made anew)")
	flag.StringVar(&ncp, "ncp-images", os.Getenv("NCP_IMAGES"), "NCP image tarball, or a directory of them, to add (NCP's images are not public)")
	flag.BoolVar(&requireNCP, "require-ncp", false, "fail when no NCP image tarball is named")
	flag.BoolVar(&force, "force", false, "make the bundle even when its inputs did not change")
	flag.StringVar(&caFile, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "CA bundle the images trust")
	flag.Parse()
	if err := run(context.Background(), out, cache, ncp, caFile, requireNCP, force); err != nil {
		fmt.Fprintln(os.Stderr, "bundle:", err)
		var usage usageError
		if errors.As(err, &usage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

func run(ctx context.Context, out, cache, ncp, caFile string, requireNCP, force bool) error {
	if ncp == "" && requireNCP {
		return usageError{errors.New("-require-ncp: no NCP images named (-ncp-images PATH or NCP_IMAGES)")}
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return usageError{fmt.Errorf("-ca-bundle: %w (install ca-certificates)", err)}
	}
	v := toolbin.Versions()
	versions := bundle.Versions{
		Kubernetes: v["KUBERNETES_VERSION"], CloudProviderOpenStack: v["CLOUD_PROVIDER_OPENSTACK_VERSION"],
		Etcd: v["ETCD_VERSION"], CoreDNS: v["COREDNS_VERSION"], CRITools: v["CRI_TOOLS_VERSION"],
		Provisioner: v["EXTERNAL_PROVISIONER_VERSION"], Attacher: v["EXTERNAL_ATTACHER_VERSION"],
		Snapshotter: v["EXTERNAL_SNAPSHOTTER_VERSION"], Resizer: v["EXTERNAL_RESIZER_VERSION"],
		PauseTag: v["PAUSE_VERSION"],
	}
	if versions.EtcdTag, err = kubeadmEtcdTag(versions.Kubernetes); err != nil {
		return err
	}
	inputs, err := inputsHash(v, ncp, ca)
	if err != nil {
		return err
	}
	if !force && inputs != "" {
		if old, err := os.ReadFile(filepath.Join(out, ".inputs")); err == nil && string(old) == inputs && bundle.Verify(out) == nil {
			fmt.Fprintf(os.Stderr, "✓ bundle %s is up to date (inputs %s)\n", out, inputs)
			return nil
		}
	}
	created, err := images.Created(".")
	if err != nil {
		return err
	}
	o := bundle.Options{
		Out: out, Cache: filepath.Join(cache, "bundle-parts"),
		Binary: toolbin.Path, Versions: versions, VersionsEnv: v, CABundle: ca, NCPImages: ncp,
		EPKS: func(ctx context.Context, dir string) ([]images.Built, error) {
			return images.BuildAll(ctx, ".", "images", dir, images.Options{
				Registry: names.Registry, Version: names.Version,
				Revision: images.Revision("."), Created: created, CABundle: ca})
		},
		Progress: os.Stderr,
	}
	m, err := bundle.Build(ctx, o)
	if err != nil {
		return err
	}
	m.Inputs = inputs
	if err := bundle.WriteManifest(out, m); err != nil {
		return err
	}
	if err := bundle.WriteSums(out); err != nil {
		return err
	}
	if err := bundle.Verify(out); err != nil {
		return err
	}
	if inputs != "" {
		if err := os.WriteFile(filepath.Join(out, ".inputs"), []byte(inputs), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("%s: %d debs, %d images\n", out, len(m.Debs), len(m.Images))
	return nil
}

// kubeadmEtcdTag asks the pinned kubeadm which etcd image it runs.
func kubeadmEtcdTag(kubeVersion string) (string, error) {
	kubeadm, err := toolbin.Path("kubeadm")
	if err != nil {
		return "", err
	}
	list, err := exec.Command(kubeadm, "config", "images", "list", "--kubernetes-version", kubeVersion).Output()
	if err != nil {
		return "", fmt.Errorf("kubeadm config images list: %w", err)
	}
	for _, ref := range strings.Fields(string(list)) {
		if tag, ok := strings.CutPrefix(ref, bundle.UpstreamRegistry+"/etcd:"); ok {
			return tag, nil
		}
	}
	return "", fmt.Errorf("kubeadm config images list names no etcd image:\n%s", list)
}

// inputsHash is the hash of what the bundle is made of: the pinned versions,
// the stamps of the built binaries, the source of epks (its git trees) and
// the NCP tarballs named; "" when the work tree has changes (then the bundle
// is always made).
func inputsHash(versions map[string]string, ncp string, ca []byte) (string, error) {
	if st, err := exec.Command("git", "status", "--porcelain").Output(); err != nil || len(st) > 0 {
		return "", nil
	}
	tree, err := exec.Command("git", "rev-parse", "HEAD^{tree}").Output()
	if err != nil {
		return "", nil
	}
	h := []string{string(tree), string(ca)}
	for k, val := range versions {
		h = append(h, k+"="+val)
	}
	stamps, _ := filepath.Glob(filepath.Join(toolbin.CacheDir(), "bin", "*.stamp"))
	for _, s := range stamps {
		data, _ := os.ReadFile(s)
		h = append(h, filepath.Base(s)+string(data))
	}
	if ncp != "" {
		h = append(h, "ncp="+ncp)
		files, _ := filepath.Glob(filepath.Join(ncp, "*"))
		for _, f := range append(files, ncp) {
			if fi, err := os.Stat(f); err == nil {
				h = append(h, fmt.Sprintf("%s %d %d", f, fi.Size(), fi.ModTime().UnixNano()))
			}
		}
	}
	// A new Debian package version comes with new package lists.
	lists, _ := filepath.Glob("/var/lib/apt/lists/*_Packages*")
	for _, l := range lists {
		if fi, err := os.Stat(l); err == nil {
			h = append(h, fmt.Sprintf("%s %d", l, fi.Size()))
		}
	}
	sort.Strings(h)
	return bundle.HashStrings(h), nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
