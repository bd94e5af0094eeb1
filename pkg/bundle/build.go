package bundle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/epks/epks/pkg/atomicfile"
	"github.com/epks/epks/pkg/images"
)

// Options are the inputs of a bundle.
type Options struct {
	// Out is the bundle's directory; it is made anew.
	Out string
	// Cache holds the parts that do not change between builds: downloaded
	// .debs and image tarballs, by the hash of their inputs.
	Cache string
	// Binary returns the path of a binary built by hack/build-tools.sh, and
	// the stamp of its inputs beside it.
	Binary func(name string) (string, error)
	// Versions are the pinned versions; VersionsEnv is all of versions.env.
	Versions    Versions
	VersionsEnv map[string]string
	// EPKS builds the images of epks and the port tagger into a directory
	// (hack/build-images' code) and returns what it wrote.
	EPKS func(ctx context.Context, dir string) ([]images.Built, error)
	// CABundle is the PEM bundle the upstream images carry.
	CABundle []byte
	// NCPImages is a directory of NCP image tarballs (or one tarball), "" for none.
	NCPImages string
	// Progress receives a line per step, for the user of make bundle: output,
	// not a log [discarded].
	Progress io.Writer
}

// created is the time of the upstream images' files and configs: fixed, so
// that the same binaries give the same digests.
var created = time.Unix(0, 0).UTC()

func hashOf(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		b, _ := json.Marshal(p)
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// HashStrings is a short hex hash of parts, for cache keys.
func HashStrings(parts []string) string { return hashOf(parts) }

// linkOrCopy puts src at dst: a hard link when they share a file system.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.Write(dst, 0o644, func(w io.Writer) error { _, err := io.Copy(w, in); return err })
}

// Build makes the bundle in o.Out and returns its manifest.
func Build(ctx context.Context, o Options) (*Manifest, error) {
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	step := func(format string, args ...any) { fmt.Fprintf(progress, format+"\n", args...) }
	if err := os.RemoveAll(o.Out); err != nil {
		return nil, err
	}
	debsDir, imagesDir := filepath.Join(o.Out, DebsDir), filepath.Join(o.Out, ImagesDir)
	for _, d := range []string{debsDir, imagesDir, filepath.Join(o.Cache, "debs"), filepath.Join(o.Cache, "images")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	m := &Manifest{Versions: o.VersionsEnv, Debian: debianRelease()}

	// Debian's packages, with what a Debian base system lacks of their dependencies.
	step("• resolving %s against a Debian base system", strings.Join(DebianPackages, ", "))
	res, err := Resolve(ctx, DebianPackages, true)
	if err != nil {
		return nil, err
	}
	for _, d := range res.Base {
		m.BaseSystem = append(m.BaseSystem, d.Package)
	}
	sort.Strings(m.BaseSystem)
	if err := Download(ctx, filepath.Join(o.Cache, "debs"), res.Install); err != nil {
		return nil, err
	}
	for _, d := range res.Install {
		if err := linkOrCopy(filepath.Join(o.Cache, "debs", d.File()), filepath.Join(debsDir, d.File())); err != nil {
			return nil, err
		}
		m.Debs = append(m.Debs, DebEntry{File: d.File(), Package: d.Package, Version: d.Version, Origin: "debian"})
	}
	step("✓ %d Debian packages (the base system has %d)", len(res.Install), len(res.Base))

	// The Kubernetes packages, made from the binaries built from the pinned modules.
	bins := map[string]string{}
	for _, n := range []string{"kubelet", "kubeadm", "kubectl", "crictl"} {
		if bins[n], err = o.Binary(n); err != nil {
			return nil, err
		}
	}
	for _, p := range KubernetesPackages(o.Versions.Kubernetes, o.Versions.CRITools, bins) {
		if _, err := p.Build(ctx, debsDir); err != nil {
			return nil, err
		}
		m.Debs = append(m.Debs, DebEntry{File: p.FileName(), Package: p.Name, Version: p.Version, Origin: "epks"})
	}
	step("✓ kubelet, kubeadm, kubectl, cri-tools packaged with dpkg-deb")

	// The upstream images, each cached by the hash of its inputs.
	for _, u := range UpstreamImages(o.Versions) {
		entry, err := upstreamImage(ctx, o, u, imagesDir)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", u.Ref(), err)
		}
		m.Images = append(m.Images, entry)
		step("✓ %s", u.Ref())
	}

	// epks and the port tagger.
	built, err := o.EPKS(ctx, imagesDir)
	if err != nil {
		return nil, err
	}
	for _, b := range built {
		m.Images = append(m.Images, ImageEntry{File: filepath.Base(b.Path), Ref: b.Ref, Digest: b.Digest.String(), Origin: "epks"})
		step("✓ %s", b.Ref)
	}

	// NCP's images: the operator's, when named.
	ncp, err := copyNCP(o.NCPImages, imagesDir)
	if err != nil {
		return nil, err
	}
	m.Images = append(m.Images, ncp...)
	if len(ncp) > 0 {
		m.NCP = NCP{Present: true, Note: fmt.Sprintf("%d NCP tarball(s) from %s", len(ncp), o.NCPImages)}
	} else {
		m.NCP = NCP{Note: "NCP's images are not public and none were named (--ncp-images): the nodes need them from the NCP package (nsx_package_path) or a registry"}
		step("! no NCP images: %s", m.NCP.Note)
	}

	for i := range m.Debs {
		if m.Debs[i].SHA256, err = FileSHA256(filepath.Join(debsDir, m.Debs[i].File)); err != nil {
			return nil, err
		}
	}
	for i := range m.Images {
		if m.Images[i].SHA256, err = FileSHA256(filepath.Join(imagesDir, m.Images[i].File)); err != nil {
			return nil, err
		}
	}
	if err := CheckDependencies(ctx, o.Out, m); err != nil {
		return nil, err
	}
	step("✓ the packages have all their dependencies on a Debian base system")
	if err := WriteManifest(o.Out, m); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Out, ReadmeFile), []byte(Readme(m)), 0o644); err != nil {
		return nil, err
	}
	if err := WriteSums(o.Out); err != nil {
		return nil, err
	}
	return m, nil
}

func upstreamImage(ctx context.Context, o Options, u UpstreamImage, imagesDir string) (ImageEntry, error) {
	bin, err := o.Binary(u.Binary)
	if err != nil {
		return ImageEntry{}, err
	}
	stamp, _ := os.ReadFile(bin + ".stamp")
	var debs []Deb
	if len(u.Debian) > 0 {
		res, err := Resolve(ctx, u.Debian, false)
		if err != nil {
			return ImageEntry{}, err
		}
		debs = res.Install
	}
	key := hashOf(u, string(stamp), fileKey(bin), debs, sha256.Sum256(o.CABundle), imagesCodeVersion)
	cached := filepath.Join(o.Cache, "images", key+".tar")
	digestFile := cached + ".digest"
	if _, err := os.Stat(cached); err != nil {
		data, err := os.ReadFile(bin)
		if err != nil {
			return ImageEntry{}, err
		}
		layer, err := debianLayer(ctx, o.Cache, debs, u.Links)
		if err != nil {
			return ImageEntry{}, err
		}
		iopts := images.Options{Registry: UpstreamRegistry, Version: u.Tag, Created: created, CABundle: o.CABundle}
		var extra []v1.Layer
		if layer != nil {
			extra = append(extra, layer)
		}
		img, err := images.Image(u.Spec(), data, iopts, extra...)
		if err != nil {
			return ImageEntry{}, err
		}
		d, err := img.Digest()
		if err != nil {
			return ImageEntry{}, err
		}
		if err := atomicfile.Write(cached, 0o644, func(w io.Writer) error { return images.WriteTarball(w, u.Ref(), img, created) }); err != nil {
			return ImageEntry{}, err
		}
		if err := os.WriteFile(digestFile, []byte(d.String()), 0o644); err != nil {
			return ImageEntry{}, err
		}
	}
	digest, err := os.ReadFile(digestFile)
	if err != nil {
		return ImageEntry{}, err
	}
	if err := linkOrCopy(cached, filepath.Join(imagesDir, u.TarballName())); err != nil {
		return ImageEntry{}, err
	}
	return ImageEntry{File: u.TarballName(), Ref: u.Ref(), Digest: string(digest), Origin: "epks"}, nil
}

// imagesCodeVersion changes when the way the bundle lays out an upstream
// image changes, so that cached tarballs are made again.
const imagesCodeVersion = 1

// fileKey identifies a file by its size and time, cheaper than hashing it.
func fileKey(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d@%d", fi.Size(), fi.ModTime().UnixNano())
}

// debianLayer unpacks debs (no maintainer scripts) into one layer, with links.
func debianLayer(ctx context.Context, cache string, debs []Deb, links map[string]string) (v1.Layer, error) {
	if len(debs) == 0 {
		return nil, nil
	}
	dir := filepath.Join(cache, "debs")
	if err := Download(ctx, dir, debs); err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp("", "epks-layer-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	for _, d := range debs {
		if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", filepath.Join(dir, d.File()), root).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("dpkg-deb -x %s: %w\n%s", d.File(), err, out)
		}
	}
	// Documentation is not needed to run.
	for _, d := range []string{"usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale"} {
		if err := os.RemoveAll(filepath.Join(root, d)); err != nil {
			return nil, err
		}
	}
	return images.DirLayer(root, created, links)
}

func copyNCP(path, imagesDir string) ([]ImageEntry, error) {
	if path == "" {
		return nil, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--ncp-images: %w", err)
	}
	files := []string{path}
	if fi.IsDir() {
		if files, err = filepath.Glob(filepath.Join(path, "*.tar")); err != nil {
			return nil, err
		}
		gz, _ := filepath.Glob(filepath.Join(path, "*.tar.gz"))
		files = append(files, gz...)
		sort.Strings(files)
	}
	var out []ImageEntry
	for _, f := range files {
		if err := linkOrCopy(f, filepath.Join(imagesDir, filepath.Base(f))); err != nil {
			return nil, err
		}
		out = append(out, ImageEntry{File: filepath.Base(f), Origin: "ncp"})
	}
	return out, nil
}

// debianRelease is the build machine's release, from /etc/os-release.
func debianRelease() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "unknown"
	}
	var id, version string
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "ID="); ok {
			id = strings.Trim(v, `"`)
		}
		if v, ok := strings.CutPrefix(l, "VERSION="); ok {
			version = strings.Trim(v, `"`)
		}
	}
	return id + " " + version
}
