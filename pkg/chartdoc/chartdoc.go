// Package chartdoc writes the values table of a chart's README from the
// comments of its values.yaml: a comment starting with "# --" documents the
// key below it. Every value must be documented, either itself or through a
// documented parent.
package chartdoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Row is one documented value.
type Row struct {
	Key     string
	Type    string
	Default string
	Doc     string
}

// Rows reads the documented values of a values.yaml, in file order.
func Rows(valuesYAML []byte) ([]Row, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(valuesYAML, &doc); err != nil {
		return nil, fmt.Errorf("parsing values.yaml: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("values.yaml is not a map")
	}
	var rows []Row
	var missing []string
	walk(doc.Content[0], "", &rows, &missing)
	if len(missing) > 0 {
		return nil, fmt.Errorf("values without a \"# --\" comment: %s", strings.Join(missing, ", "))
	}
	return rows, nil
}

func walk(m *yaml.Node, prefix string, rows *[]Row, missing *[]string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		key := prefix + k.Value
		if doc := docOf(k.HeadComment); doc != "" {
			*rows = append(*rows, Row{Key: key, Type: typeOf(v), Default: defaultOf(v), Doc: doc})
			continue
		}
		if v.Kind == yaml.MappingNode && len(v.Content) > 0 {
			walk(v, key+".", rows, missing)
			continue
		}
		*missing = append(*missing, key)
	}
}

// docOf returns the text of the "# --" comment that ends a head comment.
func docOf(head string) string {
	lines := strings.Split(head, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "# --") {
			start = i
		}
	}
	if start < 0 {
		return ""
	}
	var parts []string
	for i, l := range lines[start:] {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "#"))
		if i == 0 {
			l = strings.TrimSpace(strings.TrimPrefix(l, "--"))
		}
		parts = append(parts, l)
	}
	return strings.Join(parts, " ")
}

func typeOf(v *yaml.Node) string {
	switch v.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "list"
	}
	switch v.Tag {
	case "!!bool":
		return "bool"
	case "!!int":
		return "int"
	case "!!float":
		return "number"
	}
	return "string"
}

func defaultOf(v *yaml.Node) string {
	var x any
	if err := v.Decode(&x); err != nil {
		return "?"
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return "?"
	}
	return strings.TrimSpace(b.String())
}

// Markdown renders rows as a Markdown table.
func Markdown(rows []Row) string {
	var b strings.Builder
	b.WriteString("| Key | Type | Default | Description |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s |\n", r.Key, r.Type, strings.ReplaceAll(r.Default, "|", `\|`), strings.ReplaceAll(r.Doc, "|", `\|`))
	}
	return b.String()
}
