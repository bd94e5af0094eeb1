package bundle

import (
	"strings"

	"github.com/epks/epks/pkg/images"
	"github.com/epks/epks/pkg/names"
)

// UpstreamRegistry is the registry in the names of the upstream images:
// kubeadm's default imageRepository and the chart's registry, so that
// neither needs changing for the imported images.
const UpstreamRegistry = "registry.k8s.io"

// UpstreamImage is an image of the bundle made of one binary built from a
// pinned module (hack/build-tools.sh).
type UpstreamImage struct {
	// Repository and Tag make the name, registry.k8s.io/<repository>:<tag>.
	Repository, Tag string
	// Binary is the name of the cached binary, also the entrypoint.
	Binary string
	// User is what the image runs as: 0:0 as upstream's images, unless set.
	User string
	// Debian lists Debian packages whose files (with all their dependencies,
	// unpacked without maintainer scripts) the binary needs in the image.
	Debian []string
	// Links are symlinks to make in that layer (path: target), for what
	// Debian's maintainer scripts would have made (update-alternatives).
	Links map[string]string
	// Dir is where upstream's image has the binary [/usr/local/bin, as the
	// Kubernetes components']: manifests name it there, such as the chart's
	// command of the cloud provider's images.
	Dir string
}

// Ref is the image's name.
func (u UpstreamImage) Ref() string { return names.Image(UpstreamRegistry, u.Repository, u.Tag) }

// Spec is the image's build spec for pkg/images.
func (u UpstreamImage) Spec() images.Spec {
	user := u.User
	if user == "" {
		user = "0:0"
	}
	return images.Spec{Repository: u.Repository, Binary: u.Binary, User: user, Dir: u.Dir,
		Package:     "(" + u.Binary + " built by hack/build-tools.sh)",
		Description: u.Binary + " built by epks from its pinned Go module"}
}

// TarballName is the file name of the image's tarball in images/.
func (u UpstreamImage) TarballName() string {
	return strings.ReplaceAll(u.Repository, "/", "_") + "_" + u.Tag + ".tar"
}

// Versions are the pinned versions the bundle is made of (hack/versions.env),
// plus the tags kubeadm names for etcd and pause.
type Versions struct {
	Kubernetes, CloudProviderOpenStack, Etcd, CoreDNS, CRITools string
	Provisioner, Attacher, Snapshotter, Resizer                 string
	// EtcdTag and PauseTag are kubeadm's names: 3.6.8-0 and 3.10.2.
	EtcdTag, PauseTag string
}

// PauseVersion is the version of the bundle's pause binary (hack/bundle/pause).
const PauseVersion = "epks-1"

// UpstreamImages are the images of the Kubernetes components, the cloud
// provider, the CSI sidecars and the snapshot-controller, named as kubeadm
// and the chart name them.
func UpstreamImages(v Versions) []UpstreamImage {
	// kube-proxy programs the node's packet filter with iptables (or nft):
	// upstream's image carries Debian's; so does this one.
	iptables := map[string]string{}
	for _, t := range []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"} {
		iptables["usr/sbin/"+t] = "xtables-nft-multi"
	}
	return []UpstreamImage{
		{Repository: "kube-apiserver", Tag: v.Kubernetes, Binary: "kube-apiserver"},
		{Repository: "kube-controller-manager", Tag: v.Kubernetes, Binary: "kube-controller-manager"},
		{Repository: "kube-scheduler", Tag: v.Kubernetes, Binary: "kube-scheduler"},
		{Repository: "kube-proxy", Tag: v.Kubernetes, Binary: "kube-proxy",
			Debian: []string{"iptables", "nftables", "conntrack"}, Links: iptables},
		{Repository: "etcd", Tag: v.EtcdTag, Binary: "etcd"},
		{Repository: "coredns/coredns", Tag: v.CoreDNS, Binary: "coredns", User: "65532:65532", Dir: "/"},
		{Repository: "pause", Tag: v.PauseTag, Binary: "pause", User: "65535:65535", Dir: "/"},
		{Repository: "provider-os/openstack-cloud-controller-manager", Tag: v.CloudProviderOpenStack, Binary: "openstack-cloud-controller-manager", Dir: "/bin"},
		{Repository: "provider-os/cinder-csi-plugin", Tag: v.CloudProviderOpenStack, Binary: "cinder-csi-plugin", Dir: "/bin",
			// The node plugin formats, checks and mounts volumes with the tools of the host's kind.
			Debian: []string{"mount", "util-linux", "e2fsprogs", "xfsprogs", "udev"}},
		{Repository: "sig-storage/csi-provisioner", Tag: v.Provisioner, Binary: "csi-provisioner", Dir: "/"},
		{Repository: "sig-storage/csi-attacher", Tag: v.Attacher, Binary: "csi-attacher", Dir: "/"},
		{Repository: "sig-storage/csi-snapshotter", Tag: v.Snapshotter, Binary: "csi-snapshotter", Dir: "/"},
		{Repository: "sig-storage/csi-resizer", Tag: v.Resizer, Binary: "csi-resizer", Dir: "/"},
		{Repository: "sig-storage/snapshot-controller", Tag: v.Snapshotter, Binary: "snapshot-controller", Dir: "/"},
	}
}
