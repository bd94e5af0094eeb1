package params

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Load reads and checks the parameters file at path. Relative file
// parameters are resolved against the file's directory. On any problem it
// returns a *ValidationError listing all of them.
func Load(path string) (*Params, error) { return LoadFor(path, ForAddons) }

// LoadFor is Load for a purpose: ForNodes requires the keys of node
// preparation too.
func LoadFor(path string, purpose Purpose) (*Params, error) {
	data, err := ReadFile(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("reading parameters file: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("locating parameters file: %w", err)
	}
	return Parse(data, Source{Name: path, Dir: filepath.Dir(abs), Purpose: purpose})
}

// MaxFileSize bounds the parameters file and every file it names: they are
// a few kilobytes, and a larger one is a mistake (/dev/zero, a disk image).
const MaxFileSize = 1 << 20

// ErrNotRegular is returned by ReadFile for a path that is not a regular
// file, such as a FIFO, a device or a directory.
var ErrNotRegular = errors.New("is not a regular file")

// ErrTooLarge is returned by ReadFile for a file larger than its limit.
var ErrTooLarge = errors.New("is too large")

// ReadFile reads a regular file of at most limit bytes. It never blocks on
// a FIFO or a device: the file is opened non-blocking and refused unless it
// is regular, and it never reads more than limit+1 bytes.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, fileKind(st.Mode()))}
	}
	if st.Size() > limit {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, st.Size(), limit)}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)}
	}
	return data, nil
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "not a plain file"
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
	// managerKeys says which key gave each of p.NSXAPIManagers.
	var managerKeys []string
	list := entries(data, ps)
	if list == nil && len(ps.list) > 0 {
		// The file could not be read as parameters at all (not YAML, a second document):
		// every required key would be reported missing, which hides the one real problem.
		return nil, ps.err(src.Name)
	}
	for _, e := range list {
		ps.lines[e.name] = e.line
		k, ok := keyByName(e.name)
		if !ok {
			ps.add(e.name, "unknown parameter%s", suggest(e.name))
			continue
		}
		if isNull(e.value) {
			continue
		}
		before := len(p.NSXAPIManagers)
		if err := decodeInto(k.field(p), e.value, !k.secret); err != nil {
			ps.add(e.name, "%v", err)
			failed[e.name] = true
			continue
		}
		given[e.name] = true
		for i := before; i < len(p.NSXAPIManagers); i++ {
			managerKeys = append(managerKeys, e.name)
		}
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
	v := &validator{p: p, given: given, failed: failed, ps: ps, now: src.Now, purpose: src.Purpose, managerKeys: managerKeys}
	v.defaults()
	v.validate()
	v.readFiles()
	if err := ps.err(src.Name); err != nil {
		return nil, err
	}
	return p, nil
}
