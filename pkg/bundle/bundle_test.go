package bundle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBundle writes a small bundle: two files and a manifest that names them.
func fakeBundle(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{"debs/a_1_amd64.deb": "deb", "images/x_v1.tar": "tar"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	debSum, _ := FileSHA256(filepath.Join(dir, "debs/a_1_amd64.deb"))
	tarSum, _ := FileSHA256(filepath.Join(dir, "images/x_v1.tar"))
	m := &Manifest{Debs: []DebEntry{{File: "a_1_amd64.deb", Package: "a", Version: "1", Origin: "debian", SHA256: debSum}},
		Images: []ImageEntry{{File: "x_v1.tar", Ref: "registry.k8s.io/x:v1", SHA256: tarSum, Origin: "epks"}}}
	if err := WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	if err := WriteSums(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestVerify(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string)
		want   []string // every problem, "" for none
	}{
		{name: "whole", change: func(*testing.T, string) {}},
		{name: "hidden files are not part of it", change: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, ".inputs"), "x")
		}},
		{name: "a changed file and an extra one, both named", change: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "images/x_v1.tar"), "other")
			write(t, filepath.Join(dir, "debs/extra.deb"), "x")
		}, want: []string{"images/x_v1.tar: checksum differs from SHA256SUMS", "images/x_v1.tar: checksum differs from the manifest's", "debs/extra.deb: not in SHA256SUMS"}},
		{name: "a missing file", change: func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "debs/a_1_amd64.deb")); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"debs/a_1_amd64.deb: in SHA256SUMS but missing", "debs/a_1_amd64.deb: in the manifest but"}},
		{name: "a manifest that disagrees with SHA256SUMS", change: func(t *testing.T, dir string) {
			m, err := ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			m.Debs[0].SHA256 = strings.Repeat("0", 64)
			if err := WriteManifest(dir, m); err != nil {
				t.Fatal(err)
			}
			if err := WriteSums(dir); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"debs/a_1_amd64.deb: checksum differs from the manifest's"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := fakeBundle(t)
			tc.change(t, dir)
			err := Verify(dir)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify passed, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadmeSaysWhenNCPIsMissing(t *testing.T) {
	m := &Manifest{Versions: map[string]string{"KUBERNETES_VERSION": "v1.36.2"}, NCP: NCP{Note: "none named"},
		Images: []ImageEntry{{File: "pause_3.10.2.tar", Ref: "registry.k8s.io/pause:3.10.2", Digest: "sha256:ab"}}}
	r := Readme(m)
	for _, want := range []string{"**Missing.** none named", "| pause_3.10.2.tar | registry.k8s.io/pause:3.10.2 | sha256:ab |", "KUBERNETES_VERSION=v1.36.2", "sha256sum -c SHA256SUMS"} {
		if !strings.Contains(r, want) {
			t.Errorf("README lacks %q:\n%s", want, r)
		}
	}
}
