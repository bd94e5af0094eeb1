package params

import (
	"errors"
	"testing"
)

// A file that cannot be read as parameters at all gets that one problem, not a list of every
// required key besides it.
func TestUnreadableFileIsOneProblem(t *testing.T) {
	for name, data := range map[string]string{
		"not YAML":        "parameters: [\n",
		"second document": "parameters:\n  name: a\n---\nparameters:\n  name: b\n",
		"unknown anchor":  "parameters:\n  nsx_password: *secret\n",
		"empty":           "",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(data), Source{Name: "p.yaml"})
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Parse = %v, want a ValidationError", err)
			}
			if len(verr.Problems) != 1 {
				t.Errorf("%d problems, want 1:\n%v", len(verr.Problems), err)
			}
		})
	}
}
