package params

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Problem is one thing wrong with a parameters file.
type Problem struct {
	// Key is the parameter the problem is about, e.g. "kube_token", or ""
	// for the file as a whole.
	Key string
	// Line is the line of the key in the file, or 0 when the key is missing.
	Line int
	// Reason says what is wrong and, where it helps, what is expected. It
	// never holds the value of a secret parameter.
	Reason string
}

// ValidationError holds every problem found in a parameters file.
type ValidationError struct {
	// File is the path of the parameters file as the user named it.
	File     string
	Problems []Problem
}

// Error lists the problems one per line, as "file:line: key: reason", in the
// order of the file, with missing keys last.
func (e *ValidationError) Error() string {
	file := e.File
	if file == "" {
		file = "parameters"
	}
	var b strings.Builder
	file = Printable(file)
	fmt.Fprintf(&b, "%s: %d problem(s):", file, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(file)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
		if p.Key != "" {
			b.WriteString(Printable(p.Key))
			b.WriteString(": ")
		}
		b.WriteString(Printable(p.Reason))
	}
	return b.String()
}

// Printable escapes what a terminal would act on instead of showing: every
// line break and control character (see IsUnsafeRune) becomes a Go-style
// escape such as \x1b or \u2028, so a message always reads as it was
// written.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if IsUnsafeRune(r) {
			clean = false
			break
		}
	}
	if clean && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case IsUnsafeRune(r) && r < 0x80:
			fmt.Fprintf(&b, "\\x%02x", r)
		case IsUnsafeRune(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// problems collects problems while a file is read and checked.
type problems struct {
	list []Problem
	// lines remembers where each key stands, to place problems found later.
	lines map[string]int
}

func (ps *problems) add(key, format string, args ...any) {
	ps.list = append(ps.list, Problem{Key: key, Line: ps.lines[key], Reason: fmt.Sprintf(format, args...)})
}

// err returns nil when there is no problem, else a *ValidationError with
// the problems sorted and de-duplicated.
func (ps *problems) err(file string) error {
	if len(ps.list) == 0 {
		return nil
	}
	list := append([]Problem(nil), ps.list...)
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if (a.Line == 0) != (b.Line == 0) {
			return a.Line != 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Key < b.Key
	})
	out := list[:0]
	for i, p := range list {
		if i > 0 && p == list[i-1] {
			continue
		}
		out = append(out, p)
	}
	return &ValidationError{File: file, Problems: out}
}
