package cluster

import (
	"net/netip"
	"testing"

	"github.com/epks/epks/pkg/params"
)

func TestNewSpec(t *testing.T) {
	base := func() *params.Params {
		return &params.Params{Name: "c", NodeCount: 2, ControlPlaneCount: 1, FloatingIPs: params.FloatingIPsAll,
			MgmtNetCIDR: netip.MustParsePrefix("10.0.0.0/24"), APINetCIDR: netip.MustParsePrefix("10.0.1.0/24"),
			NSXPodNetCIDR: netip.MustParsePrefix("10.0.2.0/24")}
	}
	tests := []struct {
		name              string
		edit              func(*params.Params)
		nodes, fips       int
		rules             int
		serverGroup       string
		lastMgmt, lastPod string
	}{
		{"seed", func(*params.Params) {}, 3, 3, 18, "", "10.0.0.21", "10.0.2.21"},
		{"ha", func(p *params.Params) { p.ControlPlaneCount = 3 }, 5, 5, 18, "c-control-plane", "10.0.0.21", "10.0.2.21"},
		{"control-plane floating IPs", func(p *params.Params) { p.FloatingIPs = params.FloatingIPsControlPlane }, 3, 1, 18, "", "10.0.0.21", "10.0.2.21"},
		{"api access", func(p *params.Params) { p.APIAccessCIDR = netip.MustParsePrefix("0.0.0.0/0") }, 3, 3, 19, "", "10.0.0.21", "10.0.2.21"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base()
			tt.edit(p)
			s, err := NewSpec(p)
			if err != nil {
				t.Fatal(err)
			}
			fips := 0
			for _, n := range s.Nodes {
				if n.FloatingIP {
					fips++
				}
			}
			last := s.Nodes[len(s.Nodes)-1]
			if len(s.Nodes) != tt.nodes || fips != tt.fips || len(s.SecurityGroup.Rules) != tt.rules || s.ServerGroup != tt.serverGroup ||
				last.MgmtIP.String() != tt.lastMgmt || last.PodIP.String() != tt.lastPod {
				t.Errorf("nodes %d, floating IPs %d, rules %d, server group %q, last node %s %s/%s",
					len(s.Nodes), fips, len(s.SecurityGroup.Rules), s.ServerGroup, last.Name, last.MgmtIP, last.PodIP)
			}
			if s.Nodes[0].MgmtIP.String()+":6443" != "10.0.0.10:6443" {
				t.Errorf("the first control-plane node is %s, not control_plane_endpoint's default", s.Nodes[0].MgmtIP)
			}
		})
	}
	if _, err := NewSpec(&params.Params{Name: "c"}); err == nil {
		t.Error("NewSpec without node networks: no error")
	}
}
