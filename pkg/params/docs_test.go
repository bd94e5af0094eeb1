package params

import (
	"os"
	"strings"
	"testing"
)

func TestDocsUpToDate(t *testing.T) {
	got, err := os.ReadFile("../../docs/parameters.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != Markdown() {
		t.Fatal("docs/parameters.md is stale: run `make docs`")
	}
	for _, k := range keys {
		if !strings.Contains(string(got), "`"+k.name+"`") {
			t.Errorf("%s is not documented", k.name)
		}
	}
}
