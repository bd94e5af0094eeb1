package params

import (
	"net/netip"
	"strconv"
)

// Defaults and choices of the infrastructure keys.
const (
	DefaultFlavor            = "m1.medium"
	DefaultControlPlaneCount = 1
	MaxControlPlaneCount     = 7
	// FloatingIPsAll gives every node a floating IP, as the seed's stack.
	FloatingIPsAll = "all"
	// FloatingIPsControlPlane gives only the control-plane nodes one.
	FloatingIPsControlPlane = "control-plane"
	// DefaultMgmtNetCIDR, DefaultAPINetCIDR and DefaultNSXPodNetCIDR are
	// the node networks epks cluster create makes when the file names none.
	DefaultMgmtNetCIDR   = "10.0.0.0/24"
	DefaultAPINetCIDR    = "10.0.1.0/24"
	DefaultNSXPodNetCIDR = "10.0.2.0/24"
	// FirstControlPlaneHost is the host number of the first control-plane
	// node in the management and pod subnets; FirstWorkerHost the first
	// worker's (control-plane node i is FirstControlPlaneHost+i, worker i
	// FirstWorkerHost+i).
	FirstControlPlaneHost = 10
	FirstWorkerHost       = FirstControlPlaneHost + MaxControlPlaneCount + 3
)

// NodeHost returns the address of host number n of a subnet.
func NodeHost(subnet netip.Prefix, n int) netip.Addr {
	a := subnet.Masked().Addr()
	for range n {
		a = a.Next()
	}
	return a
}

func (v *validator) clusterDefaults() {
	p := v.p
	if p.Flavor == "" {
		p.Flavor = DefaultFlavor
	}
	if p.ControlPlaneCount == 0 && !v.given["control_plane_count"] {
		p.ControlPlaneCount = DefaultControlPlaneCount
	}
	if p.FloatingIPs == "" {
		p.FloatingIPs = FloatingIPsAll
	}
	if v.purpose != ForCluster {
		return
	}
	for _, d := range []struct {
		key string
		pfx *netip.Prefix
		def string
	}{
		{"mgmt_net_cidr", &p.MgmtNetCIDR, DefaultMgmtNetCIDR},
		{"api_net_cidr", &p.APINetCIDR, DefaultAPINetCIDR},
		{"nsx_pod_net_cidr", &p.NSXPodNetCIDR, DefaultNSXPodNetCIDR},
	} {
		if !d.pfx.IsValid() && !v.given[d.key] && !v.failed[d.key] {
			*d.pfx = netip.MustParsePrefix(d.def)
		}
	}
	if p.ControlPlaneEndpoint == "" && p.MgmtNetCIDR.IsValid() && p.MgmtNetCIDR.Addr().Is4() {
		p.ControlPlaneEndpoint = NodeHost(p.MgmtNetCIDR, FirstControlPlaneHost).String() + ":6443"
	}
}

// cluster checks the infrastructure keys.
func (v *validator) cluster() {
	p := v.p
	if n := p.ControlPlaneCount; n < 1 || n > MaxControlPlaneCount || n%2 == 0 {
		v.add("control_plane_count", "%d must be odd, 1 to %d (etcd needs a majority)", n, MaxControlPlaneCount)
	}
	if p.FloatingIPs != FloatingIPsAll && p.FloatingIPs != FloatingIPsControlPlane {
		v.add("floating_ips", "%q is not one of %s, %s", p.FloatingIPs, FloatingIPsAll, FloatingIPsControlPlane)
	}
	if p.APIAccessCIDR.IsValid() && p.APIAccessCIDR != p.APIAccessCIDR.Masked() {
		v.add("api_access_cidr", "%s has host bits set; did you mean %s?", p.APIAccessCIDR, p.APIAccessCIDR.Masked())
	}
	if v.purpose != ForCluster {
		return
	}
	v.required("image", p.Image != "", " to create the cluster's servers")
	v.required("key_name", p.KeyName != "", " to create the cluster's servers")
	v.required("public_network", p.PublicNetwork != "", " to create the cluster's routers and floating IPs")
	// Every node has fixed addresses in the management and pod subnets.
	last := FirstWorkerHost + p.NodeCount
	for _, k := range []struct {
		key string
		pfx netip.Prefix
	}{{"mgmt_net_cidr", p.MgmtNetCIDR}, {"nsx_pod_net_cidr", p.NSXPodNetCIDR}} {
		if !k.pfx.IsValid() {
			continue
		}
		if !k.pfx.Addr().Is4() {
			v.add(k.key, "%s: epks cluster create makes IPv4 node networks only", k.pfx)
			continue
		}
		if room := 1<<(32-k.pfx.Bits()) - 2; last >= room {
			v.add(k.key, "%s has room for %d hosts; %d nodes need host numbers up to %s", k.pfx, room, p.NodeCount+p.ControlPlaneCount, strconv.Itoa(last))
		}
	}
}
