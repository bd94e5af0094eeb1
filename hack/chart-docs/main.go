// Command chart-docs writes charts/epks-addons/README.md: the chart's
// description with the table of its values generated from values.yaml.
// charts/readme_test.go fails when the README is stale.
//
// Usage: go run ./hack/chart-docs
package main

import (
	"fmt"
	"os"

	"github.com/epks/epks/charts"
)

func main() {
	readme, err := charts.AddonsREADME()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile("charts/epks-addons/README.md", []byte(readme), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
