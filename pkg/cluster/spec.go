// Package cluster builds a cluster's OpenStack infrastructure from its
// parameters file, as the seed's HEAT stack did: a thin reconcile over one
// service per resource kind (pkg/cluster/services/...), in the manner of
// cluster-api-provider-openstack. Every resource is named after the
// cluster and described and tagged with it, so a run finds what an earlier
// one made and converges; Plan is the same walk without writes.
package cluster

import (
	"fmt"
	"net/netip"

	"github.com/epks/epks/pkg/cloudinit"
	"github.com/epks/epks/pkg/cluster/services/securitygroup"
	"github.com/epks/epks/pkg/nodename"
	"github.com/epks/epks/pkg/params"
)

// Network roles.
const (
	Mgmt = "mgmt"
	API  = "api"
	Pod  = "pod"
)

// KubeadmPorts are the TCP ports a kubeadm cluster of today needs between
// its nodes: the API server, etcd, the kubelet, the controller manager's
// and the scheduler's secure ports, and NodePorts. (The seed also opened
// 10251, 10252 and 10255: the scheduler's and controller manager's
// insecure ports and the kubelet's read-only port, all gone from current
// Kubernetes.)
var KubeadmPorts = []struct {
	Min, Max    int
	Description string
}{
	{6443, 6443, "Kubernetes API server"},
	{2379, 2380, "etcd client and peer"},
	{10250, 10250, "kubelet API"},
	{10257, 10257, "kube-controller-manager"},
	{10259, 10259, "kube-scheduler"},
	{30000, 32767, "NodePort Services"},
}

// Spec is the infrastructure of one cluster, derived from its parameters.
type Spec struct {
	Name string
	// Networks are mgmt, api and pod, in this order.
	Networks []NetworkSpec
	Routers  []RouterSpec
	// SecurityGroup and its ingress rules.
	SecurityGroup securitygroup.Spec
	// ServerGroup is the control plane's anti-affinity group, "" with one
	// control-plane node.
	ServerGroup string
	Nodes       []Node
	// Image, Flavor, KeyName and ExternalNetwork as the parameters name them.
	Image, Flavor, KeyName, ExternalNetwork string
}

// NetworkSpec is one network.
type NetworkSpec struct {
	Role, Name, SubnetName string
	CIDR                   netip.Prefix
	Nameservers            []string
}

// RouterSpec is one router: its networks by role.
type RouterSpec struct {
	Name     string
	SNAT     bool
	Networks []string
}

// Node is one server with its ports.
type Node struct {
	Name string
	Role cloudinit.Role
	// MgmtIP and PodIP are the fixed addresses of its ports.
	MgmtIP, PodIP netip.Addr
	FloatingIP    bool
}

// MgmtPort and PodPort name the node's ports.
func (n Node) MgmtPort() string { return n.Name + "-mgmt" }

// PodPort is the name of the node's pod-network port.
func (n Node) PodPort() string { return n.Name + "-pod" }

// ControlPlane reports whether the node runs the control plane.
func (n Node) ControlPlane() bool { return n.Role != cloudinit.RoleWorker }

// NewSpec derives the infrastructure from parameters read with
// params.ForCluster.
func NewSpec(p *params.Params) (*Spec, error) {
	if !p.MgmtNetCIDR.IsValid() || !p.APINetCIDR.IsValid() || !p.NSXPodNetCIDR.IsValid() {
		return nil, fmt.Errorf("the node networks are not set: read the parameters with params.ForCluster")
	}
	c := p.Name
	var ns []string
	if p.Nameserver.IsValid() {
		ns = []string{p.Nameserver.String()}
	}
	s := &Spec{
		Name: c,
		Networks: []NetworkSpec{
			{Role: Mgmt, Name: c + "-mgmt", SubnetName: c + "-mgmt-subnet", CIDR: p.MgmtNetCIDR, Nameservers: ns},
			{Role: API, Name: c + "-api", SubnetName: c + "-api-subnet", CIDR: p.APINetCIDR, Nameservers: ns},
			{Role: Pod, Name: c + "-pod", SubnetName: c + "-pod-subnet", CIDR: p.NSXPodNetCIDR, Nameservers: ns},
		},
		// As the seed: the management network behind a router with SNAT,
		// the API (container) network behind one without.
		Routers: []RouterSpec{
			{Name: c + "-router", SNAT: true, Networks: []string{Mgmt}},
			{Name: c + "-container-router", SNAT: false, Networks: []string{API}},
		},
		Image: p.Image, Flavor: p.Flavor, KeyName: p.KeyName, ExternalNetwork: p.PublicNetwork,
	}
	sg := securitygroup.Spec{Name: c + "-nodes"}
	for _, port := range KubeadmPorts {
		for _, n := range s.Networks {
			sg.Rules = append(sg.Rules, securitygroup.Rule{Protocol: "tcp", PortMin: port.Min, PortMax: port.Max,
				RemoteIPPrefix: n.CIDR.String(), Description: port.Description + " from the " + n.Role + " network"})
		}
	}
	if a := p.APIAccessCIDR; a.IsValid() {
		sg.Rules = append(sg.Rules, securitygroup.Rule{Protocol: "tcp", PortMin: 6443, PortMax: 6443,
			RemoteIPPrefix: a.String(), Description: "Kubernetes API server from api_access_cidr"})
	}
	s.SecurityGroup = sg
	if p.ControlPlaneCount > 1 {
		s.ServerGroup = c + "-control-plane"
	}
	for i := range p.ControlPlaneCount {
		role := cloudinit.RoleControlPlane
		if i > 0 {
			role = cloudinit.RoleControlPlaneJoin
		}
		s.Nodes = append(s.Nodes, Node{Name: nodename.ControlPlane(c, i), Role: role,
			MgmtIP:     params.NodeHost(p.MgmtNetCIDR, params.FirstControlPlaneHost+i),
			PodIP:      params.NodeHost(p.NSXPodNetCIDR, params.FirstControlPlaneHost+i),
			FloatingIP: true})
	}
	for i := range p.NodeCount {
		s.Nodes = append(s.Nodes, Node{Name: nodename.Worker(c, i), Role: cloudinit.RoleWorker,
			MgmtIP:     params.NodeHost(p.MgmtNetCIDR, params.FirstWorkerHost+i),
			PodIP:      params.NodeHost(p.NSXPodNetCIDR, params.FirstWorkerHost+i),
			FloatingIP: p.FloatingIPs == params.FloatingIPsAll})
	}
	return s, nil
}

// Network returns the network of a role.
func (s *Spec) Network(role string) NetworkSpec {
	for _, n := range s.Networks {
		if n.Role == role {
			return n
		}
	}
	panic("no network " + role)
}
