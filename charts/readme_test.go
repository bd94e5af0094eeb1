package charts_test

import (
	"os"
	"testing"

	"github.com/epks/epks/charts"
)

// TestREADMEUpToDate fails when values.yaml changed and the README did not.
func TestREADMEUpToDate(t *testing.T) {
	want, err := charts.AddonsREADME()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("epks-addons/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatal("charts/epks-addons/README.md is stale: run `make chart-docs`")
	}
}
