// Command update-cloud-init writes manifests/cloud-init, the plain snippets of
// the node user data (pkg/cloudinit), with node.env.example from
// examples/seed-params.yaml. pkg/cloudinit's tests fail when it is stale.
//
// Usage: go run ./hack/update-cloud-init
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/epks/epks/pkg/cloudinit"
	"github.com/epks/epks/pkg/params"
)

const dir = "manifests/cloud-init"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	p, err := params.Load("examples/seed-params.yaml")
	if err != nil {
		return err
	}
	files, err := cloudinit.Snippets(p)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(path, content, mode); err != nil {
			return err
		}
	}
	return nil
}
