package demo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFreshDir(t *testing.T) {
	base := t.TempDir()
	newDir := filepath.Join(base, "new")
	if err := freshDir(newDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(newDir, "left-over.log"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory an earlier run made is emptied.
	if err := freshDir(newDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(newDir, "left-over.log")); !os.IsNotExist(err) {
		t.Error("the earlier run's files are still there")
	}
	// Someone else's directory is refused and kept.
	other := filepath.Join(base, "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	precious := filepath.Join(other, "precious.txt")
	if err := os.WriteFile(precious, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := freshDir(other); err == nil || !strings.Contains(err.Error(), "not a demo's directory") {
		t.Fatalf("a foreign directory: %v", err)
	}
	if _, err := os.Stat(precious); err != nil {
		t.Fatalf("a foreign file was removed: %v", err)
	}
}
