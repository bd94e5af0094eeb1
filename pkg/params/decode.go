package params

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// heatSections are the top-level sections of a HEAT environment file. Only
// parameters and parameter_defaults hold parameters; the others describe a
// stack and are ignored.
var heatSections = map[string]bool{
	"parameters":                 true,
	"parameter_defaults":         true,
	"resource_registry":          true,
	"event_sinks":                true,
	"encrypted_parameters":       true,
	"parameter_merge_strategies": true,
}

// entry is one key of the file with its value node.
type entry struct {
	name  string
	line  int
	value *yaml.Node
}

// entries reads the parameter entries of a HEAT environment file (or of a
// flat map), parameters overriding parameter_defaults as HEAT does.
func entries(data []byte, ps *problems) []entry {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			ps.add("", "the file is empty")
			return nil
		}
		ps.add("", "not valid YAML: %s", yamlReason(err))
		return nil
	}
	if len(doc.Content) == 0 {
		ps.add("", "the file is empty")
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		ps.add("", "not valid YAML: %s", yamlReason(err))
		return nil
	default:
		// HEAT reads one document; a second one would be silently lost.
		ps.list = append(ps.list, Problem{Line: next.Line, Reason: "holds a second YAML document (after ---): put every parameter in one document"})
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		ps.list = append(ps.list, Problem{Line: root.Line, Reason: "must be a map of parameters (optionally under \"parameters:\")"})
		return nil
	}
	top := mapEntries(root, ps)
	wrapped := false
	for _, e := range top {
		if e.name == "parameters" || e.name == "parameter_defaults" {
			wrapped = true
		}
	}
	if !wrapped {
		return top
	}
	var defaults, params []entry
	for _, e := range top {
		switch {
		case e.name == "parameters" || e.name == "parameter_defaults":
			if e.value.Kind != yaml.MappingNode {
				if e.value.Tag == "!!null" {
					continue
				}
				ps.list = append(ps.list, Problem{Key: e.name, Line: e.line, Reason: "must be a map of parameters"})
				continue
			}
			if e.name == "parameters" {
				params = append(params, mapEntries(e.value, ps)...)
			} else {
				defaults = append(defaults, mapEntries(e.value, ps)...)
			}
		case heatSections[e.name]:
			// A stack's resource registry and the like mean nothing here.
		default:
			ps.list = append(ps.list, Problem{Key: e.name, Line: e.line,
				Reason: "unknown section of a HEAT environment file: put parameters under \"parameters:\""})
		}
	}
	out := params
	for _, d := range defaults {
		if !hasEntry(params, d.name) {
			out = append(out, d)
		}
	}
	return out
}

func hasEntry(es []entry, name string) bool {
	for _, e := range es {
		if e.name == name {
			return true
		}
	}
	return false
}

// mapEntries lists the entries of a mapping node, reporting duplicate keys
// and keys that are not strings.
func mapEntries(m *yaml.Node, ps *problems) []entry {
	var out []entry
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			ps.list = append(ps.list, Problem{Line: k.Line, Reason: "a key must be a plain name"})
			continue
		}
		if first, dup := seen[k.Value]; dup {
			ps.list = append(ps.list, Problem{Key: k.Value, Line: k.Line, Reason: fmt.Sprintf("given twice (first on line %d)", first)})
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, entry{name: k.Value, line: k.Line, value: v})
	}
	return out
}

// yamlQuoted matches what a YAML error quotes from the input: an anchor
// name, a token or a value, which may be (part of) a secret.
var yamlQuoted = regexp.MustCompile("'[^']*'|`[^`]*`|\"[^\"]*\"")

// yamlReason shortens a YAML error to its reason. Whatever the parser quotes
// from the file is left out: in a broken file nothing tells whose value it
// is, and it may be a password (`nsx_password: *S3cret` names the anchor).
func yamlReason(err error) string {
	return yamlQuoted.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "(…)")
}

// isNull reports whether a value is empty: null, ~ or "".
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "")
}

// decodeInto converts a value node into the field f points to. The error
// says what is wrong in the terms of the parameter; it holds the value only
// when show is true.
func decodeInto(f any, n *yaml.Node, show bool) error {
	quoted := func() string {
		if show {
			return fmt.Sprintf("%q ", n.Value)
		}
		return ""
	}
	if n.Kind == yaml.AliasNode {
		// An alias names its anchor, and an anchor on a secret would print it.
		return fmt.Errorf("must be written out, not a YAML alias")
	}
	if _, isList := f.(*[]string); !isList && n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a single value, not a %s", kindName(n))
	}
	switch f := f.(type) {
	case *string:
		if err := noControl(n.Value, show); err != nil {
			return err
		}
		*f = n.Value
	case *int:
		i, err := strconv.Atoi(strings.TrimSpace(n.Value))
		if err != nil {
			return fmt.Errorf("%sis not a whole number", quoted())
		}
		*f = i
	case *bool:
		b, ok := heatBool(n.Value)
		if !ok {
			return fmt.Errorf("%sis not a boolean (true or false)", quoted())
		}
		*f = b
	case *netip.Prefix:
		pfx, err := netip.ParsePrefix(strings.TrimSpace(n.Value))
		if err != nil {
			return fmt.Errorf("%sis not a CIDR such as 10.0.0.0/16", quoted())
		}
		if pfx.Masked() != pfx {
			return fmt.Errorf("%shas bits set beyond its prefix length; did you mean %s?", quoted(), pfx.Masked())
		}
		*f = pfx
	case *netip.Addr:
		a, err := netip.ParseAddr(strings.TrimSpace(n.Value))
		if err != nil {
			return fmt.Errorf("%sis not an IP address", quoted())
		}
		if a.Zone() != "" {
			return fmt.Errorf("%shas an IPv6 zone (%%...), which no endpoint URL or host entry can carry: give the address alone", quoted())
		}
		*f = a
	case *[]string:
		list, err := stringList(n)
		if err != nil {
			return err
		}
		for _, item := range list {
			if err := noControl(item, show); err != nil {
				return err
			}
		}
		*f = append(*f, list...)
	default:
		return fmt.Errorf("internal error: no decoder for %T", f)
	}
	return nil
}

// noControl refuses every character that a reader of the files the values
// end up in takes for a line break or a terminal control: C0 and C1 controls
// (tab, VT, FF, ESC, NEL included), DEL, U+2028 and U+2029 (line breaks to
// YAML 1.1 parsers such as Helm's and PyYAML's), the bidirectional
// overrides that make text read differently than it is, and invalid UTF-8.
// The character is named only when show is true: one character of a secret
// is still part of it.
func noControl(s string, show bool) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8")
	}
	for _, r := range s {
		if IsUnsafeRune(r) {
			if !show {
				return fmt.Errorf("holds a line break or control character, which the components' configuration files cannot carry")
			}
			return fmt.Errorf("holds a line break or control character (%U), which the components' configuration files cannot carry", r)
		}
	}
	return nil
}

// IsUnsafeRune reports whether r is a line break or a control character to
// some reader of epks's outputs or to a terminal.
func IsUnsafeRune(r rune) bool {
	switch {
	case unicode.IsControl(r): // C0 (tab, VT, FF, ESC...), DEL, C1 (NEL...)
		return true
	case r == '\u2028' || r == '\u2029': // line and paragraph separators
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == '\u200e', r == '\u200f', r == '\u061c':
		return true // bidirectional controls
	case r == '\ufeff' || r == utf8.RuneError:
		return true
	}
	return false
}

// stringList reads a YAML list of names, or one string of names separated by
// spaces or commas as the seed writes nova_hostnames.
func stringList(n *yaml.Node) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return strings.FieldsFunc(n.Value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }), nil
	case yaml.SequenceNode:
		var out []string
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode || isNull(item) {
				return nil, fmt.Errorf("must be a list of names, but item on line %d is a %s", item.Line, kindName(item))
			}
			out = append(out, strings.TrimSpace(item.Value))
		}
		return out, nil
	}
	return nil, fmt.Errorf("must be a list of names, not a %s", kindName(n))
}

// heatBool parses a boolean the way HEAT's boolean parameters accept them.
func heatBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "t", "on", "y", "yes", "1":
		return true, true
	case "false", "f", "off", "n", "no", "0":
		return false, true
	}
	return false, false
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "map"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "YAML alias"
	case yaml.ScalarNode:
		if isNull(n) {
			return "empty value"
		}
		return "single value"
	}
	return "YAML node"
}
