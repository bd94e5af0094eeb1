package toolbin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionsMatchHack(t *testing.T) {
	hack, err := os.ReadFile("../../hack/versions.env")
	if err != nil {
		t.Fatal(err)
	}
	if string(hack) != string(versionsEnv) {
		t.Fatal("test/toolbin/versions.env differs from hack/versions.env: run `go generate ./test/toolbin`")
	}
	for name, key := range versionKey {
		if Versions()[key] == "" {
			t.Errorf("%s: %s is not in versions.env", name, key)
		}
	}
}

func TestPath(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("EPKS_CACHE", cache)
	if _, err := Path("kwok"); err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("a missing binary must say to run make tools, got %v", err)
	}
	v, _ := Version("kwok")
	want := filepath.Join(cache, "bin", "kwok-"+v)
	if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Path("kwok"); err == nil {
		t.Fatal("a file that is not executable must not count as built")
	}
	if err := os.Chmod(want, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Path("kwok")
	if err != nil || got != want {
		t.Fatalf("Path = %q, %v; want %q", got, err, want)
	}
	if _, err := Path("kubectl-foo"); err == nil {
		t.Fatal("an unknown binary must be an error")
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv("EPKS_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/x")
	if d := CacheDir(); d != "/x/epks" {
		t.Errorf("CacheDir = %s", d)
	}
	t.Setenv("EPKS_CACHE", "/y")
	if d := CacheDir(); d != "/y" {
		t.Errorf("CacheDir = %s", d)
	}
}
