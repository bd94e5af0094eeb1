// Package cloudinit renders the user data that prepares a node of an epks
// cluster at first boot: cloud-init's cloud-config with the node scripts,
// the kubeadm configuration and the few secrets the node needs.
//
// The scripts (files/, embedded) are the same for every cluster; what they
// need to know of the parameters is in /etc/epks/node.env, which holds no
// secret. In order, on every node: kernel modules, sysctls and swap off;
// containerd, kubelet, kubeadm and kubectl from the package repositories or
// the offline bundle; containerd with the systemd cgroup driver and the
// bundle's images imported; br-int on the pod NIC with its MAC (netplan on
// Ubuntu 22.04 and 24.04, ifupdown on 16.04 and 18.04); kubeadm init or
// join with the provider ID from the instance ID; and on the first
// control-plane node, `epks install` from the epks image.
//
// Secrets by role: workers get the bootstrap token (and the CA pin, which is
// public); joining control-plane nodes get the token and the shared keys of
// the PKI; the first control-plane node gets the token, the shared keys and
// the chart values with the NSX and OpenStack credentials for `epks install`.
// Each secret is a file of mode 0600.
package cloudinit

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/pkg/params"
)

// Role is what a node is in the cluster.
type Role string

// The roles of nodes.
const (
	// RoleControlPlane is the first control-plane node: kubeadm init, then
	// epks install.
	RoleControlPlane Role = "control-plane"
	// RoleControlPlaneJoin is a further control-plane node: kubeadm join
	// --control-plane with the shared keys of the PKI.
	RoleControlPlaneJoin Role = "control-plane-join"
	// RoleWorker is a worker node: kubeadm join.
	RoleWorker Role = "worker"
)

// Roles lists every role.
func Roles() []Role { return []Role{RoleControlPlane, RoleControlPlaneJoin, RoleWorker} }

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return contains(Roles(), r) }

// RoleNames lists the roles for messages: "control-plane, control-plane-join, worker".
func RoleNames() string { return join(Roles()) }

// OS is a node operating system that the user data supports.
type OS string

// The supported systems: today's Ubuntu with netplan, the seed's with
// ifupdown, and Debian 12 (ifupdown, as its cloud images; the guest of
// viosim --boot qemu). Ubuntu is the primary target.
const (
	Ubuntu2404 OS = "ubuntu-24.04"
	Ubuntu2204 OS = "ubuntu-22.04"
	Ubuntu1804 OS = "ubuntu-18.04"
	Ubuntu1604 OS = "ubuntu-16.04"
	Debian12   OS = "debian-12"
	DefaultOS     = Ubuntu2404
)

// OSes lists every supported system.
func OSes() []OS { return []OS{Ubuntu2404, Ubuntu2204, Ubuntu1804, Ubuntu1604, Debian12} }

// Valid reports whether o is one of OSes.
func (o OS) Valid() bool { return contains(OSes(), o) }

// OSNames lists the systems for messages.
func OSNames() string { return join(OSes()) }

// Legacy reports whether the system is one of the seed's: ifupdown instead
// of netplan, cgroup v1, and no containerd 2 packages in the archives.
func (o OS) Legacy() bool { return o == Ubuntu1604 || o == Ubuntu1804 }

// networkConfig is how the scripts write br-int on the system: ifupdown on
// the seed's Ubuntu and on Debian 12 (its cloud images configure the NICs
// with ifupdown, and cloud-init renders network_data.json so), netplan on
// today's Ubuntu.
func (o OS) networkConfig() string {
	if o.Legacy() || o == Debian12 {
		return "ifupdown"
	}
	return "netplan"
}

// Where the user data puts things on the node.
const (
	scriptDir      = "/usr/local/lib/epks"
	nodeEnvPath    = "/etc/epks/node.env"
	kubeadmPath    = "/etc/epks/kubeadm.yaml"
	valuesPath     = "/etc/epks/values.yaml"
	pkiDir         = "/etc/kubernetes/pki"
	installTimeout = "30m"
	// MaxUserData is Nova's limit of user data, in bytes of base64.
	MaxUserData = 65535
)

//go:embed files
var embedded embed.FS

// Options say what node to render for.
type Options struct {
	Role Role
	OS   OS
	// PKI is the cluster's shared keys (see LoadOrCreatePKI).
	PKI *PKI
	// Values are the chart values `epks install` installs with on the first
	// control-plane node; the other roles ignore them.
	Values map[string]any
	// Version is the version of epks, for the header.
	Version string
}

// File is one file the user data writes.
type File struct {
	Path        string `yaml:"path"`
	Owner       string `yaml:"owner"`
	Permissions string `yaml:"permissions"`
	Content     string `yaml:"content"`
}

// Secret reports whether only root may read the file.
func (f File) Secret() bool { return f.Permissions == "0600" }

type cloudConfig struct {
	WriteFiles   []File     `yaml:"write_files"`
	RunCmd       [][]string `yaml:"runcmd"`
	FinalMessage string     `yaml:"final_message"`
}

// Files returns the files the user data of a node writes, in order.
func Files(p *params.Params, o Options) ([]File, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	files, err := commonFiles(p, o)
	if err != nil {
		return nil, err
	}
	kubeadm, err := KubeadmConfig(p, o.Role, o.PKI)
	if err != nil {
		return nil, err
	}
	files = append(files, secret(kubeadmPath, kubeadm))
	if o.Role == RoleControlPlane || o.Role == RoleControlPlaneJoin {
		for _, name := range pkiFiles {
			data := o.PKI.file(name)
			if strings.HasSuffix(name, ".key") {
				files = append(files, secret(path.Join(pkiDir, name), data))
			} else {
				files = append(files, plain(path.Join(pkiDir, name), "0644", string(data)))
			}
		}
	}
	if o.Role == RoleControlPlane {
		values, err := sigsyaml.Marshal(o.Values)
		if err != nil {
			return nil, fmt.Errorf("encoding the chart values: %w", err)
		}
		files = append(files, secret(valuesPath, values))
	}
	return files, nil
}

// commonFiles are the files that do not depend on the cluster's secrets:
// node.env, the host configuration and the scripts.
func commonFiles(p *params.Params, o Options) ([]File, error) {
	files := []File{plain(nodeEnvPath, "0644", NodeEnv(p, o))}
	for _, s := range staticFiles {
		data, err := embedded.ReadFile("files/" + s.name)
		if err != nil {
			return nil, err
		}
		files = append(files, plain(s.path, "0644", string(data)))
	}
	for _, name := range scripts() {
		data, err := embedded.ReadFile("files/" + name)
		if err != nil {
			return nil, err
		}
		files = append(files, plain(path.Join(scriptDir, name), "0755", string(data)))
	}
	return files, nil
}

func plain(p, mode, content string) File {
	return File{Path: p, Owner: "root:root", Permissions: mode, Content: content}
}

func secret(p string, content []byte) File {
	return File{Path: p, Owner: "root:root", Permissions: "0600", Content: string(content)}
}

// Render returns the user data of a node: a cloud-config document.
func Render(p *params.Params, o Options) ([]byte, error) {
	files, err := Files(p, o)
	if err != nil {
		return nil, err
	}
	var secrets []string
	for _, f := range files {
		if f.Secret() {
			secrets = append(secrets, f.Path)
		}
	}
	cc := cloudConfig{
		WriteFiles: files,
		RunCmd:     [][]string{{path.Join(scriptDir, "epks-node.sh")}},
		FinalMessage: "epks: the " + string(o.Role) + " node of cluster " + p.Name + " was prepared in $UPTIME s " +
			"(cloud-init reports an error if a step failed): each step's outcome is in /var/lib/epks/status, its output in /var/log/epks/",
	}
	body, err := yamlDocs(cc)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("#cloud-config\n")
	fmt.Fprintf(&b, "# epks %s: user data of a %s node of cluster %s on %s, by `epks cloud-init`.\n", o.Version, o.Role, p.Name, o.OS)
	fmt.Fprintf(&b, "# It holds secrets (%s): keep it as secret as the parameters file.\n", strings.Join(secrets, ", "))
	b.Write(body)
	return b.Bytes(), nil
}

func (o Options) check() error {
	var problems []string
	if !o.Role.Valid() {
		problems = append(problems, fmt.Sprintf("role %q is not one of %s", o.Role, RoleNames()))
	}
	if !o.OS.Valid() {
		problems = append(problems, fmt.Sprintf("os %q is not one of %s", o.OS, OSNames()))
	}
	if o.PKI == nil {
		problems = append(problems, "no PKI")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// NodeEnv returns /etc/epks/node.env: what the node scripts know of the
// parameters, as shell assignments. It holds no secret.
func NodeEnv(p *params.Params, o Options) string {
	ovs := "host"
	if p.OVSInContainer {
		ovs = "container"
	}
	mgmtCIDR := ""
	if p.MgmtNetCIDR.IsValid() {
		mgmtCIDR = p.MgmtNetCIDR.String()
	}
	vars := []struct{ name, value, doc string }{
		{"EPKS_ROLE", string(o.Role), "control-plane, control-plane-join or worker"},
		{"EPKS_OS", string(o.OS), ""},
		{"EPKS_CLUSTER", p.Name, "the parameters' name"},
		{"EPKS_KUBERNETES_VERSION", p.KubernetesVersion, ""},
		{"EPKS_PACKAGE_SOURCE", p.PackageSource, "apt or bundle"},
		{"EPKS_BUNDLE", p.OfflineBundlePath, "offline bundle: images/*.tar, debs/*.deb"},
		{"EPKS_NSX_PACKAGE", p.NSXPackagePath, "NCP package zip on the image, or empty"},
		{"EPKS_OVS", ovs, "host: br-int on the host's OVS; container: the node agent runs OVS"},
		{"EPKS_NETWORK_CONFIG", o.OS.networkConfig(), "netplan or ifupdown"},
		{"EPKS_POD_INTERFACE", p.PodInterface, "pod NIC by name, unless EPKS_POD_MACS is set"},
		{"EPKS_POD_MACS", strings.Join(p.PodInterfaceMACs, " "), "pod NIC by MAC"},
		{"EPKS_MTU", strconv.Itoa(p.MTU), ""},
		{"EPKS_MGMT_NET_CIDR", mgmtCIDR, "mgmt_net_cidr: the kubelet's node IP is this node's address in it"},
		{"EPKS_IMAGE", EPKSImage(p), "the image epks install runs from"},
		{"EPKS_RELEASE", names.Release, ""},
		{"EPKS_NAMESPACE", p.Namespace, ""},
		{"EPKS_INSTALL_TIMEOUT", installTimeout, ""},
	}
	var b strings.Builder
	b.WriteString("# Written by `epks cloud-init`: what the scripts of " + scriptDir + " know of the\n# parameters. No secret is here.\n")
	for _, v := range vars {
		if v.doc != "" {
			fmt.Fprintf(&b, "# %s\n", v.doc)
		}
		fmt.Fprintf(&b, "%s=%s\n", v.name, shellQuote(v.value))
	}
	return b.String()
}

// EPKSImage is the image the first control-plane node runs epks install
// from: epks_image, or the epks image `make images` builds, in image_registry
// when it is set.
func EPKSImage(p *params.Params) string {
	if p.EPKSImage != "" {
		return p.EPKSImage
	}
	registry := names.Registry
	if p.ImageRegistry != "" {
		registry = strings.TrimSuffix(p.ImageRegistry, "/")
	}
	return names.Image(registry, names.EPKSRepository, names.Version)
}

// shellQuote quotes s for sh: in single quotes, with each single quote
// closed, escaped and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// staticFiles are the configuration files the scripts read, the same for
// every cluster.
var staticFiles = []struct{ name, path string }{
	{"modules-load.conf", "/etc/modules-load.d/epks.conf"},
	{"sysctl.conf", "/etc/sysctl.d/90-epks.conf"},
	{"crictl.yaml", "/etc/crictl.yaml"},
}

// scripts lists the node scripts, sorted.
func scripts() []string {
	entries, _ := embedded.ReadDir("files")
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sh") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func join[T ~string](list []T) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// Gzip compresses user data; cloud-init unpacks gzipped user data itself.
func Gzip(data []byte) ([]byte, error) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
