package install_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/epks/epks/pkg/install"
	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/values"
)

// nodeDNS is the nodes' resolver of a site: the names it knows, with their
// addresses. Any other name does not exist, as a real server answers
// NXDOMAIN.
type nodeDNS map[string]string

func (d nodeDNS) LookupHost(_ context.Context, host string) ([]string, error) {
	if ip, ok := d[host]; ok {
		return []string{ip}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// TestCheckEndpoints runs the preflight against viosim serving, as VIO with
// IP access off, every endpoint under a host name: the chart values of the
// parameters viosim writes, with some names left out of the host aliases.
func TestCheckEndpoints(t *testing.T) {
	s, err := sim.New(sim.Options{Hostnames: sim.VIOHostnames()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ip := s.Address()
	tests := []struct {
		name         string
		lb           string
		nodeResolved []string
		dns          nodeDNS
		edit         func(v map[string]any)
		// hosts is how many hosts the error names, want what it says; none:
		// no error.
		hosts int
		want  []string
	}{
		{name: "every name aliased", lb: params.LBProviderOctavia},
		{name: "neutron and octavia unknown", lb: params.LBProviderOctavia, nodeResolved: []string{sim.Neutron, sim.Octavia},
			hosts: 2, want: []string{"network https://neutron.vio.local:", "set neutron_hostnames", "load-balancer https://octavia.vio.local:", "set octavia_hostnames"}},
		{name: "the nodes' DNS knows them", lb: params.LBProviderOctavia, nodeResolved: []string{sim.Neutron, sim.Octavia},
			dns: nodeDNS{"neutron.vio.local": ip, "octavia.vio.local": ip}},
		{name: "octavia not called with NSX load balancers", lb: params.LBProviderNSX, nodeResolved: []string{sim.Octavia}},
		{name: "neutron not called without the OCCM and the tagger", lb: params.LBProviderNSX, nodeResolved: []string{sim.Neutron},
			edit: func(v map[string]any) {
				v["occm"] = map[string]any{"enabled": false}
				v["portTagger"] = map[string]any{"enabled": false}
			}},
		{name: "keystone unknown", lb: params.LBProviderOctavia, edit: func(v map[string]any) { delete(v, "hostAliases") },
			hosts: 1, want: []string{"identity https://keystone.openstack.svc.cluster.local:", "set keystone_hostname"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, err := s.WriteFiles(t.TempDir(), sim.ParamsOptions{LoadBalancerProvider: tt.lb, NodeResolved: tt.nodeResolved})
			if err != nil {
				t.Fatal(err)
			}
			p, err := params.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			v := values.For(p, p.OpenStackCA).Values
			if tt.edit != nil {
				tt.edit(v)
			}
			dns := tt.dns
			if dns == nil {
				dns = nodeDNS{}
			}
			err = install.CheckEndpoints(context.Background(), install.EndpointCheck{Values: v, Resolver: dns})
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckEndpoints: %v", err)
				}
				return
			}
			var ee *install.EndpointsError
			if !errors.As(err, &ee) {
				t.Fatalf("want an *EndpointsError, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%v", w, err)
				}
			}
			if len(ee.Hosts) != tt.hosts {
				t.Errorf("%d hosts named, want %d:\n%v", len(ee.Hosts), tt.hosts, err)
			}
			if strings.Contains(err.Error(), "viosim-password") {
				t.Error("the error holds the OpenStack password")
			}
		})
	}
}
