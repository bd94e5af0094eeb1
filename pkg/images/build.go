// Package images builds the container images of epks without a container
// engine: a static binary, a non-root user and a CA bundle in scratch
// layers, written as OCI image tarballs that `ctr images import` (and
// `docker load`) accept. The nodes import them from the offline bundle.
// Their names are pkg/names'.
package images

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"go.yaml.in/yaml/v3"

	"github.com/epks/epks/pkg/atomicfile"
	"github.com/epks/epks/pkg/names"
)

// The user the images run as: distroless's nonroot.
const (
	NonRootUID = 65532
	binDir     = "usr/local/bin"
	caPath     = "etc/ssl/certs/ca-certificates.crt"
	// containerdNameAnnotation names an image of an OCI layout for
	// `ctr images import` (and docker load).
	containerdNameAnnotation = "io.containerd.image.name"
	source                   = "https://github.com/epks/epks"
)

// Spec is the build file of one image, images/<name>.yaml.
type Spec struct {
	// Repository is the image's repository, e.g. epks/epks.
	Repository string `yaml:"repository"`
	// Package is the Go package of the binary's main, e.g. ./cmd/epks.
	Package string `yaml:"package"`
	// Binary is the name of the binary and the image's entrypoint.
	Binary string `yaml:"binary"`
	// VersionVariable is the Go variable the version is set in with -X.
	VersionVariable string `yaml:"versionVariable"`
	// Description becomes the org.opencontainers.image.description label.
	Description string `yaml:"description"`
	// User is the user:group the image runs as [65532:65532, distroless's
	// nonroot]; the Kubernetes components' images run as 0:0, as upstream's.
	User string `yaml:"user,omitempty"`
	// Dir is the absolute directory of the binary in the image
	// [/usr/local/bin]. An image that stands in for upstream's keeps the
	// binary where upstream's has it, since manifests name it there (the
	// cloud provider's `command: [/bin/openstack-cloud-controller-manager]`).
	Dir string `yaml:"dir,omitempty"`
}

// BinaryPath is the absolute path of the binary in the image, also its
// entrypoint.
func (s Spec) BinaryPath() string { return path.Join(s.binDir(), s.Binary) }

func (s Spec) binDir() string {
	if s.Dir == "" {
		return "/" + binDir
	}
	return path.Clean(s.Dir)
}

// LoadSpecs reads every images/*.yaml of dir, sorted by name.
func LoadSpecs(dir string) ([]Spec, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var specs []Spec
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading image build file: %w", err)
		}
		var s Spec
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		var missing []string
		for name, v := range map[string]string{"repository": s.Repository, "package": s.Package, "binary": s.Binary, "versionVariable": s.VersionVariable} {
			if v == "" {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return nil, fmt.Errorf("%s: %s missing", f, strings.Join(missing, ", "))
		}
		specs = append(specs, s)
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("no image build files (*.yaml) in %s", dir)
	}
	return specs, nil
}

// Options are what every image of a build shares.
type Options struct {
	// Registry and Version make the image names, registry/repository:version.
	Registry, Version string
	// Revision is the source revision, for the labels (may be empty).
	Revision string
	// Created is the creation time of the image and of its files.
	Created time.Time
	// CABundle is the PEM bundle of trusted CAs the image carries.
	CABundle []byte
	// GOARCH is the architecture the binaries are built for [amd64].
	GOARCH string
}

func (o Options) arch() string {
	if o.GOARCH == "" {
		return "amd64"
	}
	return o.GOARCH
}

// Ref returns the name of the spec's image.
func (o Options) Ref(s Spec) string { return names.Image(o.Registry, s.Repository, o.Version) }

// TarballName is the file name of the spec's image tarball, e.g.
// epks_v0.1.0.tar.
func (o Options) TarballName(s Spec) string {
	return filepath.Base(s.Repository) + "_" + o.Version + ".tar"
}

// BuildBinary builds the spec's static binary from the module in dir into
// out: CGO off, -trimpath, the version set in the spec's variable.
func BuildBinary(ctx context.Context, dir string, s Spec, o Options, out string) error {
	ldflags := fmt.Sprintf("-s -w -buildid= -X %s=%s", s.VersionVariable, o.Version)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, s.Package)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.arch())
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %w\n%s", s.Package, err, output)
	}
	return nil
}

// Image makes the spec's image from its binary: a base layer with the
// non-root user, /tmp and the CA bundle, and a layer with the binary, its
// entrypoint; then the extra layers (such as files of Debian packages the
// binary runs); user 65532:65532 unless the spec names one; OCI media types
// and labels.
func Image(s Spec, binary []byte, o Options, extra ...v1.Layer) (v1.Image, error) {
	if len(o.CABundle) == 0 {
		return nil, errors.New("no CA bundle for the image")
	}
	base, err := layer(o.Created, []entry{
		{name: "etc/", dir: true, mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: []byte(fmt.Sprintf(
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", NonRootUID, NonRootUID))},
		{name: "etc/group", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", NonRootUID))},
		{name: "etc/ssl/", dir: true, mode: 0o755},
		{name: "etc/ssl/certs/", dir: true, mode: 0o755},
		{name: caPath, mode: 0o644, data: o.CABundle},
		{name: "home/", dir: true, mode: 0o755},
		{name: "home/nonroot/", dir: true, mode: 0o700, uid: NonRootUID},
		{name: "tmp/", dir: true, mode: 0o1777},
	})
	if err != nil {
		return nil, err
	}
	if !path.IsAbs(s.binDir()) {
		return nil, fmt.Errorf("image %s: dir %q is not an absolute path", s.Repository, s.Dir)
	}
	var files []entry
	for d := strings.TrimPrefix(s.binDir(), "/"); d != ""; d = path.Dir(d) {
		files = append([]entry{{name: d + "/", dir: true, mode: 0o755}}, files...)
		if path.Dir(d) == "." {
			break
		}
	}
	files = append(files, entry{name: strings.TrimPrefix(s.BinaryPath(), "/"), mode: 0o755, data: binary})
	bin, err := layer(o.Created, files)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: o.Created.UTC()}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: created, CreatedBy: "epks images: nonroot user, /tmp, CA bundle", Comment: "base"}},
		mutate.Addendum{Layer: bin, History: v1.History{Created: created, CreatedBy: "epks images: " + s.Package + " as " + s.BinaryPath()}},
	)
	if err != nil {
		return nil, fmt.Errorf("assembling the image: %w", err)
	}
	for _, l := range extra {
		if img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{Created: created, CreatedBy: "epks images: files the binary runs"}}); err != nil {
			return nil, fmt.Errorf("assembling the image: %w", err)
		}
	}
	user := s.User
	if user == "" {
		user = fmt.Sprintf("%d:%d", NonRootUID, NonRootUID)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS, cfg.Created = o.arch(), "linux", created
	cfg.Config = v1.Config{
		Entrypoint: []string{s.BinaryPath()},
		User:       user,
		WorkingDir: "/home/nonroot",
		Env: []string{"PATH=" + searchPath(s.binDir()), "HOME=/home/nonroot",
			"SSL_CERT_FILE=/" + caPath},
		Labels: map[string]string{
			"org.opencontainers.image.title":       s.Binary,
			"org.opencontainers.image.description": s.Description,
			"org.opencontainers.image.version":     o.Version,
			"org.opencontainers.image.source":      source,
			"org.opencontainers.image.revision":    o.Revision,
			"org.opencontainers.image.created":     created.Format(time.RFC3339),
			"org.opencontainers.image.licenses":    "Apache-2.0",
		},
	}
	return mutate.ConfigFile(img, cfg)
}

// entry is one file or directory of a layer.
type entry struct {
	name string
	dir  bool
	link string // a symlink's target
	mode int64
	uid  int
	data []byte
}

// layer makes a gzip-compressed OCI layer of entries with a fixed time, so
// that the same inputs give the same digest.
func layer(t time.Time, entries []entry) (v1.Layer, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: t.UTC(), Format: tar.FormatPAX}
		switch {
		case e.dir:
			h.Typeflag = tar.TypeDir
		case e.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := b.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

// DirLayer makes a layer of the files, directories and symlinks under dir
// (owned by root, with their modes, at time t), plus the symlinks of links
// (path in the layer: target).
func DirLayer(dir string, t time.Time, links map[string]string) (v1.Layer, error) {
	var entries []entry
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := int64(info.Mode().Perm())
		switch {
		case d.IsDir():
			entries = append(entries, entry{name: rel + "/", dir: true, mode: mode})
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			entries = append(entries, entry{name: rel, link: target, mode: 0o777})
		case info.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			entries = append(entries, entry{name: rel, mode: mode, data: data})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s for a layer: %w", dir, err)
	}
	names := make([]string, 0, len(links))
	for n := range links {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		entries = append(entries, entry{name: n, link: links[n], mode: 0o777})
	}
	return layer(t, entries)
}

// WriteTarball writes img as an OCI image layout in a tar stream, its index
// naming it ref, as `ctr images import` and `docker load` take it.
func WriteTarball(w io.Writer, ref string, img v1.Image, created time.Time) error {
	tag := ref[strings.LastIndex(ref, ":")+1:]
	manifest, err := img.RawManifest()
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	index := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType: mt, Digest: digest, Size: int64(len(manifest)),
			Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture},
			Annotations: map[string]string{
				containerdNameAnnotation:            ref,
				"org.opencontainers.image.ref.name": tag,
			},
		}},
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	file := func(name string, data []byte) error {
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: created.UTC(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, ModTime: created.UTC(), Typeflag: tar.TypeDir, Format: tar.FormatPAX})
	}
	if err := file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := file("index.json", indexJSON); err != nil {
		return err
	}
	if err := dir("blobs/"); err != nil {
		return err
	}
	if err := dir("blobs/sha256/"); err != nil {
		return err
	}
	blob := func(h v1.Hash, data []byte) error { return file("blobs/"+h.Algorithm+"/"+h.Hex, data) }
	if err := blob(digest, manifest); err != nil {
		return err
	}
	if err := blob(cfgName, cfg); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if err := blob(d, data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// Built is one image tarball that BuildAll wrote.
type Built struct {
	Spec   Spec
	Ref    string
	Digest v1.Hash
	Path   string
}

// BuildAll builds every image of the build files in specsDir from the Go
// module in moduleDir, and writes each as an OCI image tarball into outDir
// (each file whole or not at all).
func BuildAll(ctx context.Context, moduleDir, specsDir, outDir string, o Options) ([]Built, error) {
	specs, err := LoadSpecs(specsDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "epks-images-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	var out []Built
	for _, s := range specs {
		bin := filepath.Join(work, s.Binary)
		if err := BuildBinary(ctx, moduleDir, s, o, bin); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			return nil, err
		}
		img, err := Image(s, data, o)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", s.Repository, err)
		}
		path := filepath.Join(outDir, o.TarballName(s))
		if err := atomicfile.Write(path, 0o644, func(w io.Writer) error { return WriteTarball(w, o.Ref(s), img, o.Created) }); err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
		digest, err := img.Digest()
		if err != nil {
			return nil, err
		}
		out = append(out, Built{Spec: s, Ref: o.Ref(s), Digest: digest, Path: path})
	}
	return out, nil
}

// searchPath is the image's PATH: the binary's directory first, then the
// usual ones.
func searchPath(dir string) string {
	dirs := []string{"/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}
	for _, d := range dirs {
		if d == dir {
			return strings.Join(dirs, ":")
		}
	}
	return strings.Join(append([]string{dir}, dirs...), ":")
}
