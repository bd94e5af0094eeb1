package chartdoc

import (
	"reflect"
	"strings"
	"testing"
)

func TestRows(t *testing.T) {
	rows, err := Rows([]byte(`# file header

# -- Name of it.
# Second line.
name: ""
image:
  # -- Registry.
  registry: r.io
  # -- Pull policy | with a bar.
  tag: v1
# -- Whole map documented.
resources:
  requests: {cpu: 10m}
# -- A list.
hosts: [a, b]
# -- A number.
replicas: 2
# -- A flag.
on: true
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{"name", "string", `""`, "Name of it. Second line."},
		{"image.registry", "string", `"r.io"`, "Registry."},
		{"image.tag", "string", `"v1"`, "Pull policy | with a bar."},
		{"resources", "object", `{"requests":{"cpu":"10m"}}`, "Whole map documented."},
		{"hosts", "list", `["a","b"]`, "A list."},
		{"replicas", "int", "2", "A number."},
		{"on", "bool", "true", "A flag."},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows:\n got %+v\nwant %+v", rows, want)
	}
	md := Markdown(rows)
	if !strings.Contains(md, `| Pull policy \| with a bar. |`) {
		t.Errorf("bars are not escaped:\n%s", md)
	}
}

func TestUndocumented(t *testing.T) {
	_, err := Rows([]byte("# -- ok\na: 1\nb: 2\nc:\n  d: 3\n"))
	if err == nil || !strings.Contains(err.Error(), "b, c.d") {
		t.Fatalf("undocumented values must be named, got %v", err)
	}
}
