//go:build integration

package images

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epks/epks/pkg/names"
)

// TestMakeImages builds every image of images/ as `make images` does and
// reads each tarball back: an OCI layout naming the image, a non-root
// image, and an entrypoint that runs the binary's --version.
func TestMakeImages(t *testing.T) {
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatalf("the images carry the build machine's CA bundle: install Debian's ca-certificates: %v", err)
	}
	o := Options{Registry: names.Registry, Version: names.Version, Revision: "test",
		Created: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), CABundle: ca}
	out := t.TempDir()
	built, err := BuildAll(context.Background(), "../..", "../../images", out, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(built) != 2 {
		t.Fatalf("built %d images, want epks and epks-port-tagger", len(built))
	}
	for _, b := range built {
		t.Run(b.Spec.Binary, func(t *testing.T) {
			if b.Path != filepath.Join(out, o.TarballName(b.Spec)) || b.Ref != names.Image(names.Registry, b.Spec.Repository, names.Version) {
				t.Errorf("built %+v", b)
			}
			img := readTarball(t, b.Path, b.Ref)
			if d, _ := img.Digest(); d != b.Digest {
				t.Errorf("digest %s, BuildAll said %s", d, b.Digest)
			}
			files, bundle := imageContents(t, img, "etc/ssl/certs/ca-certificates.crt")
			if string(bundle) != string(ca) {
				t.Error("the image's CA bundle is not the build machine's")
			}
			if h := files["usr/local/bin/"+b.Spec.Binary]; h == nil || h.Size < 1<<20 {
				t.Errorf("no binary in the image: %+v", h)
			}
			out := runEntrypoint(t, img, "--version")
			if !strings.Contains(out, b.Spec.Binary) || !strings.Contains(out, names.Version) {
				t.Errorf("%s --version printed %q, want its name and %s", b.Spec.Binary, out, names.Version)
			}
		})
	}
}
