package params

import (
	"errors"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Purpose says what a parameters file is read for: some keys are required
// for one purpose only.
type Purpose int

const (
	// ForAddons reads the file to render or install the add-ons.
	ForAddons Purpose = iota
	// ForNodes reads the file to prepare nodes (epks cloud-init): the
	// control-plane endpoint is required too.
	ForNodes
	// ForCluster reads the file to build the cluster's infrastructure (epks
	// cluster create): image, key_name and public_network are required, the
	// node networks get defaults and control_plane_endpoint defaults to the
	// first control-plane node's management address.
	ForCluster
)

// minKubeadmV1beta4Minor is the first Kubernetes minor whose kubeadm reads
// the v1beta4 configuration that epks cloud-init writes.
const minKubeadmV1beta4Minor = 31

var (
	kubeVersionRE = regexp.MustCompile(`^v1\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
	// nodePathRE keeps paths on the node image plain, so that they stay one
	// word in shell scripts and YAML alike.
	nodePathRE = regexp.MustCompile(`^/[A-Za-z0-9._/+-]*$`)
)

// nodes checks the keys of node preparation.
func (v *validator) nodes() {
	p := v.p
	if p.ControlPlaneEndpoint == "" {
		if v.purpose == ForNodes {
			v.required("control_plane_endpoint", false, " to prepare nodes: the address the nodes join the API server at")
		}
	} else if _, _, err := SplitEndpoint(p.ControlPlaneEndpoint); err != nil {
		v.add("control_plane_endpoint", "%q %v", p.ControlPlaneEndpoint, err)
	}
	for _, san := range p.ControlPlaneCertSANs {
		if _, err := netip.ParseAddr(san); err == nil {
			continue
		}
		if errs := validation.IsDNS1123Subdomain(strings.TrimPrefix(san, "*.")); len(errs) > 0 {
			v.add("control_plane_cert_sans", "%q is neither an IP address nor a DNS name", san)
		}
	}
	for i, m := range p.PodInterfaceMACs {
		hw, err := net.ParseMAC(m)
		if err != nil || len(hw) != 6 {
			v.add("pod_interface_mac", "%q is not a MAC address such as fa:16:3e:12:34:56", m)
			continue
		}
		p.PodInterfaceMACs[i] = hw.String()
	}
	if m := kubeVersionRE.FindStringSubmatch(p.KubernetesVersion); m == nil {
		v.add("kubernetes_version", "%q is not a Kubernetes release such as %s", p.KubernetesVersion, DefaultKubernetesVersion)
	} else if minor, _ := strconv.Atoi(m[1]); minor < minKubeadmV1beta4Minor {
		v.add("kubernetes_version", "%s is too old: epks writes kubeadm's v1beta4 configuration, which needs v1.%d or later",
			p.KubernetesVersion, minKubeadmV1beta4Minor)
	}
	if p.PackageSource != PackageSourceAPT && p.PackageSource != PackageSourceBundle {
		v.add("package_source", "%q is not one of %s, %s", p.PackageSource, PackageSourceAPT, PackageSourceBundle)
	}
	for _, k := range []struct{ key, value string }{
		{"offline_bundle_path", p.OfflineBundlePath}, {"nsx_package_path", p.NSXPackagePath},
	} {
		if k.value != "" && strings.HasPrefix(k.value, "/") && !nodePathRE.MatchString(k.value) {
			v.add(k.key, "%q must be a plain path: letters, digits and . _ + - /", k.value)
		}
	}
	if !strings.HasPrefix(p.OfflineBundlePath, "/") {
		v.add("offline_bundle_path", "must be an absolute path on the node image, got %q", p.OfflineBundlePath)
	}
	if p.EPKSImage != "" {
		if _, err := reference.ParseNormalizedNamed(p.EPKSImage); err != nil {
			v.add("epks_image", "%q is not an image reference: %v", p.EPKSImage, err)
		}
	}
}

// SplitEndpoint splits a control-plane endpoint, host or host:port, into
// its host and port (DefaultControlPlanePort when it has none). The host is
// an IP address or a DNS name.
func SplitEndpoint(endpoint string) (host string, port int, err error) {
	host, port = endpoint, DefaultControlPlanePort
	if h, ps, splitErr := net.SplitHostPort(endpoint); splitErr == nil {
		n, perr := strconv.Atoi(ps)
		if perr != nil || n < 1 || n > 65535 {
			return "", 0, errors.New("has an invalid port")
		}
		host, port = h, n
	} else if strings.Count(endpoint, ":") > 1 {
		// An IPv6 address without a port.
		host = strings.Trim(endpoint, "[]")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", 0, errors.New("has an IPv6 zone (%...): give the address alone")
		}
		return host, port, nil
	}
	if errs := validation.IsDNS1123Subdomain(host); len(errs) > 0 {
		return "", 0, errors.New("is not host or host:port with an IP address or a DNS name")
	}
	return host, port, nil
}
