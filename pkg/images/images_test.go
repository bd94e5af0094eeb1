package images

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/names"
)

func testOptions() Options {
	return Options{Registry: "registry.local", Version: "v9.9.9", Revision: "abc123",
		Created: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), CABundle: []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")}
}

// TestImageTarball builds an image of a small static binary, writes it as
// the tarball `make images` writes, and reads it back: names, layers, user,
// files, labels, and the entrypoint runs.
func TestImageTarball(t *testing.T) {
	o := testOptions()
	s, bin := buildTestImage(t, o)
	img, err := Image(s, bin, o)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), o.TarballName(s))
	var buf bytes.Buffer
	if err := WriteTarball(&buf, o.Ref(s), img, o.Created); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "test_v9.9.9.tar" {
		t.Errorf("tarball name %s", filepath.Base(path))
	}
	back := readTarball(t, path, "registry.local/epks/test:v9.9.9")

	if out := runEntrypoint(t, back, "--version"); out != "version v9.9.9 uid "+itoa(os.Getuid())+"\n" {
		t.Errorf("--version printed %q", out)
	}
	cfg, _ := back.ConfigFile()
	if cfg.Config.Entrypoint[0] != "/usr/local/bin/version" || cfg.Architecture != "amd64" || cfg.OS != "linux" {
		t.Errorf("config %+v", cfg.Config)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version": "v9.9.9", "org.opencontainers.image.revision": "abc123",
		"org.opencontainers.image.title": "version", "org.opencontainers.image.created": "2026-11-24T00:00:00Z",
		"org.opencontainers.image.source": "https://github.com/epks/epks",
	} {
		if cfg.Config.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, cfg.Config.Labels[k], want)
		}
	}
	files, passwd := imageContents(t, back, "etc/passwd")
	if !bytes.Contains(passwd, []byte("nonroot:x:65532:65532:")) {
		t.Errorf("/etc/passwd:\n%s", passwd)
	}
	for name, want := range map[string]struct {
		mode int64
		uid  int
	}{
		"etc/ssl/certs/ca-certificates.crt": {0o644, 0}, "tmp": {0o1777, 0}, "home/nonroot": {0o700, NonRootUID},
		"usr/local/bin/version": {0o755, 0}, "etc/group": {0o644, 0},
	} {
		h := files[name]
		if h == nil {
			t.Errorf("the image has no %s", name)
			continue
		}
		if h.Mode&0o7777 != want.mode || h.Uid != want.uid || !h.ModTime.Equal(o.Created) {
			t.Errorf("%s: mode %o uid %d time %s", name, h.Mode, h.Uid, h.ModTime)
		}
	}

	// The same inputs give the same bytes.
	again, err := Image(s, bin, o)
	if err != nil {
		t.Fatal(err)
	}
	var buf2 bytes.Buffer
	if err := WriteTarball(&buf2, o.Ref(s), again, o.Created); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
		t.Error("two builds of the same inputs differ")
	}
	if _, err := Image(s, bin, Options{Registry: "r", Version: "v1"}); err == nil {
		t.Error("an image without a CA bundle")
	}
}

// TestBuildFiles: images/ builds the two images under the names the chart
// and the node user data expect.
func TestBuildFiles(t *testing.T) {
	specs, err := LoadSpecs("../../images")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Spec{}
	for _, s := range specs {
		got[s.Repository] = s
		if _, err := os.Stat(filepath.Join("../..", s.Package, "main.go")); err != nil {
			t.Errorf("%s: package %s: %v", s.Repository, s.Package, err)
		}
	}
	if got[names.EPKSRepository].Binary != "epks" || got[names.EPKSRepository].VersionVariable != "github.com/epks/epks/pkg/names.Version" {
		t.Errorf("epks image: %+v", got[names.EPKSRepository])
	}
	if got[names.PortTaggerRepository].Binary != "epks-port-tagger" || got[names.PortTaggerRepository].VersionVariable != "github.com/epks/epks/pkg/names.Version" {
		t.Errorf("port tagger image: %+v", got[names.PortTaggerRepository])
	}
	ch, err := charts.LoadAddons()
	if err != nil {
		t.Fatal(err)
	}
	image := ch.Values["portTagger"].(map[string]any)["image"].(map[string]any)
	if image["registry"] != names.Registry || image["repository"] != names.PortTaggerRepository || image["tag"] != names.Version {
		t.Errorf("the chart's port tagger image %v is not the one make images builds (%s)", image, names.Image(names.Registry, names.PortTaggerRepository, names.Version))
	}

	dir := t.TempDir()
	for name, content := range map[string]string{"a.yaml": "repository: x\npackage: ./cmd/x\n", "b.yaml": "repositry: x\n"} {
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
		_, err := LoadSpecs(dir)
		if err == nil {
			t.Errorf("%s accepted", name)
		}
		os.Remove(filepath.Join(dir, name))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestBinaryDir: an image that stands in for upstream's keeps its binary
// where upstream's does: the entrypoint, the file and PATH follow Dir, and a
// relative Dir is refused.
func TestBinaryDir(t *testing.T) {
	o := testOptions()
	s, bin := buildTestImage(t, o)
	for _, tc := range []struct {
		dir, entrypoint, file, path string
	}{
		{"", "/usr/local/bin/version", "usr/local/bin/version", "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		{"/bin", "/bin/version", "bin/version", "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		{"/", "/version", "version", "/:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		{"/opt/x/", "/opt/x/version", "opt/x/version", "/opt/x:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	} {
		s.Dir = tc.dir
		img, err := Image(s, bin, o)
		if err != nil {
			t.Fatalf("dir %q: %v", tc.dir, err)
		}
		cfg, _ := img.ConfigFile()
		if got := cfg.Config.Entrypoint; len(got) != 1 || got[0] != tc.entrypoint {
			t.Errorf("dir %q: entrypoint %q, want %s", tc.dir, got, tc.entrypoint)
		}
		if cfg.Config.Env[0] != "PATH="+tc.path {
			t.Errorf("dir %q: %s, want PATH=%s", tc.dir, cfg.Config.Env[0], tc.path)
		}
		files, _ := imageContents(t, img, "")
		if h := files[tc.file]; h == nil || h.Mode&0o777 != 0o755 {
			t.Errorf("dir %q: no executable %s in the image", tc.dir, tc.file)
		}
		if out := runEntrypoint(t, img, "--version"); !strings.HasPrefix(out, "version v9.9.9") {
			t.Errorf("dir %q: the entrypoint printed %q", tc.dir, out)
		}
	}
	s.Dir = "bin"
	if _, err := Image(s, bin, o); err == nil || !strings.Contains(err.Error(), `dir "bin" is not an absolute path`) {
		t.Errorf("a relative dir: %v", err)
	}
}
