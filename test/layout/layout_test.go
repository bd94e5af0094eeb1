// Package layout checks the repository's layout contract (docs/design.md): the shipped
// binaries link no test machinery, and no test machinery lives under pkg/.
package layout

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/epks/epks"

// readSources opens every Go file, go.mod and go.sum of the module, so that
// `go test` caches these tests' results only while none of them changes: it
// does not see what the `go list` they run reads.
func readSources(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "../.." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "tools") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum" {
			_, err := os.ReadFile(path)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestShippedBinariesLinkNoTestMachinery(t *testing.T) {
	readSources(t)
	cmd := exec.Command("go", "list", "-deps", "./cmd/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/...: %v", err)
	}
	var own []string
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, module+"/") {
			own = append(own, pkg)
		}
		if strings.HasPrefix(pkg, module+"/test/") || pkg == "testing" {
			t.Errorf("a shipped binary links test machinery %s", pkg)
		}
		// The upstream cloud.conf readers check the chart's output in
		// tests; the port tagger reads cloud.conf with pkg/cloudconf.
		if strings.HasPrefix(pkg, "k8s.io/cloud-provider-openstack/") {
			t.Errorf("a shipped binary links %s", pkg)
		}
	}
	if len(own) < 5 {
		t.Fatalf("go list found only %d packages of %s: %v", len(own), module, own)
	}
}

func TestNoTestMachineryUnderPkg(t *testing.T) {
	readSources(t)
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./pkg/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./pkg/...: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, module+"/test/") {
				t.Errorf("%s (shipped) imports test machinery %s", fields[0], imp)
			}
		}
	}
}
