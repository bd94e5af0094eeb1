package bundle

import (
	"fmt"
	"sort"
	"strings"
)

// Readme is the bundle's README.md: what it holds and how to use and check it.
func Readme(m *Manifest) string {
	var b strings.Builder
	b.WriteString("# epks offline bundle\n\n")
	b.WriteString("Made by `make bundle` (docs/bundle.md of epks). Copy this directory to every node image at\n" +
		"`offline_bundle_path` (default `/opt/epks`) and set `package_source: bundle`: the nodes install\n" +
		"`debs/*.deb` with dpkg and import `images/*.tar` into containerd before kubeadm runs, with no network.\n\n")
	b.WriteString("Check it: `sha256sum -c SHA256SUMS` in this directory (the nodes do so first).\n\n")
	fmt.Fprintf(&b, "Debian packages for: %s (amd64), on top of a base system of %d packages (priority required and important and their dependencies; listed in manifest.json).\n\n", m.Debian, len(m.BaseSystem))
	b.WriteString("## Versions\n\n")
	keys := make([]string, 0, len(m.Versions))
	for k := range m.Versions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "- %s=%s\n", k, m.Versions[k])
	}
	b.WriteString("\n## debs/\n\n| file | package | version | from |\n|---|---|---|---|\n")
	for _, d := range m.Debs {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", d.File, d.Package, d.Version, d.Origin)
	}
	b.WriteString("\n## images/\n\nEach tarball is an OCI image layout whose index names the image: `ctr -n k8s.io images import FILE`.\n\n| file | image | digest |\n|---|---|---|\n")
	for _, i := range m.Images {
		ref := i.Ref
		if ref == "" {
			ref = "(" + i.Origin + ", as given)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", i.File, ref, i.Digest)
	}
	b.WriteString("\n## NCP\n\n")
	if m.NCP.Present {
		b.WriteString("Present: " + m.NCP.Note + "\n")
	} else {
		b.WriteString("**Missing.** " + m.NCP.Note + "\n")
	}
	return b.String()
}
