package params

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/util/validation"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"

	"github.com/epks/epks/pkg/certs"
	"github.com/epks/epks/pkg/names"
)

// Defaults of our additions.
const (
	DefaultRegion                  = "nova"
	DefaultServiceCIDR             = "10.96.0.0/12"
	DefaultKubeAPIServerPort       = 443
	DefaultMTU                     = 1500
	DefaultStorageClassName        = "cinder"
	DefaultVolumeSnapshotClassName = "cinder-snapshot"
	DefaultPodInterface            = "ens224"
	DefaultKubernetesVersion       = "v1.36.2"
	DefaultOfflineBundlePath       = "/opt/epks"
	DefaultControlPlanePort        = 6443
	keystonePort                   = 5000

	// NodeCIDRMaskIPv4 and NodeCIDRMaskIPv6 are the sizes of the pod range
	// of each node: kube-controller-manager's node-cidr-mask-size defaults,
	// which kubeadm keeps.
	NodeCIDRMaskIPv4 = 24
	NodeCIDRMaskIPv6 = 64

	// maxNameLength keeps node names derived from the cluster name (such as
	// "<name>-minion-99") within a DNS label.
	maxNameLength = 48
)

type validator struct {
	p *Params
	// given holds the keys the file set; failed those it set to values that
	// did not decode (they have a problem already).
	given, failed map[string]bool
	ps            *problems
	now           time.Time
	purpose       Purpose
	// managerKeys says which key gave each NSX Manager.
	managerKeys []string
}

func (v *validator) add(key, format string, args ...any) { v.ps.add(key, format, args...) }

// defaults fills what the file left out. Defaults that depend on other keys
// are computed from what the file gave.
func (v *validator) defaults() {
	p := v.p
	v.clusterDefaults()
	if !v.given["ip_access"] {
		p.IPAccess = !(v.given["keystone_hostname"] || v.given["nova_hostnames"] || v.given["cinder_hostnames"])
	}
	if p.OSRegion == "" {
		p.OSRegion = DefaultRegion
	}
	if p.OSProjectDomainID == "" {
		p.OSProjectDomainID = p.OSDomainID
	}
	if p.OSAuthURL == "" {
		host := p.KeystoneHostname
		if p.IPAccess || host == "" {
			if p.KeystoneIP.IsValid() {
				host = p.KeystoneIP.String()
			}
		}
		if host != "" {
			p.OSAuthURL = "https://" + net.JoinHostPort(host, strconv.Itoa(keystonePort)) + "/v3"
		}
	}
	// VIO serves every public endpoint on one address, Keystone's.
	for _, e := range p.extraEndpoints() {
		if !e.ip.IsValid() && len(*e.names) > 0 {
			*e.ip = p.KeystoneIP
		}
	}
	if !p.ServiceCIDR.IsValid() {
		p.ServiceCIDR = netip.MustParsePrefix(DefaultServiceCIDR)
	}
	// NCP and the node agents reach the API server at the control-plane
	// endpoint when there is one: that needs no service routing, which NCP
	// itself provides.
	if host, port, err := SplitEndpoint(p.ControlPlaneEndpoint); p.KubeAPIServerHost == "" && p.ControlPlaneEndpoint != "" && err == nil {
		p.KubeAPIServerHost = host
		if !v.given["kube_apiserver_port"] {
			p.KubeAPIServerPort = port
		}
	}
	if p.KubeAPIServerHost == "" && p.ServiceCIDR.IsValid() {
		p.KubeAPIServerHost = p.ServiceCIDR.Addr().Next().String()
	}
	if p.KubeAPIServerPort == 0 && !v.given["kube_apiserver_port"] {
		p.KubeAPIServerPort = DefaultKubeAPIServerPort
	}
	if p.LoadBalancerProvider == "" {
		p.LoadBalancerProvider = LBProviderNSX
	}
	if p.LBFloatingNetwork == "" {
		p.LBFloatingNetwork = p.PublicNetwork
	}
	if p.PodInterface == "" {
		p.PodInterface = DefaultPodInterface
	}
	if p.MTU == 0 && !v.given["mtu"] {
		p.MTU = DefaultMTU
	}
	if p.StorageClassName == "" {
		p.StorageClassName = DefaultStorageClassName
	}
	if p.VolumeSnapshotClassName == "" {
		p.VolumeSnapshotClassName = DefaultVolumeSnapshotClassName
	}
	if p.Namespace == "" {
		p.Namespace = names.Namespace
	}
	if p.KubernetesVersion == "" {
		p.KubernetesVersion = DefaultKubernetesVersion
	}
	if p.PackageSource == "" {
		p.PackageSource = PackageSourceAPT
	}
	if p.OfflineBundlePath == "" {
		p.OfflineBundlePath = DefaultOfflineBundlePath
	}
	if !p.IPAccess && p.OSCAFile == "" {
		if p.NovaCertFile == "" {
			p.NovaCertFile = "nova.crt"
		}
		if p.CinderCertFile == "" {
			p.CinderCertFile = "cinder.crt"
		}
	}
	for _, f := range []*string{&p.OSCAFile, &p.NovaCertFile, &p.CinderCertFile, &p.NSXCAFile, &p.NSXClientCertFile, &p.NSXClientKeyFile} {
		if *f != "" && !filepath.IsAbs(*f) && p.BaseDir != "" {
			*f = filepath.Join(p.BaseDir, *f)
		}
	}
}

// required reports a missing key. It is quiet about keys that were given but
// failed to decode: they have their own problem already.
func (v *validator) required(name string, set bool, why string) {
	if set || v.given[name] || v.failed[name] {
		return
	}
	v.add(name, "is required%s", why)
}

func (v *validator) validate() {
	p := v.p
	v.required("name", p.Name != "", "")
	v.required("node_count", false, "")
	v.required("pod_network_cidr", p.PodNetworkCIDR.IsValid(), "")
	v.required("kube_token", p.KubeToken != "", "")
	v.required("nsx_api_manager", len(p.NSXAPIManagers) > 0, "")
	v.required("keystone_ip", p.KeystoneIP.IsValid(), "")
	for _, k := range []struct {
		name  string
		value string
	}{
		{"tier0_router", p.Tier0Router}, {"overlay_tz", p.OverlayTZ}, {"ip_block", p.IPBlock},
		{"external_ip_pool", p.ExternalIPPool}, {"os_tenant_id", p.OSTenantID}, {"os_domain_id", p.OSDomainID},
	} {
		v.nonEmpty(k.name, k.value, "")
	}

	if v.given["name"] {
		v.dnsLabel("name", p.Name, maxNameLength)
	}
	if v.given["node_count"] && p.NodeCount < 1 {
		v.add("node_count", "must be at least 1, got %d", p.NodeCount)
	}
	if p.KubeToken != "" && !bootstraputil.IsValidBootstrapToken(p.KubeToken) {
		// Never the value: the token lets a machine join the cluster.
		v.add("kube_token", "is not a kubeadm bootstrap token: it must be 6 and 16 lower-case letters or digits joined by a dot, like abcdef.0123456789abcdef")
	}
	if v.given["nsx_package_path"] && !strings.HasPrefix(p.NSXPackagePath, "/") {
		v.add("nsx_package_path", "must be an absolute path on the node image, got %q", p.NSXPackagePath)
	}

	v.credentials()
	v.ipAccess()
	v.networks()
	v.endpoints()
	v.choices()
	v.nodes()
	v.ncpINI()
	v.cluster()
}

// ncpINI refuses what NCP cannot read back from ncp.ini. NCP reads it with
// oslo.config, which takes \$ for $ (so a backslash before a $ is lost),
// and splits list options on commas and strips their items: nsxlib declares
// the NSX user, password, managers, IP blocks and pools as lists.
func (v *validator) ncpINI() {
	p := v.p
	for _, k := range []struct {
		key, value string
		list       bool
	}{
		{"nsx_username", p.NSXUsername, true}, {"nsx_password", p.NSXPassword, true},
		{"ip_block", p.IPBlock, true}, {"external_ip_pool", p.ExternalIPPool, true},
		{"tier0_router", p.Tier0Router, false}, {"overlay_tz", p.OverlayTZ, false},
		{"pod_interface", p.PodInterface, false},
	} {
		if k.value == "" {
			continue
		}
		secret := k.key == "nsx_username" || k.key == "nsx_password"
		way := "rename it in NSX and give the new name"
		if secret {
			way = "change it, or use an NSX principal identity instead (nsx_client_cert_file and nsx_client_key_file)"
		}
		switch {
		case strings.Contains(k.value, `\$`):
			v.add(k.key, "holds a backslash before a $, which NCP's configuration reader (oslo.config) turns into a plain $: %s", way)
		case k.list && strings.Contains(k.value, ","):
			v.add(k.key, "holds a comma, but NCP reads this option as a comma-separated list (oslo.config), so it would get several values: %s", way)
		case k.list && strings.TrimSpace(k.value) != k.value:
			v.add(k.key, "starts or ends with white space, which NCP's configuration reader (oslo.config) strips from list options: %s", way)
		}
	}
}

// nonEmpty requires a name-or-UUID style value.
func (v *validator) nonEmpty(name, value, why string) {
	if strings.TrimSpace(value) == "" {
		if v.given[name] {
			v.add(name, "must not be blank")
			return
		}
		v.required(name, false, why)
	}
}

func (v *validator) dnsLabel(name, value string, max int) {
	if errs := validation.IsDNS1123Label(value); len(errs) > 0 {
		v.add(name, "%q is not a DNS label: %s", value, errs[0])
		return
	}
	if len(value) > max {
		v.add(name, "%q is longer than %d characters", value, max)
	}
}

// pair checks two keys that go together, and that the pair does not clash
// with an alternative pair.
func (v *validator) pair(a, b string, aSet, bSet bool) bool {
	switch {
	case aSet && !bSet:
		v.add(b, "is required together with %s", a)
	case bSet && !aSet:
		v.add(a, "is required together with %s", b)
	}
	return aSet && bSet
}

func (v *validator) credentials() {
	p := v.p
	appCred := v.pair("os_application_credential_id", "os_application_credential_secret",
		p.OSApplicationCredentialID != "", p.OSApplicationCredentialSecret != "")
	password := p.OSUsername != "" || p.OSPassword != ""
	switch {
	case appCred && password:
		v.add("os_username", "give either os_username/os_password or an application credential, not both")
	case !appCred && p.OSApplicationCredentialID == "" && p.OSApplicationCredentialSecret == "":
		v.required("os_username", p.OSUsername != "", " (or os_application_credential_id and os_application_credential_secret)")
		v.required("os_password", p.OSPassword != "", " (or an application credential)")
	}

	cert := v.pair("nsx_client_cert_file", "nsx_client_key_file", p.NSXClientCertFile != "", p.NSXClientKeyFile != "")
	nsxPassword := p.NSXUsername != "" || p.NSXPassword != ""
	switch {
	case cert && nsxPassword:
		v.add("nsx_username", "give either nsx_username/nsx_password or nsx_client_cert_file/nsx_client_key_file, not both")
	case !cert && p.NSXClientCertFile == "" && p.NSXClientKeyFile == "":
		v.required("nsx_username", p.NSXUsername != "", " (or nsx_client_cert_file and nsx_client_key_file)")
		v.required("nsx_password", p.NSXPassword != "", " (or a client certificate)")
	}
}

// ipAccess enforces what VIO's "IP access" mode needs: with it disabled the
// endpoints are reached by name, so the names, their IPs and the endpoint
// certificates are required.
func (v *validator) ipAccess() {
	p := v.p
	if !p.IPAccess {
		why := " because ip_access is false"
		if !v.given["ip_access"] {
			why = " because host names are set (IP access disabled)"
		}
		v.required("keystone_hostname", p.KeystoneHostname != "", why)
		v.required("nova_ip", p.NovaIP.IsValid(), why)
		v.required("nova_hostnames", len(p.NovaHostnames) > 0, why)
		v.required("cinder_ip", p.CinderIP.IsValid(), why)
		v.required("cinder_hostnames", len(p.CinderHostnames) > 0, why)
	}
	if p.KeystoneHostname != "" {
		v.hostname("keystone_hostname", p.KeystoneHostname)
	}
	for _, h := range []struct {
		key   string
		names []string
	}{{v.spelled("nova_hostnames"), p.NovaHostnames}, {v.spelled("cinder_hostnames"), p.CinderHostnames}} {
		for _, n := range h.names {
			v.hostname(h.key, n)
		}
	}
	for _, e := range p.extraEndpoints() {
		key := v.spelled(e.service + "_hostnames")
		for _, n := range *e.names {
			v.hostname(key, n)
		}
		if v.given[e.service+"_ip"] && len(*e.names) == 0 {
			v.add(e.service+"_ip", "is set but %s_hostnames is not: the pods reach an endpoint by the host name in Keystone's catalog, so give its host names", e.service)
		}
	}
	v.hostnamesOnce()
}

// endpoint is one endpoint the pods resolve through hostAliases: its
// parameters and their fields.
type endpoint struct {
	service string // the parameters' prefix: nova, neutron, ...
	ip      *netip.Addr
	names   *[]string
}

// extraEndpoints are the endpoints beyond the seed's Keystone, Nova and
// Cinder, whose IPs default to Keystone's.
func (p *Params) extraEndpoints() []endpoint {
	return []endpoint{
		{"neutron", &p.NeutronIP, &p.NeutronHostnames},
		{"octavia", &p.OctaviaIP, &p.OctaviaHostnames},
		{"barbican", &p.BarbicanIP, &p.BarbicanHostnames},
	}
}

// hostnamesOnce refuses a host name given for two different IPs: the pods'
// /etc/hosts would send it to the first.
func (v *validator) hostnamesOnce() {
	p := v.p
	type at struct {
		key string
		ip  netip.Addr
	}
	seen := map[string]at{}
	check := func(key string, ip netip.Addr, names []string) {
		if !ip.IsValid() {
			return
		}
		for _, n := range names {
			n = strings.ToLower(n)
			if first, ok := seen[n]; ok && first.ip != ip {
				v.add(key, "%q is %s at %s already, so it cannot be at %s too: a host name has one address in the pods' /etc/hosts", n, first.key, first.ip, ip)
				continue
			}
			seen[n] = at{key, ip}
		}
	}
	if p.KeystoneHostname != "" {
		check("keystone_hostname", p.KeystoneIP, []string{p.KeystoneHostname})
	}
	check(v.spelled("nova_hostnames"), p.NovaIP, p.NovaHostnames)
	check(v.spelled("cinder_hostnames"), p.CinderIP, p.CinderHostnames)
	for _, e := range p.extraEndpoints() {
		check(v.spelled(e.service+"_hostnames"), *e.ip, *e.names)
	}
}

// spelled returns the spelling of a key the file used (an alias or not).
func (v *validator) spelled(canonical string) string {
	for alias, c := range aliases {
		if c == canonical && v.given[alias] && v.ps.lines[canonical] == v.ps.lines[alias] {
			return alias
		}
	}
	return canonical
}

func (v *validator) hostname(key, name string) {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		v.add(key, "%q is not a valid host name: %s", name, errs[0])
	}
}

// networks checks that the pod, service and node networks do not overlap:
// overlapping ranges make traffic to one of them go to the other.
func (v *validator) networks() {
	p := v.p
	nets := []struct {
		key string
		pfx netip.Prefix
	}{
		{"pod_network_cidr", p.PodNetworkCIDR},
		{"service_cidr", p.ServiceCIDR},
		{"mgmt_net_cidr", p.MgmtNetCIDR},
		{"api_net_cidr", p.APINetCIDR},
		{"nsx_pod_net_cidr", p.NSXPodNetCIDR},
	}
	for i := range nets {
		for j := 0; j < i; j++ {
			a, b := nets[j], nets[i]
			if a.pfx.IsValid() && b.pfx.IsValid() && a.pfx.Overlaps(b.pfx) {
				v.add(b.key, "%s overlaps %s %s", b.pfx, a.key, a.pfx)
			}
		}
	}
	// kube-controller-manager gives every node a range of the pod network
	// of kubeadm's node mask; a smaller pod network fails at kubeadm init.
	if pfx := p.PodNetworkCIDR; pfx.IsValid() {
		mask, family := NodeCIDRMaskIPv4, "IPv4"
		if pfx.Addr().Is6() {
			mask, family = NodeCIDRMaskIPv6, "IPv6"
		}
		switch {
		case pfx.Bits() > mask:
			v.add("pod_network_cidr", "%s is smaller than one node's pod range: kubeadm gives every node a /%d of it (node-cidr-mask-size for %s); use a /%d or larger", pfx, mask, family, mask)
		case mask-pfx.Bits() > 16:
			v.add("pod_network_cidr", "%s is too large for kubeadm's /%d node ranges: kube-controller-manager allows at most 16 bits between them (a /%d)", pfx, mask, mask-16)
		}
	}
	// kube-apiserver refuses service ranges of more than 2^20 addresses.
	if s := p.ServiceCIDR; s.IsValid() && s.Addr().BitLen()-s.Bits() > 20 {
		v.add("service_cidr", "%s is too large: Kubernetes allows at most 2^20 service IPs (/%d for this family)", s, s.Addr().BitLen()-20)
	}
	if p.MTU != 0 || v.given["mtu"] {
		if p.MTU < 1280 || p.MTU > 9000 {
			v.add("mtu", "%d is out of range 1280 to 9000", p.MTU)
		}
	}
}

// endpoints checks the URLs and addresses components connect to. The URLs
// are never quoted in messages: a wrong one may hold a password.
func (v *validator) endpoints() {
	p := v.p
	if p.OSAuthURL != "" {
		u, err := url.Parse(p.OSAuthURL)
		switch {
		case err != nil || u.Host == "":
			v.add("os_auth_url", "is not a URL such as https://keystone.example.com:5000/v3")
		case u.User != nil:
			v.add("os_auth_url", "must not hold user information (user:password@): give the credentials as os_username and os_password")
		case u.RawQuery != "" || u.ForceQuery:
			v.add("os_auth_url", "must not have a query (?...): it would be sent with every request and shown in the components' configuration")
		case u.Fragment != "" || strings.Contains(p.OSAuthURL, "#"):
			v.add("os_auth_url", "must not have a fragment (#...)")
		case strings.Contains(u.Hostname(), "%"):
			v.add("os_auth_url", "has an IPv6 zone (%%...) in its host, which the OpenStack clients cannot use: give the address alone")
		case u.Scheme == "http" && !p.OSInsecure:
			v.add("os_auth_url", "uses http, which sends the OpenStack password in clear text; use https (or set os_insecure: true for a lab)")
		case u.Scheme != "https" && u.Scheme != "http":
			v.add("os_auth_url", "scheme %q is not https", Printable(u.Scheme))
		}
	}
	for i, m := range p.NSXAPIManagers {
		if err := checkManager(m); err != nil {
			key := "nsx_api_manager"
			if i < len(v.managerKeys) {
				key = v.managerKeys[i]
			}
			v.add(key, "manager %d of %d %v", i+1, len(p.NSXAPIManagers), err)
		}
	}
	v.thumbprints()
	if h := p.KubeAPIServerHost; h != "" {
		if a, err := netip.ParseAddr(h); err != nil {
			if errs := validation.IsDNS1123Subdomain(h); len(errs) > 0 {
				v.add("kube_apiserver_host", "%q is neither an IP address nor a host name", h)
			}
		} else if a.Zone() != "" {
			v.add("kube_apiserver_host", "%q has an IPv6 zone (%%...): give the address alone", h)
		}
	}
	if p.KubeAPIServerPort < 1 || p.KubeAPIServerPort > 65535 {
		v.add("kube_apiserver_port", "%d is not a TCP port (1 to 65535)", p.KubeAPIServerPort)
	}
}

// checkManager checks one NSX Manager address: host, host:port or
// https://host[:port]. Its errors never quote the address.
func checkManager(m string) error {
	hostport := m
	if strings.Contains(m, "@") {
		return fmt.Errorf("must not hold user information (user:password@): give the credentials as nsx_username and nsx_password, or use a principal identity (nsx_client_cert_file)")
	}
	if strings.Contains(m, "://") {
		u, err := url.Parse(m)
		if err != nil {
			return fmt.Errorf("is not a URL")
		}
		if u.Scheme != "https" {
			return fmt.Errorf("must use https, not %q", Printable(u.Scheme))
		}
		if u.RawQuery != "" || u.ForceQuery {
			return fmt.Errorf("must not have a query (?...)")
		}
		if u.Fragment != "" || strings.Contains(m, "#") {
			return fmt.Errorf("must not have a fragment (#...)")
		}
		if u.Path != "" && u.Path != "/" {
			return fmt.Errorf("must not have a path")
		}
		hostport = u.Host
	} else if strings.ContainsAny(m, "?#/") {
		return fmt.Errorf("must be host, host:port or https://host[:port], without a path, query or fragment")
	}
	host := hostport
	if h, port, err := net.SplitHostPort(hostport); err == nil {
		n, perr := strconv.Atoi(port)
		if perr != nil || n < 1 || n > 65535 {
			return fmt.Errorf("has an invalid port")
		}
		host = h
	}
	if strings.Contains(host, "%") && strings.Contains(host, ":") {
		return fmt.Errorf("has an IPv6 zone (%%...), which NCP cannot use: give the address alone")
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if errs := validation.IsDNS1123Subdomain(host); len(errs) > 0 {
		return fmt.Errorf("is not an IP address or host name")
	}
	return nil
}

// choices checks enumerations and Kubernetes names.
func (v *validator) choices() {
	p := v.p
	switch p.LoadBalancerProvider {
	case LBProviderNSX:
	case LBProviderOctavia:
		if p.LBFloatingNetwork == "" {
			v.add("lb_floating_network", "is required with load_balancer_provider: octavia (or set public_network)")
		}
	default:
		v.add("load_balancer_provider", "%q is not one of %s, %s", p.LoadBalancerProvider, LBProviderNSX, LBProviderOctavia)
	}
	v.nsxAPIMode()
	v.dnsLabel("namespace", p.Namespace, validation.DNS1123LabelMaxLength)
	for _, k := range []struct{ key, value string }{
		{"storage_class_name", p.StorageClassName}, {"volume_snapshot_class_name", p.VolumeSnapshotClassName},
	} {
		if errs := validation.IsDNS1123Subdomain(k.value); len(errs) > 0 {
			v.add(k.key, "%q is not a Kubernetes object name: %s", k.value, errs[0])
		}
	}
	if r := p.ImageRegistry; r != "" {
		if strings.Contains(r, "://") {
			v.add("image_registry", "%q must be a registry host such as registry.local, without a scheme", r)
		} else if _, err := reference.ParseNormalizedNamed(strings.TrimSuffix(r, "/") + "/image"); err != nil {
			v.add("image_registry", "%q is not a registry such as registry.local[:port][/path]: %v", r, err)
		}
	}
	if p.NCPImage != "" {
		if _, err := reference.ParseNormalizedNamed(p.NCPImage); err != nil {
			v.add("ncp_image", "%q is not an image reference: %v", p.NCPImage, err)
		}
	}
	if p.PodInterface != "" && (len(p.PodInterface) > 15 || strings.ContainsAny(p.PodInterface, "/ \t:")) {
		v.add("pod_interface", "%q is not a Linux interface name", p.PodInterface)
	}
}

// readFiles reads the files the parameters name and checks their contents.
func (v *validator) readFiles() {
	p := v.p
	var caFiles []string
	switch {
	case p.OSCAFile != "":
		caFiles = []string{"os_ca_file"}
	case !p.IPAccess:
		caFiles = []string{"nova_cert_file", "cinder_cert_file"}
	}
	var bundle [][]byte
	for _, key := range caFiles {
		if pem := v.readCertificates(key, v.pathOf(key)); pem != nil {
			bundle = append(bundle, pem)
		}
	}
	if len(bundle) == len(caFiles) && len(caFiles) > 0 {
		p.OpenStackCA = joinBundles(v.now, bundle...)
	}
	if p.NSXCAFile != "" {
		p.NSXCA = v.readCertificates("nsx_ca_file", p.NSXCAFile)
	}
	if p.NSXClientCertFile != "" && p.NSXClientKeyFile != "" {
		cert, certErr := ReadFile(p.NSXClientCertFile, MaxFileSize)
		key, keyErr := ReadFile(p.NSXClientKeyFile, MaxFileSize)
		switch {
		case certErr != nil:
			v.add("nsx_client_cert_file", "cannot be read: %v", unwrapPathError(certErr))
		case keyErr != nil:
			v.add("nsx_client_key_file", "cannot be read: %v", unwrapPathError(keyErr))
		default:
			if err := certs.CheckKeyPair(cert, key, v.now); err != nil {
				v.add("nsx_client_cert_file", "%s: %v", p.NSXClientCertFile, err)
			} else {
				p.NSXClientCert, p.NSXClientKey = cert, key
			}
		}
	}
}

func (v *validator) pathOf(key string) string {
	switch key {
	case "os_ca_file":
		return v.p.OSCAFile
	case "nova_cert_file":
		return v.p.NovaCertFile
	case "cinder_cert_file":
		return v.p.CinderCertFile
	}
	return ""
}

// readCertificates reads a PEM certificate file and checks it.
func (v *validator) readCertificates(key, path string) []byte {
	data, err := ReadFile(path, MaxFileSize)
	if err != nil {
		reason := fmt.Sprintf("cannot be read: %v", unwrapPathError(err))
		if !v.given[key] {
			reason = fmt.Sprintf("%s is needed because IP access is disabled, but it %s", path, reason)
		}
		v.add(key, "%s", reason)
		return nil
	}
	if _, err := certs.ParseCertificates(data, v.now); err != nil {
		v.add(key, "%s %v", path, err)
		return nil
	}
	return data
}

// joinBundles bundles already checked PEM files without duplicates.
func joinBundles(now time.Time, pems ...[]byte) []byte {
	var all [][]*x509.Certificate
	for _, p := range pems {
		c, _ := certs.ParseCertificates(p, now)
		all = append(all, c)
	}
	return certs.Bundle(all...)
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// thumbprints checks and normalizes nsx_thumbprint: SHA-256 hex digits,
// colons allowed, kept as NCP and NSX print them (lower case, no colons).
func (v *validator) thumbprints() {
	p := v.p
	seen := map[string]bool{}
	var out []string
	for i, t := range p.NSXThumbprints {
		n, err := certs.NormalizeThumbprint(t)
		if err != nil {
			v.add("nsx_thumbprint", "item %d %v", i+1, err)
			continue
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	p.NSXThumbprints = out
}
