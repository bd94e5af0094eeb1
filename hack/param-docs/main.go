// Command param-docs writes docs/parameters.md from the table of parameters
// in pkg/params. pkg/params' tests fail when the file is stale.
//
// Usage: go run ./hack/param-docs
package main

import (
	"fmt"
	"os"

	"github.com/epks/epks/pkg/params"
)

func main() {
	if err := os.WriteFile("docs/parameters.md", []byte(params.Markdown()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
