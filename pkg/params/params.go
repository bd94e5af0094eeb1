// Package params reads and checks the parameters file of an epks cluster.
//
// The file is the seed's HEAT environment file, accepted as it is: a
// "parameters:" map (or "parameter_defaults:", or a flat map) whose keys are
// the runbook's, plus optional keys for what the seed lacks. Every key is
// described once, in the table of keys.go, which drives parsing, defaults,
// validation and the generated docs/parameters.md.
package params

import (
	"net/netip"
)

// Choices of nsx_api_mode, load_balancer_provider and package_source.
const (
	NSXAPIManager = "manager"
	NSXAPIPolicy  = "policy"

	LBProviderNSX     = "nsx"
	LBProviderOctavia = "octavia"

	PackageSourceAPT    = "apt"
	PackageSourceBundle = "bundle"
)

// Params is a checked parameters file with its defaults applied and the
// files it names read.
type Params struct {
	// BaseDir is the directory of the parameters file; relative file
	// parameters are resolved against it.
	BaseDir string

	// --- Keys of the runbook's tables ---

	Image          string // Glance image of the nodes (node provisioning)
	KeyName        string // Nova key pair of the nodes (node provisioning)
	PublicNetwork  string // external network for floating IPs
	Name           string // cluster name: node names and NCP's cluster tag
	NodeCount      int    // worker nodes
	NSXPackagePath string // NCP package on the node image (node provisioning)
	MgmtNetCIDR    netip.Prefix
	APINetCIDR     netip.Prefix
	NSXPodNetCIDR  netip.Prefix // Neutron subnet of the pod NICs
	PodNetworkCIDR netip.Prefix // Kubernetes pod IPs
	Nameserver     netip.Addr
	KubeToken      string // kubeadm bootstrap token

	NSXAPIManagers []string // nsx_api_manager followed by nsx_api_managers
	NSXUsername    string
	NSXPassword    string
	Tier0Router    string
	OverlayTZ      string
	IPBlock        string
	ExternalIPPool string

	OSUsername string
	OSPassword string
	OSTenantID string
	OSDomainID string

	KeystoneIP       netip.Addr
	KeystoneHostname string
	NovaIP           netip.Addr
	NovaHostnames    []string
	CinderIP         netip.Addr
	CinderHostnames  []string

	// Endpoints the seed's components did not call: the OCCM calls Neutron,
	// Octavia (load_balancer_provider: octavia) and Barbican (TLS
	// listeners), the port tagger Neutron. Their IPs default to KeystoneIP:
	// VIO serves every public endpoint on one address.
	NeutronIP         netip.Addr
	NeutronHostnames  []string
	OctaviaIP         netip.Addr
	OctaviaHostnames  []string
	BarbicanIP        netip.Addr
	BarbicanHostnames []string

	// --- Our additions ---

	IPAccess                      bool
	OSAuthURL                     string
	OSRegion                      string
	OSProjectDomainID             string
	OSApplicationCredentialID     string
	OSApplicationCredentialSecret string
	OSInsecure                    bool
	OSCAFile                      string // absolute path, or ""
	NovaCertFile                  string // absolute path, used when IPAccess is false
	CinderCertFile                string // absolute path, used when IPAccess is false

	NSXCAFile   string
	NSXInsecure bool
	// NSXThumbprints are SHA-256 thumbprints of the NSX Managers' leaf
	// certificates: 64 lower-case hex digits each, without colons.
	NSXThumbprints    []string
	NSXClientCertFile string
	NSXClientKeyFile  string
	NSXAPIMode        string

	ImageRegistry string
	NCPImage      string

	ServiceCIDR       netip.Prefix
	KubeAPIServerHost string
	KubeAPIServerPort int

	LoadBalancerProvider string
	LBFloatingNetwork    string
	LBSubnet             string

	// MgmtNetwork is the Neutron network of the nodes' management NICs: the
	// OCCM reports only its addresses as the nodes' InternalIPs.
	MgmtNetwork string

	PodNetwork   string
	PodInterface string
	MTU          int

	// OVSInContainer runs OVS in the node agent's container instead of on
	// the nodes.
	OVSInContainer bool

	// --- Node preparation (epks cloud-init) ---

	ControlPlaneEndpoint string   // host or host:port
	ControlPlaneCertSANs []string // IPs and DNS names
	PodInterfaceMACs     []string // lower-case, colon-separated
	KubernetesVersion    string   // v1.MINOR.PATCH
	PackageSource        string   // PackageSourceAPT or PackageSourceBundle
	OfflineBundlePath    string   // absolute path on the node image
	EPKSImage            string   // image of the epks binary

	StorageClassName        string
	VolumeSnapshotClassName string
	CinderVolumeType        string
	CinderAvailabilityZone  string

	Namespace string

	// --- Infrastructure (epks cluster create/plan/delete/heat-template) ---

	Flavor            string       // Nova flavor of the nodes
	ControlPlaneCount int          // control-plane nodes
	APIAccessCIDR     netip.Prefix // who else may reach 6443, or invalid
	FloatingIPs       string       // FloatingIPsAll or FloatingIPsControlPlane

	// --- Read from the files the parameters name ---

	// OpenStackCA is the PEM bundle of os_ca_file, or, with IP access
	// disabled, of the nova and cinder certificates. It is empty when the
	// CA must be fetched from Keystone's TLS handshake (see pkg/certs).
	OpenStackCA []byte
	// NSXCA is the PEM bundle of nsx_ca_file, or empty.
	NSXCA []byte
	// NSXClientCert and NSXClientKey are the PEM contents of
	// nsx_client_cert_file and nsx_client_key_file, or empty.
	NSXClientCert []byte
	NSXClientKey  []byte
}

// HostAlias is one /etc/hosts line the pods get, as the seed's stack wrote
// them on the nodes.
type HostAlias struct {
	IP        netip.Addr
	Hostnames []string
}

// HostAliases returns the Keystone, Nova, Cinder, Neutron, Octavia and
// Barbican names with their IPs, merged by IP, in that order. It is empty
// when no hostname is set.
func (p *Params) HostAliases() []HostAlias {
	var out []HostAlias
	add := func(ip netip.Addr, names ...string) {
		if !ip.IsValid() || len(names) == 0 {
			return
		}
		for i := range out {
			if out[i].IP == ip {
				for _, n := range names {
					if !contains(out[i].Hostnames, n) {
						out[i].Hostnames = append(out[i].Hostnames, n)
					}
				}
				return
			}
		}
		out = append(out, HostAlias{IP: ip, Hostnames: append([]string(nil), names...)})
	}
	if p.KeystoneHostname != "" {
		add(p.KeystoneIP, p.KeystoneHostname)
	}
	add(p.NovaIP, p.NovaHostnames...)
	add(p.CinderIP, p.CinderHostnames...)
	add(p.NeutronIP, p.NeutronHostnames...)
	add(p.OctaviaIP, p.OctaviaHostnames...)
	add(p.BarbicanIP, p.BarbicanHostnames...)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
