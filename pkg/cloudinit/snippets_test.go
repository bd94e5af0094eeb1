package cloudinit

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/epks/epks/pkg/params"
)

// TestSnippetsUpToDate fails when manifests/cloud-init differs from what
// pkg/cloudinit renders now.
func TestSnippetsUpToDate(t *testing.T) {
	p, err := params.Load("../../examples/seed-params.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Snippets(p)
	if err != nil {
		t.Fatal(err)
	}
	const dir = "../../manifests/cloud-init"
	var have []string
	err = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		have = append(have, rel)
		got, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if string(got) != string(want[rel]) {
			t.Errorf("manifests/cloud-init/%s is stale: run `make cloud-init`", rel)
		}
		if strings.HasSuffix(rel, ".sh") && info.Mode().Perm()&0o111 == 0 {
			t.Errorf("manifests/cloud-init/%s is not executable", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v: run `make cloud-init`", err)
	}
	var wantNames []string
	for n := range want {
		wantNames = append(wantNames, n)
	}
	sort.Strings(wantNames)
	sort.Strings(have)
	if strings.Join(have, " ") != strings.Join(wantNames, " ") {
		t.Errorf("manifests/cloud-init has %v, want %v: run `make cloud-init`", have, wantNames)
	}
	for _, s := range scripts() {
		if _, ok := want["usr/local/lib/epks/"+s]; !ok {
			t.Errorf("script %s is not among the snippets", s)
		}
	}
}
