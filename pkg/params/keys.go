package params

import (
	"fmt"
	"net/netip"
)

// key describes one parameter: how it is read, documented and checked. The
// table below is the only list of parameters; parsing, defaults, the
// unknown-key suggestions and docs/parameters.md all come from it.
type key struct {
	name string
	// seed is true for the keys of the runbook's parameter tables.
	seed bool
	// secret keys are never printed, in errors or anywhere else.
	secret bool
	// field returns a pointer to the Params field the key fills: *string,
	// *int, *bool, *netip.Prefix, *netip.Addr or *[]string.
	field func(*Params) any
	// required says when the key must be set, for the docs ("" = optional).
	required string
	// def is the default, for the docs ("" = none).
	def string
	doc string
}

// Required-ness as the docs say it; validate.go enforces it.
const (
	always         = "yes"
	ipAccessOff    = "when `ip_access` is false"
	unlessAppCred  = "unless an application credential is set"
	unlessNSXCert  = "unless `nsx_client_cert_file` is set"
	withOctaviaLB  = "with `load_balancer_provider: octavia`, unless `lb_floating_network` is set"
	provisioning   = "node provisioning only"
	forNodes       = "for `epks cloud-init`"
	pairWithSecret = "together with its pair"
)

// keys lists every parameter in the order the docs show them: the runbook's
// first, then ours.
var keys = []key{
	{name: "image", seed: true, field: func(p *Params) any { return &p.Image }, required: provisioning,
		doc: "Name of the Glance image of the nodes."},
	{name: "key_name", seed: true, field: func(p *Params) any { return &p.KeyName }, required: provisioning,
		doc: "Name of the Nova key pair of the nodes."},
	{name: "public_network", seed: true, field: func(p *Params) any { return &p.PublicNetwork }, required: withOctaviaLB,
		doc: "Name or UUID of the external network that floating IPs come from."},
	{name: "name", seed: true, field: func(p *Params) any { return &p.Name }, required: always,
		doc: "Unique name of the cluster: node names derive from it and NCP tags the ports with it (`[coe] cluster`). A DNS label."},
	{name: "node_count", seed: true, field: func(p *Params) any { return &p.NodeCount }, required: always,
		doc: "Number of worker nodes, at least 1."},
	{name: "nsx_package_path", seed: true, field: func(p *Params) any { return &p.NSXPackagePath }, required: provisioning,
		doc: "Absolute path of the NCP package zip on the node image."},
	{name: "mgmt_net_cidr", seed: true, field: func(p *Params) any { return &p.MgmtNetCIDR },
		doc: "CIDR of the management network."},
	{name: "api_net_cidr", seed: true, field: func(p *Params) any { return &p.APINetCIDR },
		doc: "CIDR of the API network."},
	{name: "nsx_pod_net_cidr", seed: true, field: func(p *Params) any { return &p.NSXPodNetCIDR },
		doc: "CIDR of the Neutron pod network that carries pod traffic; the port tagger finds the pod network by it when `pod_network` is not set."},
	{name: "pod_network_cidr", seed: true, field: func(p *Params) any { return &p.PodNetworkCIDR }, required: always,
		doc: "CIDR of the Kubernetes pod IPs (kubeadm `--pod-network-cidr`); at least one node's range (/24 for IPv4, /64 for IPv6) and at most 16 bits larger."},
	{name: "nameserver", seed: true, field: func(p *Params) any { return &p.Nameserver },
		doc: "IP of the name server for the networks and subnets."},
	{name: "kube_token", seed: true, secret: true, field: func(p *Params) any { return &p.KubeToken }, required: always,
		doc: "kubeadm bootstrap token the nodes join with, `[a-z0-9]{6}.[a-z0-9]{16}`."},
	{name: "nsx_api_manager", seed: true, field: func(p *Params) any { return &p.NSXAPIManagers }, required: always,
		doc: "Address of the NSX Manager: IP, host name, `host:port` or `https://host[:port]`; several may be given separated by commas. No user information, path, query, fragment or IPv6 zone."},
	{name: "nsx_username", seed: true, field: func(p *Params) any { return &p.NSXUsername }, required: unlessNSXCert,
		doc: "NSX Manager user name. NCP reads it as a list option, so it cannot hold a comma or start or end with a space."},
	{name: "nsx_password", seed: true, secret: true, field: func(p *Params) any { return &p.NSXPassword }, required: unlessNSXCert,
		doc: "NSX Manager password. NCP reads it as a list option (oslo.config), so it cannot hold a comma, start or end with a space, or hold a backslash before a `$`; with such a password use a principal identity (`nsx_client_cert_file`)."},
	{name: "tier0_router", seed: true, field: func(p *Params) any { return &p.Tier0Router }, required: always,
		doc: "Name or UUID of the tier-0 router for pod networking."},
	{name: "overlay_tz", seed: true, field: func(p *Params) any { return &p.OverlayTZ }, required: always,
		doc: "Name or UUID of the overlay transport zone of the pod networks."},
	{name: "ip_block", seed: true, field: func(p *Params) any { return &p.IPBlock }, required: always,
		doc: "Name or UUID of the NSX IP block that pod subnets come from (no comma: NCP reads a list)."},
	{name: "external_ip_pool", seed: true, field: func(p *Params) any { return &p.ExternalIPPool }, required: always,
		doc: "Name or UUID of the NSX IP pool for SNAT and LoadBalancer IPs (no comma: NCP reads a list)."},
	{name: "os_username", seed: true, field: func(p *Params) any { return &p.OSUsername }, required: unlessAppCred,
		doc: "OpenStack user name."},
	{name: "os_password", seed: true, secret: true, field: func(p *Params) any { return &p.OSPassword }, required: unlessAppCred,
		doc: "OpenStack password."},
	{name: "os_tenant_id", seed: true, field: func(p *Params) any { return &p.OSTenantID }, required: always,
		doc: "OpenStack project (tenant) ID."},
	{name: "os_domain_id", seed: true, field: func(p *Params) any { return &p.OSDomainID }, required: always,
		doc: "OpenStack domain ID of the user (and of the project unless `os_project_domain_id` is set)."},
	{name: "keystone_ip", seed: true, field: func(p *Params) any { return &p.KeystoneIP }, required: always,
		doc: "IP address of the Keystone endpoint."},
	{name: "keystone_hostname", seed: true, field: func(p *Params) any { return &p.KeystoneHostname }, required: ipAccessOff,
		doc: "Host name of the Keystone endpoint; the pods resolve it to `keystone_ip`."},
	{name: "nova_ip", seed: true, field: func(p *Params) any { return &p.NovaIP }, required: ipAccessOff,
		doc: "IP address of the Nova endpoint."},
	{name: "nova_hostnames", seed: true, field: func(p *Params) any { return &p.NovaHostnames }, required: ipAccessOff,
		doc: "Host name(s) of the Nova endpoint, separated by spaces (alias: `nova_hostname`)."},
	{name: "nova_hostname", seed: true, field: func(p *Params) any { return &p.NovaHostnames },
		doc: "Alias of `nova_hostnames` (the runbook's table spells it so)."},
	{name: "cinder_ip", seed: true, field: func(p *Params) any { return &p.CinderIP }, required: ipAccessOff,
		doc: "IP address of the Cinder endpoint."},
	{name: "cinder_hostnames", seed: true, field: func(p *Params) any { return &p.CinderHostnames }, required: ipAccessOff,
		doc: "Host name(s) of the Cinder endpoint, separated by spaces (alias: `cinder_hostname`)."},
	{name: "cinder_hostname", seed: true, field: func(p *Params) any { return &p.CinderHostnames },
		doc: "Alias of `cinder_hostnames`."},

	{name: "neutron_ip", field: func(p *Params) any { return &p.NeutronIP }, def: "`keystone_ip`",
		doc: "IP address of the Neutron endpoint, which the OCCM and the port tagger call (VIO serves every endpoint on one address)."},
	{name: "neutron_hostnames", field: func(p *Params) any { return &p.NeutronHostnames },
		doc: "Host name(s) of the Neutron endpoint in Keystone's catalog, when the pods cannot resolve them with the nodes' resolver; separated by spaces (alias: `neutron_hostname`)."},
	{name: "neutron_hostname", field: func(p *Params) any { return &p.NeutronHostnames },
		doc: "Alias of `neutron_hostnames`."},
	{name: "octavia_ip", field: func(p *Params) any { return &p.OctaviaIP }, def: "`keystone_ip`",
		doc: "IP address of the Octavia endpoint, which the OCCM calls with `load_balancer_provider: octavia`."},
	{name: "octavia_hostnames", field: func(p *Params) any { return &p.OctaviaHostnames },
		doc: "Host name(s) of the Octavia endpoint in Keystone's catalog, when the nodes' resolver does not know them; separated by spaces (alias: `octavia_hostname`)."},
	{name: "octavia_hostname", field: func(p *Params) any { return &p.OctaviaHostnames },
		doc: "Alias of `octavia_hostnames`."},
	{name: "barbican_ip", field: func(p *Params) any { return &p.BarbicanIP }, def: "`keystone_ip`",
		doc: "IP address of the Barbican endpoint, which the OCCM calls for TLS listeners of Octavia load balancers."},
	{name: "barbican_hostnames", field: func(p *Params) any { return &p.BarbicanHostnames },
		doc: "Host name(s) of the Barbican endpoint in Keystone's catalog, when the nodes' resolver does not know them; separated by spaces (alias: `barbican_hostname`)."},
	{name: "barbican_hostname", field: func(p *Params) any { return &p.BarbicanHostnames },
		doc: "Alias of `barbican_hostnames`."},
	{name: "mgmt_network", field: func(p *Params) any { return &p.MgmtNetwork },
		doc: "Name of the Neutron network of the nodes' management NICs: the OCCM reports only its addresses as the nodes' InternalIPs (`[Networking] internal-network-name`), not the pod NIC's."},
	{name: "ip_access", field: func(p *Params) any { return &p.IPAccess },
		def: "false when any of keystone_hostname, nova_hostnames, cinder_hostnames is set, else true",
		doc: "VIO's \"IP access\": endpoints are reached by IP. When false, the endpoints are reached by host name and their certificates (nova.crt, cinder.crt) are required."},
	{name: "os_auth_url", field: func(p *Params) any { return &p.OSAuthURL },
		def: "`https://<keystone_hostname, or keystone_ip with IP access>:5000/v3`",
		doc: "Keystone v3 URL. Must be https unless `os_insecure` is true; no user information, query or fragment."},
	{name: "os_region", field: func(p *Params) any { return &p.OSRegion }, def: "`nova`",
		doc: "OpenStack region name (VIO's default is `nova`)."},
	{name: "os_project_domain_id", field: func(p *Params) any { return &p.OSProjectDomainID }, def: "`os_domain_id`",
		doc: "Domain ID of the project."},
	{name: "os_application_credential_id", field: func(p *Params) any { return &p.OSApplicationCredentialID }, required: pairWithSecret,
		doc: "Keystone application credential ID, instead of `os_username`/`os_password`."},
	{name: "os_application_credential_secret", secret: true, field: func(p *Params) any { return &p.OSApplicationCredentialSecret }, required: pairWithSecret,
		doc: "Keystone application credential secret."},
	{name: "os_insecure", field: func(p *Params) any { return &p.OSInsecure }, def: "false",
		doc: "Skip TLS verification of the OpenStack endpoints. Not for production."},
	{name: "os_ca_file", field: func(p *Params) any { return &p.OSCAFile },
		doc: "PEM file of the CA(s) of the OpenStack endpoints; replaces nova.crt/cinder.crt. Required with IP access (unless `os_insecure`): `epks trust` writes it from the chain Keystone presents, after you compare its fingerprints."},
	{name: "nova_cert_file", field: func(p *Params) any { return &p.NovaCertFile }, def: "`nova.crt` beside the parameters file",
		doc: "Nova's certificate (PEM), read when `ip_access` is false."},
	{name: "cinder_cert_file", field: func(p *Params) any { return &p.CinderCertFile }, def: "`cinder.crt` beside the parameters file",
		doc: "Cinder's certificate (PEM), read when `ip_access` is false."},
	{name: "nsx_api_managers", field: func(p *Params) any { return &p.NSXAPIManagers },
		doc: "More NSX Managers of the cluster, as a list; added after `nsx_api_manager`."},
	{name: "nsx_ca_file", field: func(p *Params) any { return &p.NSXCAFile },
		doc: "PEM file of the CA(s) of the NSX Managers; without it the system roots are used."},
	{name: "nsx_thumbprint", field: func(p *Params) any { return &p.NSXThumbprints },
		doc: "SHA-256 thumbprint(s) of the NSX Managers' certificates (64 hex digits, colons allowed; a list, or separated by spaces or commas), as `epks trust` prints them and the NSX Manager's `get certificate api thumbprint` shows them. NCP (`[nsx_v3] thumbprint`) and the port tagger then accept exactly these certificates, for VIO's self-signed NSX Manager; NCP ignores them when `nsx_ca_file` is set."},
	{name: "nsx_insecure", field: func(p *Params) any { return &p.NSXInsecure }, def: "false",
		doc: "Skip TLS verification of the NSX Managers. Not for production."},
	{name: "nsx_client_cert_file", field: func(p *Params) any { return &p.NSXClientCertFile }, required: pairWithSecret,
		doc: "PEM certificate of an NSX principal identity, instead of `nsx_username`/`nsx_password`."},
	{name: "nsx_client_key_file", field: func(p *Params) any { return &p.NSXClientKeyFile }, required: pairWithSecret,
		doc: "PEM private key of that principal identity."},
	{name: "nsx_api_mode", field: func(p *Params) any { return &p.NSXAPIMode }, def: "what the NCP version needs: `policy` for NCP 4.x (the chart's 4.2.0), `manager` before",
		doc: "NSX API of NCP and the port tagger: `manager` (logical switches and ports) or `policy` (segments and segment ports). NCP 4.x forces the Policy API, so `manager` is refused with it. In policy mode `tier0_router`, `overlay_tz`, `ip_block` and `external_ip_pool` are Policy IDs (the last element of the object's path), not names."},
	{name: "image_registry", field: func(p *Params) any { return &p.ImageRegistry },
		doc: "Registry for every image, e.g. `registry.local` as the seed loads NCP."},
	{name: "ncp_image", field: func(p *Params) any { return &p.NCPImage },
		def: "the chart's default", doc: "Full NCP image reference (NCP images are not public)."},
	{name: "service_cidr", field: func(p *Params) any { return &p.ServiceCIDR }, def: "`10.96.0.0/12`",
		doc: "CIDR of the Kubernetes service IPs."},
	{name: "kube_apiserver_host", field: func(p *Params) any { return &p.KubeAPIServerHost }, def: "the host of `control_plane_endpoint`, else the first IP of `service_cidr`",
		doc: "Address NCP and the node agents reach the Kubernetes API at."},
	{name: "kube_apiserver_port", field: func(p *Params) any { return &p.KubeAPIServerPort }, def: "the port of `control_plane_endpoint` (6443), else 443",
		doc: "Port of `kube_apiserver_host`."},
	{name: "load_balancer_provider", field: func(p *Params) any { return &p.LoadBalancerProvider }, def: "`nsx`",
		doc: "Who serves Services of type LoadBalancer: `nsx` (NCP) or `octavia` (the OpenStack cloud controller manager)."},
	{name: "lb_floating_network", field: func(p *Params) any { return &p.LBFloatingNetwork }, def: "`public_network`",
		doc: "Octavia: name or UUID of the network that LoadBalancer IPs float on."},
	{name: "lb_subnet", field: func(p *Params) any { return &p.LBSubnet },
		doc: "Octavia: name or UUID of the subnet of the load balancers' VIPs; without it, the subnet of the nodes."},
	{name: "pod_network", field: func(p *Params) any { return &p.PodNetwork },
		doc: "Name or UUID of the Neutron network of the nodes' pod NICs, whose NSX ports the port tagger tags."},
	{name: "pod_interface", field: func(p *Params) any { return &p.PodInterface }, def: "`ens224`",
		doc: "Name of the NIC on the nodes that carries the pod network (the OVS uplink of br-int)."},
	{name: "mtu", field: func(p *Params) any { return &p.MTU }, def: "1500",
		doc: "MTU of the pod network, 1280 to 9000."},
	{name: "ovs_in_container", field: func(p *Params) any { return &p.OVSInContainer }, def: "false",
		doc: "Run Open vSwitch in the node agent's nsx-ovs container. False: OVS runs on the nodes, which `epks cloud-init` prepares with br-int (as the seed's nodes had it from NCP's packages)."},
	{name: "control_plane_endpoint", field: func(p *Params) any { return &p.ControlPlaneEndpoint }, required: forNodes,
		doc: "Address of the Kubernetes API that the nodes join and kubeconfigs name, `host[:port]` (port 6443 by default): the first control-plane node's fixed IP, a load balancer's VIP or a DNS name (kubeadm `controlPlaneEndpoint`)."},
	{name: "control_plane_cert_sans", field: func(p *Params) any { return &p.ControlPlaneCertSANs },
		doc: "More IPs and DNS names of the API server's certificate, e.g. the floating IP it is reached at from outside; separated by spaces or as a list."},
	{name: "pod_interface_mac", field: func(p *Params) any { return &p.PodInterfaceMACs },
		doc: "MAC address(es) of the pod NICs; a node picks as its pod NIC the NIC with one of them instead of the NIC named `pod_interface`. Separated by spaces or as a list."},
	{name: "kubernetes_version", field: func(p *Params) any { return &p.KubernetesVersion }, def: "`" + DefaultKubernetesVersion + "`",
		doc: "Kubernetes version of the nodes' kubelet, kubeadm and kubectl and of the control plane, `v1.MINOR.PATCH` (1.31 or later: the kubeadm v1beta4 configuration)."},
	{name: "package_source", field: func(p *Params) any { return &p.PackageSource }, def: "`apt`",
		doc: "Where the nodes get containerd, kubelet, kubeadm, kubectl and Open vSwitch: `apt` (Docker's containerd.io, pkgs.k8s.io and Ubuntu's archive) or `bundle` (the `.deb` files in `<offline_bundle_path>/debs`, no network: the offline bundle that `make bundle` makes, see docs/bundle.md; the node checks it against its `SHA256SUMS` first)."},
	{name: "offline_bundle_path", field: func(p *Params) any { return &p.OfflineBundlePath }, def: "`" + DefaultOfflineBundlePath + "`",
		doc: "Absolute path of the offline bundle on the node image (docs/bundle.md): `images/` holds image tarballs (such as `make bundle` and `make images` write, named as kubeadm and the chart name them) that each node imports into containerd at first boot, before kubeadm runs; `debs/` the packages of `package_source: bundle`."},
	{name: "epks_image", field: func(p *Params) any { return &p.EPKSImage }, def: "`ghcr.io/epks/epks:v0.1.0` (what `make images` builds), with `image_registry` as its registry",
		doc: "Image the first control-plane node runs `epks install` from after `kubeadm init`; import it from the offline bundle or make it pullable."},
	{name: "storage_class_name", field: func(p *Params) any { return &p.StorageClassName }, def: "`cinder`",
		doc: "Name of the default StorageClass."},
	{name: "volume_snapshot_class_name", field: func(p *Params) any { return &p.VolumeSnapshotClassName }, def: "`cinder-snapshot`",
		doc: "Name of the default VolumeSnapshotClass."},
	{name: "cinder_volume_type", field: func(p *Params) any { return &p.CinderVolumeType },
		doc: "Cinder volume type of the StorageClass."},
	{name: "cinder_availability_zone", field: func(p *Params) any { return &p.CinderAvailabilityZone },
		doc: "Cinder availability zone of the StorageClass."},
	{name: "namespace", field: func(p *Params) any { return &p.Namespace }, def: "`epks-system`",
		doc: "Namespace of the add-ons."},

	// Infrastructure: epks cluster create, plan, delete and heat-template.
	{name: "flavor", field: func(p *Params) any { return &p.Flavor }, def: "`" + DefaultFlavor + "`",
		doc: "Name or ID of the Nova flavor of the nodes (`epks cluster create`)."},
	{name: "control_plane_count", field: func(p *Params) any { return &p.ControlPlaneCount }, def: "1",
		doc: "Number of control-plane nodes, odd, 1 to 7; more than one share an anti-affinity server group (`epks cluster create`)."},
	{name: "api_access_cidr", field: func(p *Params) any { return &p.APIAccessCIDR },
		doc: "CIDR that may reach the API server (6443) besides the cluster's own networks, e.g. `0.0.0.0/0`; without it only the cluster's networks may (`epks cluster create`)."},
	{name: "floating_ips", field: func(p *Params) any { return &p.FloatingIPs }, def: "`all`",
		doc: "Which nodes get a floating IP from `public_network`: `all` (as the seed) or `control-plane` (`epks cluster create`)."},
}

// keyByName indexes keys.
func keyByName(name string) (key, bool) {
	for _, k := range keys {
		if k.name == name {
			return k, true
		}
	}
	return key{}, false
}

// aliases maps a key to the key it is another spelling of.
var aliases = map[string]string{
	"nova_hostname":     "nova_hostnames",
	"cinder_hostname":   "cinder_hostnames",
	"neutron_hostname":  "neutron_hostnames",
	"octavia_hostname":  "octavia_hostnames",
	"barbican_hostname": "barbican_hostnames",
}

// Names returns every parameter name, in the order of the docs.
func Names() []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.name
	}
	return out
}

// IsSecret reports whether a parameter holds a secret that must never be
// printed.
func IsSecret(name string) bool {
	k, ok := keyByName(name)
	return ok && k.secret
}

// StringKeys returns the parameters that hold free text: strings and lists
// of strings, in the order of the docs. Aliases are left out.
func StringKeys() []string {
	var out []string
	var p Params
	for _, k := range keys {
		if _, alias := aliases[k.name]; alias {
			continue
		}
		switch k.field(&p).(type) {
		case *string, *[]string:
			out = append(out, k.name)
		}
	}
	return out
}

// Field is one parameter with its value in p, for writing the parameters
// out again (the HEAT template's parameter declarations).
type Field struct {
	Name   string
	Secret bool
	// Alias names the key this one is another spelling of, "" for none;
	// an alias's Value is that key's.
	Alias string
	// Value is a string, int, bool or []string; addresses and prefixes
	// are strings ("" when unset).
	Value any
}

// Fields returns every parameter with its value in p, in the order of the
// docs.
func Fields(p *Params) []Field {
	out := make([]Field, 0, len(keys))
	for _, k := range keys {
		f := Field{Name: k.name, Secret: k.secret, Alias: aliases[k.name]}
		switch v := k.field(p).(type) {
		case *string:
			f.Value = *v
		case *int:
			f.Value = *v
		case *bool:
			f.Value = *v
		case *[]string:
			f.Value = append([]string(nil), *v...)
		case *netip.Prefix:
			f.Value = ""
			if v.IsValid() {
				f.Value = v.String()
			}
		case *netip.Addr:
			f.Value = ""
			if v.IsValid() {
				f.Value = v.String()
			}
		default:
			panic(fmt.Sprintf("parameter %s: field of type %T", k.name, v))
		}
		out = append(out, f)
	}
	return out
}
