package model

import (
	"fmt"
	"strings"
)

// Query is an NSX search query: terms field:value joined by AND, the
// subset of NSX's Lucene syntax that clients use to find objects by type
// and tag, e.g.
//
//	resource_type:LogicalPort AND tags.scope:ncp\/cluster AND tags.tag:k8scluster
//
// A field is a dotted path into the object's JSON; through a list (tags) it
// matches when any element matches. A value may be quoted or escape special
// characters with a backslash; * matches any value.
type Query struct {
	Terms []Term
}

// Term is one field:value of a query.
type Term struct {
	Field string
	Value string
}

// ParseQuery parses a search query.
func ParseQuery(s string) (Query, error) {
	var q Query
	for _, part := range splitAnd(s) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		field, value, ok := cutUnescaped(part, ':')
		if !ok || field == "" {
			return Query{}, fmt.Errorf("search query term %q is not field:value", part)
		}
		if strings.Contains(part, " OR ") || strings.Contains(field, " ") {
			return Query{}, fmt.Errorf("search query %q: only AND is supported", s)
		}
		q.Terms = append(q.Terms, Term{Field: field, Value: unescape(strings.Trim(value, `"`))})
	}
	if len(q.Terms) == 0 {
		return Query{}, fmt.Errorf("empty search query")
	}
	return q, nil
}

// splitAnd splits on " AND " outside quotes.
func splitAnd(s string) []string {
	var parts []string
	inQuote := false
	last := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case s[i] == '"':
			inQuote = !inQuote
		case !inQuote && strings.HasPrefix(s[i:], " AND "):
			parts = append(parts, s[last:i])
			last = i + len(" AND ")
			i = last - 1
		}
	}
	return append(parts, s[last:])
}

func cutUnescaped(s string, sep byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Matches reports whether every term matches the object.
func (q Query) Matches(obj map[string]any) bool {
	for _, t := range q.Terms {
		if !matchPath(obj, strings.Split(t.Field, "."), t.Value) {
			return false
		}
	}
	return true
}

func matchPath(v any, path []string, want string) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if matchPath(e, path, want) {
				return true
			}
		}
		return false
	case map[string]any:
		if len(path) == 0 {
			return false
		}
		next, ok := x[path[0]]
		if !ok {
			return false
		}
		return matchPath(next, path[1:], want)
	}
	if len(path) != 0 {
		return false
	}
	return want == "*" || fmt.Sprint(v) == want
}
