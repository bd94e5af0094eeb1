package params

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Load reads and checks the parameters file at path. Relative file
// parameters are resolved against the file's directory. On any problem it
// returns a *ValidationError listing all of them.
func Load(path string) (*Params, error) { return LoadFor(path, ForAddons) }

// LoadFor is Load for a purpose: ForNodes requires the keys of node
// preparation too.
func LoadFor(path string, purpose Purpose) (*Params, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading parameters file: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("locating parameters file: %w", err)
	}
	return Parse(data, Source{Name: path, Dir: filepath.Dir(abs), Purpose: purpose})
}

// Source says where parameters come from.
type Source struct {
	// Name is how errors name the file.
	Name string
	// Dir resolves relative file parameters.
	Dir string
	// Now is the time certificates must be valid at [time.Now()].
	Now time.Time
	// Purpose says which keys are required [ForAddons].
	Purpose Purpose
}

// Parse reads and checks parameters from data. See Load.
func Parse(data []byte, src Source) (*Params, error) {
	if src.Now.IsZero() {
		src.Now = time.Now()
	}
	ps := &problems{lines: map[string]int{}}
	p := &Params{BaseDir: src.Dir}
	given, failed := map[string]bool{}, map[string]bool{}
	for _, e := range entries(data, ps) {
		ps.lines[e.name] = e.line
		k, ok := keyByName(e.name)
		if !ok {
			ps.add(e.name, "unknown parameter%s", suggest(e.name))
			continue
		}
		if isNull(e.value) {
			continue
		}
		if err := decodeInto(k.field(p), e.value, !k.secret); err != nil {
			ps.add(e.name, "%v", err)
			failed[e.name] = true
			continue
		}
		given[e.name] = true
	}
	for alias, canonical := range aliases {
		if !given[alias] {
			continue
		}
		if given[canonical] {
			ps.add(alias, "give either %s or %s, not both", alias, canonical)
		}
		given[canonical], failed[canonical] = true, failed[alias]
		if _, ok := ps.lines[canonical]; !ok {
			ps.lines[canonical] = ps.lines[alias]
		}
	}
	v := &validator{p: p, given: given, failed: failed, ps: ps, now: src.Now, purpose: src.Purpose}
	v.defaults()
	v.validate()
	v.readFiles()
	if err := ps.err(src.Name); err != nil {
		return nil, err
	}
	return p, nil
}
