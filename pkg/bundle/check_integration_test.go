//go:build integration

package bundle

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epks/epks/test/toolbin"
)

// TestResolveAndCheck resolves Open vSwitch and containerd with the
// machine's apt against a Debian base system, downloads them, and checks the
// dependencies of the result; without one of the packages apt resolved, the
// check fails and names what is missing.
func TestResolveAndCheck(t *testing.T) {
	ctx := context.Background()
	res, err := Resolve(ctx, []string{"containerd", "openvswitch-switch"}, true)
	if err != nil {
		t.Fatal(err)
	}
	in := func(debs []Deb, name string) bool {
		for _, d := range debs {
			if d.Package == name {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		name          string
		base, install bool
	}{{"libc6", true, false}, {"containerd", false, true}, {"runc", false, true}, {"openvswitch-common", false, true}} {
		if in(res.Base, c.name) != c.base || in(res.Install, c.name) != c.install {
			t.Errorf("%s: in the base system %v (want %v), to install %v (want %v)", c.name, in(res.Base, c.name), c.base, in(res.Install, c.name), c.install)
		}
	}
	dir := t.TempDir()
	cache := filepath.Join(toolbin.CacheDir(), "bundle-parts", "debs")
	if err := Download(ctx, cache, res.Install); err != nil {
		t.Fatal(err)
	}
	m := &Manifest{}
	for _, d := range res.Base {
		m.BaseSystem = append(m.BaseSystem, d.Package)
	}
	if err := os.MkdirAll(filepath.Join(dir, DebsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Install {
		if err := os.Symlink(filepath.Join(cache, d.File()), filepath.Join(dir, DebsDir, d.File())); err != nil {
			t.Fatal(err)
		}
		if d.Package != "runc" {
			m.Debs = append(m.Debs, DebEntry{File: d.File(), Package: d.Package})
		}
	}
	if err := CheckDependencies(ctx, dir, m); err == nil || !strings.Contains(err.Error(), "runc") {
		t.Errorf("without runc: %v, want an error naming runc", err)
	}
	m.Debs = append(m.Debs, DebEntry{File: res.Install[0].File()})
	for _, d := range res.Install {
		if d.Package == "runc" {
			m.Debs = append(m.Debs, DebEntry{File: d.File(), Package: d.Package})
		}
	}
	if err := CheckDependencies(ctx, dir, m); err != nil {
		t.Error(err)
	}
}
