package bundle

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Package is a .deb that the bundle makes with dpkg-deb.
type Package struct {
	Name, Version, Description string
	// Depends is the control file's Depends line (may be empty).
	Depends string
	// Files are the package's files: path in the package (no leading /) to
	// the file on the build machine (Source) or its content (Data).
	Files []PackageFile
}

// PackageFile is one file of a Package.
type PackageFile struct {
	Path   string
	Source string
	Data   []byte
	Mode   os.FileMode
}

// DebVersion is the package version of an upstream version: v1.36.2 gives
// 1.36.2-1 (the Debian revision of a package epks made).
func DebVersion(v string) string { return strings.TrimPrefix(v, "v") + "-1" }

// FileName is the package's file name, as apt-get download names files.
func (p Package) FileName() string { return p.Name + "_" + p.Version + "_amd64.deb" }

const maintainer = "epks <dev@epks.invalid>"

// Build writes the package into dir with dpkg-deb --root-owner-group and
// returns its path.
func (p Package) Build(ctx context.Context, dir string) (string, error) {
	root, err := os.MkdirTemp("", "epks-deb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(root)
	if err := os.Chmod(root, 0o755); err != nil { // the package's ./, which is the node's /
		return "", err
	}
	var size int64
	for _, f := range p.Files {
		data := f.Data
		if f.Source != "" {
			if data, err = os.ReadFile(f.Source); err != nil {
				return "", fmt.Errorf("package %s: %w", p.Name, err)
			}
		}
		dst := filepath.Join(root, f.Path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(dst, data, f.Mode); err != nil {
			return "", err
		}
		if err := os.Chmod(dst, f.Mode); err != nil { // past the umask
			return "", err
		}
		size += int64(len(data))
	}
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: %s\n"+
		"Installed-Size: %d\nSection: admin\nPriority: optional\nHomepage: https://kubernetes.io\n",
		p.Name, p.Version, maintainer, (size+1023)/1024)
	if p.Depends != "" {
		control += "Depends: " + p.Depends + "\n"
	}
	control += "Description: " + p.Description + "\n"
	if err := os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(root, "DEBIAN", "control"), []byte(control), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, p.FileName())
	// dpkg-deb compresses with xz by default; gzip is quicker and the guest's dpkg reads both.
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, out)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("dpkg-deb --build %s: %w\n%s", p.Name, err, b)
	}
	return out, nil
}

// The kubelet's systemd unit and kubeadm's drop-in, as the Kubernetes
// packages install them: the kubelet restarts until kubeadm has written its
// configuration, then runs with the flags kubeadm chose.
const kubeletUnit = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`

const kubeadmDropIn = `# Written by epks's kubeadm package: the kubelet runs with the configuration
# that kubeadm init/join writes.
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# kubeadm init/join write KUBELET_KUBEADM_ARGS here.
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# The operator's KUBELET_EXTRA_ARGS, the last word.
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`

// KubernetesPackages are the packages the bundle makes from the binaries
// built from the pinned modules: bin maps a binary's name to its path. Their
// names, files and dependencies are those of the Kubernetes project's
// packages, so that a node set up from them is set up as from pkgs.k8s.io.
func KubernetesPackages(kubeVersion, criToolsVersion string, bin map[string]string) []Package {
	kv := DebVersion(kubeVersion)
	exe := func(name string) PackageFile {
		return PackageFile{Path: "usr/bin/" + name, Source: bin[name], Mode: 0o755}
	}
	return []Package{
		{Name: "kubelet", Version: kv, Description: "Kubernetes Node Agent (built by epks from the pinned module)",
			Depends: "mount, iproute2, iptables",
			Files: []PackageFile{exe("kubelet"),
				{Path: "usr/lib/systemd/system/kubelet.service", Data: []byte(kubeletUnit), Mode: 0o644}}},
		{Name: "kubectl", Version: kv, Description: "Kubernetes command line tool (built by epks from the pinned module)",
			Files: []PackageFile{exe("kubectl")}},
		{Name: "kubeadm", Version: kv, Description: "Kubernetes cluster bootstrapping tool (built by epks from the pinned module)",
			Depends: "kubelet (>= " + strings.TrimSuffix(kv, "-1") + "), kubectl, cri-tools, conntrack, mount",
			Files: []PackageFile{exe("kubeadm"),
				{Path: "usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", Data: []byte(kubeadmDropIn), Mode: 0o644}}},
		{Name: "cri-tools", Version: DebVersion(criToolsVersion), Description: "crictl, the command line tool of CRI runtimes (built by epks from the pinned module)",
			Files: []PackageFile{exe("crictl")}},
	}
}
