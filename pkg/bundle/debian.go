package bundle

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// DebianPackages are the packages of the bundle that come from Debian's
// archive; with them comes every dependency that a Debian base system lacks.
var DebianPackages = []string{
	"containerd", "runc", "conntrack", "iptables",
	"openvswitch-switch", "openvswitch-common",
}

// Deb is one Debian package to download: its name and exact version.
type Deb struct {
	Package, Version, Arch string
}

// File is the name apt-get download gives the package's file (an epoch's
// colon becomes %3a).
func (d Deb) File() string {
	return d.Package + "_" + strings.ReplaceAll(d.Version, ":", "%3a") + "_" + d.Arch + ".deb"
}

// stanza is one paragraph of apt's package lists.
type stanza struct {
	name, priority string
	text           string
}

var (
	availMu     sync.Mutex
	availCached map[string]stanza
)

// availableStanzas returns the candidate stanza of every package apt knows
// (apt-cache dumpavail), by name; read once a process.
func availableStanzas(ctx context.Context) (map[string]stanza, error) {
	availMu.Lock()
	defer availMu.Unlock()
	if availCached != nil {
		return availCached, nil
	}
	out, err := exec.CommandContext(ctx, "apt-cache", "dumpavail").Output()
	if err != nil {
		return nil, fmt.Errorf("apt-cache dumpavail (run apt-get update first): %w", err)
	}
	all := map[string]stanza{}
	for _, para := range bytes.Split(out, []byte("\n\n")) {
		s := stanza{text: strings.TrimSpace(string(para))}
		sc := bufio.NewScanner(bytes.NewReader(para))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "Package: "); ok {
				s.name = v
			} else if v, ok := strings.CutPrefix(line, "Priority: "); ok {
				s.priority = v
			}
		}
		if s.name == "" {
			continue
		}
		if _, seen := all[s.name]; !seen {
			all[s.name] = s
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("apt knows no packages: run apt-get update")
	}
	availCached = all
	return all, nil
}

var instLine = regexp.MustCompile(`^Inst (\S+) (?:\[\S+\] )?\((\S+) .*\[(\S+)\]\)`)

// simulate returns what `apt-get install --no-install-recommends pkgs` would
// install on a system whose dpkg status is the file status.
func simulate(ctx context.Context, status string, pkgs []string) ([]Deb, error) {
	args := append([]string{"-s", "-o", "Dir::State::status=" + status, "-o", "Debug::NoLocking=1",
		"--no-install-recommends", "install"}, pkgs...)
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("apt-get -s install %s: %w\n%s", strings.Join(pkgs, " "), err, out)
	}
	var debs []Deb
	for _, line := range strings.Split(string(out), "\n") {
		if m := instLine.FindStringSubmatch(line); m != nil {
			debs = append(debs, Deb{Package: m[1], Version: m[2], Arch: m[3]})
		}
	}
	return debs, nil
}

// writeStatus writes a dpkg status file that says the packages are installed.
func writeStatus(path string, avail map[string]stanza, debs []Deb) error {
	var b strings.Builder
	for _, d := range debs {
		s, ok := avail[d.Package]
		if !ok {
			return fmt.Errorf("apt has no stanza for %s", d.Package)
		}
		b.WriteString(s.text)
		b.WriteString("\nStatus: install ok installed\n\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// Resolution is what a Debian base system lacks to install the wanted packages.
type Resolution struct {
	// Base is the base system: the packages of priority required and
	// important and their dependencies (what debootstrap installs).
	Base []Deb
	// Install is what `dpkg -i` needs on top of Base, in apt's order.
	Install []Deb
}

// Resolve works out, with the build machine's apt (its release is the
// guest's), the packages a base system of that release lacks to install
// wanted, without recommends. With base false it resolves against an empty
// system instead (every dependency down to libc6, for image layers).
func Resolve(ctx context.Context, wanted []string, base bool) (Resolution, error) {
	avail, err := availableStanzas(ctx)
	if err != nil {
		return Resolution{}, err
	}
	tmp, err := os.MkdirTemp("", "epks-bundle-apt-")
	if err != nil {
		return Resolution{}, err
	}
	defer os.RemoveAll(tmp)
	empty := filepath.Join(tmp, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		return Resolution{}, err
	}
	var r Resolution
	status := empty
	if base {
		var names []string
		for n, s := range avail {
			if s.priority == "required" || s.priority == "important" {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		if r.Base, err = simulate(ctx, empty, names); err != nil {
			return Resolution{}, fmt.Errorf("resolving the base system: %w", err)
		}
		status = filepath.Join(tmp, "status")
		if err := writeStatus(status, avail, r.Base); err != nil {
			return Resolution{}, err
		}
	}
	if r.Install, err = simulate(ctx, status, wanted); err != nil {
		return Resolution{}, err
	}
	return r, nil
}

// Download fetches debs into dir with apt-get download, skipping files that
// are there already (dir is a cache: a file's name holds its version).
func Download(ctx context.Context, dir string, debs []Deb) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var missing []string
	for _, d := range debs {
		if _, err := os.Stat(filepath.Join(dir, d.File())); err != nil {
			missing = append(missing, d.Package+"="+d.Version)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, "apt-get", append([]string{"download", "-q"}, missing...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get download: %w\n%s", err, out)
	}
	for _, d := range debs {
		if _, err := os.Stat(filepath.Join(dir, d.File())); err != nil {
			return fmt.Errorf("apt-get download gave no %s", d.File())
		}
	}
	return nil
}

// CheckDependencies checks that the bundle's packages, on top of the base
// system the manifest names, have every dependency they declare: it writes a
// dpkg status of the base system and the bundle's packages and runs
// `apt-get check` on it.
func CheckDependencies(ctx context.Context, dir string, m *Manifest) error {
	avail, err := availableStanzas(ctx)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, n := range m.BaseSystem {
		s, ok := avail[n]
		if !ok {
			return fmt.Errorf("apt has no stanza for the base system's %s", n)
		}
		b.WriteString(s.text + "\nStatus: install ok installed\n\n")
	}
	for _, d := range m.Debs {
		control, err := exec.CommandContext(ctx, "dpkg-deb", "--field", filepath.Join(dir, DebsDir, d.File)).Output()
		if err != nil {
			return fmt.Errorf("dpkg-deb --field %s: %w", d.File, err)
		}
		b.WriteString(strings.TrimSpace(string(control)) + "\nStatus: install ok installed\n\n")
	}
	tmp, err := os.MkdirTemp("", "epks-bundle-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	status := filepath.Join(tmp, "status")
	if err := os.WriteFile(status, []byte(b.String()), 0o644); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, "apt-get", "-s", "-o", "Dir::State::status="+status, "-o", "Debug::NoLocking=1", "check").CombinedOutput()
	if err != nil {
		return fmt.Errorf("the bundle's packages miss dependencies on a Debian base system (apt-get check): %w\n%s", err, out)
	}
	return nil
}
