package params

import (
	"reflect"
	"strings"
	"testing"
)

// TestNSXThumbprint: nsx_thumbprint takes SHA-256 thumbprints in NSX's and
// openssl's forms, as a list or one string, keeps them as NCP takes them,
// and refuses anything else naming the key and the item.
func TestNSXThumbprint(t *testing.T) {
	a, b := strings.Repeat("ab", 32), strings.Repeat("0f", 32)
	colons := strings.TrimSuffix(strings.Repeat("AB:", 32), ":")
	for _, tt := range []struct {
		name   string
		value  any
		want   []string
		reason string
	}{
		{"one", a, []string{a}, ""},
		{"openssl form", colons, []string{a}, ""},
		{"list, duplicates dropped", []any{a, colons, strings.ToUpper(b)}, []string{a, b}, ""},
		{"separated by spaces", a + " " + b, []string{a, b}, ""},
		{"sha-1", strings.Repeat("ab", 20), nil, "item 1 is 40 hex digits, a SHA-1 thumbprint"},
		{"not hex", []any{a, strings.Repeat("zz", 32)}, nil, "item 2 is not hex digits"},
		{"short", "abcd", nil, "item 1 has 4 characters"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := seed()
			m["nsx_thumbprint"] = tt.value
			p, err := parse(t, fixture(t), m)
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(p.NSXThumbprints, tt.want) {
					t.Errorf("NSXThumbprints = %q, want %q", p.NSXThumbprints, tt.want)
				}
				return
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 || ps[0].Key != "nsx_thumbprint" || !strings.Contains(ps[0].Reason, tt.reason) {
				t.Errorf("problems %v, want nsx_thumbprint: ...%s...", err, tt.reason)
			}
		})
	}
}
