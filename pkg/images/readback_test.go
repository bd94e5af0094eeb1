package images

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// readTarball unpacks an image tarball and reads it back with
// go-containerregistry's OCI layout reader: the index must name exactly one
// image, ref, and the image must be a valid OCI image that runs as nonroot.
func readTarball(t *testing.T, path, ref string) v1.Image {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	eachTarEntry(t, f, func(h *tar.Header, r io.Reader) {
		target := filepath.Join(dir, h.Name)
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
			return
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("not an OCI layout: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index has %d manifests, want 1", len(im.Manifests))
	}
	desc := im.Manifests[0]
	if got := desc.Annotations["io.containerd.image.name"]; got != ref {
		t.Errorf("io.containerd.image.name = %q, want %q", got, ref)
	}
	if got := desc.Annotations["org.opencontainers.image.ref.name"]; !strings.HasSuffix(ref, ":"+got) {
		t.Errorf("ref.name %q is not the tag of %s", got, ref)
	}
	if desc.MediaType != types.OCIManifestSchema1 || desc.Platform == nil || desc.Platform.OS != "linux" {
		t.Errorf("descriptor %+v", desc)
	}
	img, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != types.OCIConfigJSON || len(m.Layers) != 2 {
		t.Errorf("manifest: config %s, %d layers", m.Config.MediaType, len(m.Layers))
	}
	for _, l := range m.Layers {
		if l.MediaType != types.OCILayer {
			t.Errorf("layer media type %s", l.MediaType)
		}
	}
	// Every blob is what its digest says (the layout reader checks nothing).
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		d, _ := l.Digest()
		data, err := os.ReadFile(filepath.Join(dir, "blobs", d.Algorithm, d.Hex))
		if err != nil {
			t.Fatal(err)
		}
		if h, _, _ := v1.SHA256(bytes.NewReader(data)); h != d {
			t.Errorf("blob %s has digest %s", d, h)
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", cfg.Config.User)
	}
	return img
}

// imageFiles returns the files of the image's flattened file system.
func imageFiles(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	files, _ := imageContents(t, img, "")
	return files
}

// imageContents also returns the content of one file.
func imageContents(t *testing.T, img v1.Image, want string) (map[string]*tar.Header, []byte) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]*tar.Header{}
	var content []byte
	eachTarEntry(t, rc, func(h *tar.Header, r io.Reader) {
		name := strings.TrimSuffix(h.Name, "/")
		files[name] = h
		if name == want {
			content, _ = io.ReadAll(r)
		}
	})
	return files, content
}

// eachTarEntry calls fn for every entry of the tar stream r.
func eachTarEntry(t *testing.T, r io.Reader, fn func(*tar.Header, io.Reader)) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(h, tr)
	}
}

// runEntrypoint extracts the entrypoint's binary from the image and runs it
// with args.
func runEntrypoint(t *testing.T, img v1.Image, args ...string) string {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Config.Entrypoint) != 1 {
		t.Fatalf("entrypoint %q", cfg.Config.Entrypoint)
	}
	entry := strings.TrimPrefix(cfg.Config.Entrypoint[0], "/")
	files, data := imageContents(t, img, entry)
	h := files[entry]
	if h == nil || h.Mode&0o111 == 0 {
		t.Fatalf("entrypoint %s is not an executable file of the image", entry)
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(entry))
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", entry, args, err, out)
	}
	return string(out)
}

func buildTestImage(t *testing.T, o Options) (Spec, []byte) {
	t.Helper()
	s := Spec{Repository: "epks/test", Package: "./pkg/images/testdata/version", Binary: "version",
		VersionVariable: "main.version", Description: "test"}
	bin := filepath.Join(t.TempDir(), "version")
	if err := BuildBinary(context.Background(), "../..", s, o, bin); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return s, data
}
