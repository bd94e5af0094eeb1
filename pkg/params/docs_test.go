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
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := FillReadme(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	if want != string(readme) {
		t.Fatal("the parameters table of README.md is stale: run `make docs`")
	}
	for _, k := range keys {
		if !strings.Contains(string(got), "`"+k.name+"`") {
			t.Errorf("%s is not documented", k.name)
		}
	}
}
