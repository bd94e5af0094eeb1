// Package layout checks the repository's layout contract (docs/design.md): the shipped
// binaries link no test machinery, and no test machinery lives under pkg/.
package layout

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/epks/epks"

func TestShippedBinariesLinkNoTestMachinery(t *testing.T) {
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
	}
	if len(own) < 5 {
		t.Fatalf("go list found only %d packages of %s: %v", len(own), module, own)
	}
}

func TestNoTestMachineryUnderPkg(t *testing.T) {
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
