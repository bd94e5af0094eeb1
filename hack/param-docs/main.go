// Command param-docs writes docs/parameters.md and the parameters table of
// README.md from the table of parameters in pkg/params. pkg/params' tests
// fail when either is stale.
//
// Usage: go run ./hack/param-docs
package main

import (
	"fmt"
	"os"

	"github.com/epks/epks/pkg/params"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	if err := os.WriteFile("docs/parameters.md", []byte(params.Markdown()), 0o644); err != nil {
		return err
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		return err
	}
	filled, err := params.FillReadme(string(readme))
	if err != nil {
		return err
	}
	return os.WriteFile("README.md", []byte(filled), 0o644)
}
