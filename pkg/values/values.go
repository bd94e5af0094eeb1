// Package values turns a parameters file into the values of the
// epks-addons chart. It is a pure function of its inputs: the certificates
// were read (or fetched) before.
//
// How the seed's keys map:
//
//	name                          clusterName (ncp.ini [coe] cluster, port tagger)
//	pod_network_cidr, service_cidr kubernetes.podCIDR, kubernetes.serviceCIDR
//	kube_apiserver_host/port      kubernetes.apiServerHost/Port
//	keystone_*, nova_*, cinder_*  hostAliases (when host names are set)
//	os_auth_url, os_username, os_password, os_tenant_id, os_domain_id,
//	os_project_domain_id, os_region, application credential, os_insecure
//	                              openstack.* (cloud.conf)
//	mgmt_network, mgmt_net_cidr   openstack.networking (cloud.conf [Networking])
//	neutron_*, octavia_*, barbican_* hostAliases
//	nova.crt, cinder.crt, or os_ca_file (epks trust)
//	                              openstack.caBundle
//	nsx_api_manager(s), nsx_username, nsx_password, client certificate,
//	nsx_ca_file, nsx_thumbprint, nsx_insecure, nsx_api_mode
//	                              nsx.*
//	tier0_router, overlay_tz, ip_block, external_ip_pool
//	                              nsx.tier0Router, overlayTZ, containerIPBlocks, externalIPPools
//	load_balancer_provider, lb_floating_network, lb_subnet
//	                              loadBalancer.*
//	pod_interface, mtu            nsxNodeAgent.ovsUplinkPort, mtu
//	ovs_in_container              nsxNodeAgent.ovsInContainer
//	image_registry, ncp_image     global.imageRegistry, ncp.image
//	storage_class_name, volume_snapshot_class_name, cinder_volume_type,
//	cinder_availability_zone      cinderCSI.storageClass/volumeSnapshotClass
//	pod_network, nsx_pod_net_cidr portTagger.podNetwork, podNetworkCIDR
//
// image, key_name, nsx_package_path, node_count, kube_token,
// api_net_cidr, nameserver and the keys of node preparation (control_plane_*,
// pod_interface_mac, kubernetes_version, package_source, offline_bundle_path,
// epks_image) describe the nodes; pkg/cloudinit uses them, the chart does not.
package values

import (
	"regexp"
	"strings"

	"github.com/distribution/reference"

	"github.com/epks/epks/pkg/params"
)

// Result is the chart values with what the user should know about them.
type Result struct {
	Values map[string]any
	// Warnings say what was chosen for the user, e.g. a component turned off.
	Warnings []string
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// For returns the chart values for p. openStackCA is the CA bundle of the
// OpenStack endpoints (p.OpenStackCA: os_ca_file, which `epks trust` writes,
// or nova.crt and cinder.crt); it may be empty when the system roots are to
// be used.
func For(p *params.Params, openStackCA []byte) Result {
	var warnings []string
	v := map[string]any{
		"clusterName": p.Name,
		"kubernetes": map[string]any{
			"apiServerHost": p.KubeAPIServerHost,
			"apiServerPort": p.KubeAPIServerPort,
			"podCIDR":       p.PodNetworkCIDR.String(),
			"serviceCIDR":   p.ServiceCIDR.String(),
		},
		"openstack": openstack(p, openStackCA),
		"nsx":       nsx(p),
		"nsxNodeAgent": map[string]any{
			"ovsUplinkPort":  p.PodInterface,
			"mtu":            p.MTU,
			"ovsInContainer": p.OVSInContainer,
		},
		"cinderCSI": cinderCSI(p),
	}
	if aliases := hostAliases(p); len(aliases) > 0 {
		v["hostAliases"] = aliases
	}
	if p.ImageRegistry != "" {
		v["global"] = map[string]any{"imageRegistry": p.ImageRegistry}
	}
	if p.NCPImage != "" {
		v["ncp"] = map[string]any{"image": imageValues(p.NCPImage)}
	}

	lb := map[string]any{"provider": p.LoadBalancerProvider}
	if p.LoadBalancerProvider == params.LBProviderOctavia {
		oct := map[string]any{}
		switch {
		case uuidRE.MatchString(p.LBFloatingNetwork):
			oct["floatingNetworkID"] = p.LBFloatingNetwork
		case p.LBFloatingNetwork != "":
			warnings = append(warnings, "lb_floating_network "+p.LBFloatingNetwork+
				" is a name; the cloud controller manager takes only network IDs, so it will use the cloud's one external network")
		}
		if uuidRE.MatchString(p.LBSubnet) {
			oct["subnetID"] = p.LBSubnet
		} else if p.LBSubnet != "" {
			warnings = append(warnings, "lb_subnet "+p.LBSubnet+" is not a subnet ID and is ignored; the nodes' subnet is used")
		}
		lb["octavia"] = oct
	}
	v["loadBalancer"] = lb

	tagger := map[string]any{}
	switch {
	case p.PodNetwork != "":
		tagger["podNetwork"] = p.PodNetwork
	case p.NSXPodNetCIDR.IsValid():
		tagger["podNetworkCIDR"] = p.NSXPodNetCIDR.String()
	default:
		tagger["enabled"] = false
		warnings = append(warnings, "the port tagger is off: set pod_network or nsx_pod_net_cidr so that it can find "+
			"the nodes' pod ports; until then tag them for NCP yourself")
	}
	v["portTagger"] = tagger
	if w := NSXTrustWarning(p); w != "" {
		warnings = append(warnings, w)
	}
	return Result{Values: v, Warnings: warnings}
}

func openstack(p *params.Params, ca []byte) map[string]any {
	os := map[string]any{
		"authURL":         p.OSAuthURL,
		"region":          p.OSRegion,
		"projectID":       p.OSTenantID,
		"userDomainID":    p.OSDomainID,
		"projectDomainID": p.OSProjectDomainID,
		"insecure":        p.OSInsecure,
		"caBundle":        string(ca),
	}
	// The nodes' addresses are their management NICs' (cloud.conf
	// [Networking]).
	networking := map[string]any{}
	if p.MgmtNetwork != "" {
		networking["internalNetworkNames"] = []any{p.MgmtNetwork}
	}
	if p.MgmtNetCIDR.IsValid() {
		networking["addressSortOrder"] = p.MgmtNetCIDR.String()
	}
	if len(networking) > 0 {
		os["networking"] = networking
	}
	if p.OSApplicationCredentialID != "" {
		os["applicationCredentialID"] = p.OSApplicationCredentialID
		os["applicationCredentialSecret"] = p.OSApplicationCredentialSecret
	} else {
		os["username"] = p.OSUsername
		os["password"] = p.OSPassword
	}
	return os
}

func nsx(p *params.Params) map[string]any {
	n := map[string]any{
		"managers":          toAny(p.NSXAPIManagers),
		"apiMode":           p.EffectiveNSXAPIMode(),
		"insecure":          p.NSXInsecure,
		"caBundle":          string(p.NSXCA),
		"thumbprints":       toAny(p.NSXThumbprints),
		"tier0Router":       p.Tier0Router,
		"overlayTZ":         p.OverlayTZ,
		"containerIPBlocks": []any{p.IPBlock},
		"externalIPPools":   []any{p.ExternalIPPool},
	}
	if len(p.NSXClientCert) > 0 {
		n["clientCert"] = string(p.NSXClientCert)
		n["clientKey"] = string(p.NSXClientKey)
	} else {
		n["username"] = p.NSXUsername
		n["password"] = p.NSXPassword
	}
	return n
}

func cinderCSI(p *params.Params) map[string]any {
	sc := map[string]any{"name": p.StorageClassName}
	scParams := map[string]any{}
	if p.CinderVolumeType != "" {
		scParams["type"] = p.CinderVolumeType
	}
	if p.CinderAvailabilityZone != "" {
		scParams["availability"] = p.CinderAvailabilityZone
	}
	if len(scParams) > 0 {
		sc["parameters"] = scParams
	}
	return map[string]any{
		"storageClass":        sc,
		"volumeSnapshotClass": map[string]any{"name": p.VolumeSnapshotClassName},
	}
}

func hostAliases(p *params.Params) []any {
	var out []any
	for _, a := range p.HostAliases() {
		out = append(out, map[string]any{"ip": a.IP.String(), "hostnames": toAny(a.Hostnames)})
	}
	return out
}

// imageValues splits an image reference into the chart's image fields.
// params has checked that it parses.
func imageValues(ref string) map[string]any {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return map[string]any{"repository": ref}
	}
	img := map[string]any{
		"registry":   reference.Domain(named),
		"repository": reference.Path(named),
		"tag":        "latest",
	}
	if t, ok := named.(reference.Tagged); ok {
		img["tag"] = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		img["digest"] = d.Digest().String()
	}
	return img
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Merge merges src into dst as Helm merges values files: maps merge key by
// key, anything else in src replaces what dst has.
func Merge(dst, src map[string]any) {
	for k, sv := range src {
		if sm, ok := sv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				Merge(dm, sm)
				continue
			}
		}
		dst[k] = sv
	}
}

// NSXTrustWarning says what to add when the parameters give no trust for
// the NSX Managers (no nsx_ca_file, no nsx_thumbprint, not nsx_insecure):
// NCP and the port tagger then verify them with the system roots only,
// which VIO's self-signed NSX Manager certificate fails. It is "" when
// trust is given.
func NSXTrustWarning(p *params.Params) string {
	if p.NSXInsecure || len(p.NSXCA) > 0 || len(p.NSXThumbprints) > 0 {
		return ""
	}
	return "no trust is set for the NSX Manager(s) " + strings.Join(p.NSXAPIManagers, ", ") +
		": NCP and the port tagger will verify them with the system roots only, which VIO's self-signed NSX " +
		"certificate fails. Run `epks trust -p <parameters file>`, compare the thumbprints it prints with the " +
		"NSX Manager's `get certificate api thumbprint`, and add them as `nsx_thumbprint: [<sha-256 hex>]` " +
		"(or set `nsx_ca_file` to the NSX CA); `epks install` refuses to start until the Managers verify"
}
