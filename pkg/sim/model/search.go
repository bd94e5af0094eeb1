package model

import (
	"fmt"
	"strings"
)

// Query is an NSX search query, in the Lucene syntax NSX's search API
// documents:
//
//	resource_type:LogicalPort AND tags.scope:ncp\/cluster AND tags.tag:k8scluster
//	display_name:(*web* OR *db*) AND NOT tags.tag:k8scluster
//
// A term is field:value or a bare value (searched in every field); a field
// is a dotted path into the object's JSON, matching through lists (tags)
// when any element matches. Values are case insensitive; * and ? are
// wildcards; a backslash escapes the next character; double quotes make a
// phrase, matched as a whole value. Terms combine with AND (&&), OR (||),
// NOT (!) and parentheses, field:(...) giving a group's terms a field.
// NOT binds tightest, then AND, then OR; terms side by side without an
// operator are OR'ed, Lucene's default. Range, fuzzy and boost syntax is
// refused.
type Query struct {
	root node
}

// node is a parsed query.
type node interface {
	match(obj map[string]any) bool
}

type andNode []node
type orNode []node
type notNode struct{ n node }

// termNode matches a field (every field when empty) against a value.
type termNode struct {
	field  []string
	value  string // lower case
	phrase bool
}

func (a andNode) match(obj map[string]any) bool {
	for _, n := range a {
		if !n.match(obj) {
			return false
		}
	}
	return true
}

func (o orNode) match(obj map[string]any) bool {
	for _, n := range o {
		if n.match(obj) {
			return true
		}
	}
	return false
}

func (n notNode) match(obj map[string]any) bool { return !n.n.match(obj) }

func (t termNode) match(obj map[string]any) bool {
	if t.field == nil {
		return anyLeaf(obj, t.matchValue)
	}
	return matchPath(obj, t.field, t.matchValue)
}

// matchValue compares one value of the object with the term.
func (t termNode) matchValue(v any) bool {
	got := strings.ToLower(fmt.Sprint(v))
	if t.phrase {
		return got == t.value
	}
	return glob(t.value, got)
}

// glob matches s against a pattern of * and ? (\x is x).
func glob(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if glob(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && glob(pattern[1:], s[1:])
	case '\\':
		if len(pattern) > 1 {
			return s != "" && s[0] == pattern[1] && glob(pattern[2:], s[1:])
		}
	}
	return s != "" && s[0] == pattern[0] && glob(pattern[1:], s[1:])
}

func anyLeaf(v any, match func(any) bool) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if anyLeaf(e, match) {
				return true
			}
		}
		return false
	case map[string]any:
		for _, e := range x {
			if anyLeaf(e, match) {
				return true
			}
		}
		return false
	case nil:
		return false
	}
	return match(v)
}

func matchPath(v any, path []string, match func(any) bool) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if matchPath(e, path, match) {
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
		return matchPath(next, path[1:], match)
	case nil:
		return false
	}
	return len(path) == 0 && match(v)
}

// Matches reports whether the object matches the query.
func (q Query) Matches(obj map[string]any) bool { return q.root != nil && q.root.match(obj) }

// ParseQuery parses a search query.
func ParseQuery(s string) (Query, error) {
	toks, err := lex(s)
	if err != nil {
		return Query{}, err
	}
	if len(toks) == 0 {
		return Query{}, fmt.Errorf("empty search query")
	}
	p := &parser{toks: toks}
	n, err := p.or(nil)
	if err != nil {
		return Query{}, fmt.Errorf("search query %q: %w", s, err)
	}
	if p.pos < len(p.toks) {
		return Query{}, fmt.Errorf("search query %q: unexpected %q", s, p.toks[p.pos].text)
	}
	return Query{root: n}, nil
}

type tokKind int

const (
	tokTerm tokKind = iota
	tokAnd
	tokOr
	tokNot
	tokOpen
	tokClose
)

type token struct {
	kind tokKind
	text string // the term's raw text (escapes kept), or the operator
	// field is the term's field ("" for a bare value); fieldGroup says a
	// field followed by "(" (field:(...)).
	field      string
	fieldGroup bool
	phrase     bool
}

// lex splits a query into terms and operators.
func lex(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
			continue
		case c == '(':
			out = append(out, token{kind: tokOpen, text: "("})
			i++
			continue
		case c == ')':
			out = append(out, token{kind: tokClose, text: ")"})
			i++
			continue
		case strings.HasPrefix(s[i:], "&&"):
			out = append(out, token{kind: tokAnd, text: "&&"})
			i += 2
			continue
		case strings.HasPrefix(s[i:], "||"):
			out = append(out, token{kind: tokOr, text: "||"})
			i += 2
			continue
		case c == '!':
			out = append(out, token{kind: tokNot, text: "!"})
			i++
			continue
		}
		// A word: up to an unescaped space or parenthesis, or a quoted
		// phrase, possibly after field:.
		start := i
		var field string
		for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '(' && s[i] != ')' && s[i] != '"' {
			if s[i] == '\\' {
				i += 2
				continue
			}
			if s[i] == ':' && field == "" {
				field = s[start:i]
				if field == "" {
					return nil, fmt.Errorf("a term starts with ':'")
				}
				i++
				start = i
				continue
			}
			i++
		}
		if i > len(s) {
			return nil, fmt.Errorf("a trailing backslash escapes nothing")
		}
		word := s[start:i]
		switch {
		case i < len(s) && s[i] == '"' && word == "":
			end := i + 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, fmt.Errorf("unterminated phrase %s", s[i:])
			}
			out = append(out, token{kind: tokTerm, field: field, text: s[i+1 : end], phrase: true})
			i = end + 1
			continue
		case i < len(s) && s[i] == '"':
			return nil, fmt.Errorf("a quote inside the term %q", s[start:i+1])
		case i < len(s) && s[i] == '(' && field != "" && word == "":
			out = append(out, token{kind: tokTerm, field: field, fieldGroup: true})
			continue
		}
		if field == "" {
			switch word {
			case "AND":
				out = append(out, token{kind: tokAnd, text: word})
				continue
			case "OR":
				out = append(out, token{kind: tokOr, text: word})
				continue
			case "NOT":
				out = append(out, token{kind: tokNot, text: word})
				continue
			}
		}
		if word == "" {
			return nil, fmt.Errorf("the field %q has no value", field)
		}
		if strings.ContainsAny(unescapedSpecials(word), "~^[]{}") {
			return nil, fmt.Errorf("range, fuzzy and boost queries (%q) are not supported", word)
		}
		out = append(out, token{kind: tokTerm, field: field, text: word})
	}
	return out, nil
}

// unescapedSpecials drops escaped characters, to look for operators.
func unescapedSpecials(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() (token, bool) {
	if p.pos >= len(p.toks) {
		return token{}, false
	}
	return p.toks[p.pos], true
}

// or := and (OR and | and)*
func (p *parser) or(field []string) (node, error) {
	first, err := p.and(field)
	if err != nil {
		return nil, err
	}
	nodes := orNode{first}
	for {
		t, ok := p.peek()
		if !ok || t.kind == tokClose {
			break
		}
		if t.kind == tokOr {
			p.pos++
		}
		n, err := p.and(field)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	if len(nodes) == 1 {
		return first, nil
	}
	return nodes, nil
}

// and := not (AND not)*
func (p *parser) and(field []string) (node, error) {
	first, err := p.not(field)
	if err != nil {
		return nil, err
	}
	nodes := andNode{first}
	for {
		t, ok := p.peek()
		if !ok || t.kind != tokAnd {
			break
		}
		p.pos++
		n, err := p.not(field)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	if len(nodes) == 1 {
		return first, nil
	}
	return nodes, nil
}

// not := NOT not | primary
func (p *parser) not(field []string) (node, error) {
	t, ok := p.peek()
	if ok && t.kind == tokNot {
		p.pos++
		n, err := p.not(field)
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	}
	return p.primary(field)
}

// primary := ( or ) | field:( or ) | term
func (p *parser) primary(field []string) (node, error) {
	t, ok := p.peek()
	if !ok {
		return nil, fmt.Errorf("the query ends where a term is expected")
	}
	p.pos++
	switch {
	case t.kind == tokOpen || (t.kind == tokTerm && t.fieldGroup):
		inner := field
		if t.fieldGroup {
			inner = strings.Split(t.field, ".")
			if next, ok := p.peek(); !ok || next.kind != tokOpen {
				return nil, fmt.Errorf("%s:( is not followed by a group", t.field)
			}
			p.pos++
		}
		n, err := p.or(inner)
		if err != nil {
			return nil, err
		}
		if c, ok := p.peek(); !ok || c.kind != tokClose {
			return nil, fmt.Errorf("a parenthesis is not closed")
		}
		p.pos++
		return n, nil
	case t.kind == tokTerm:
		term := termNode{field: field, phrase: t.phrase}
		if t.field != "" {
			term.field = strings.Split(t.field, ".")
		}
		if t.phrase {
			term.value = strings.ToLower(unescape(t.text))
		} else {
			term.value = strings.ToLower(t.text) // escapes stay for glob
		}
		return term, nil
	}
	return nil, fmt.Errorf("unexpected %q", t.text)
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
