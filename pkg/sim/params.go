package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// ParamsOptions adjust the parameters file the simulator writes.
type ParamsOptions struct {
	// ClusterName [the seed's cluster: the prefix of its pod network].
	ClusterName string
	// KubeToken [a fixed example token].
	KubeToken string
	// LoadBalancerProvider [nsx].
	LoadBalancerProvider string
	// NodeResolved are services served under host names (Options.Hostnames)
	// whose names the file leaves out of the host aliases: the nodes'
	// resolver is to know them.
	NodeResolved []string
}

// Params returns an epks parameters file (the HEAT "parameters:" map) that
// points at this simulator: Keystone, the NSX Manager, the seeded project,
// networks and NSX names, with the simulator's CA as os_ca_file and
// nsx_ca_file (relative to the file); with IP access, or without it when
// the simulator serves under host names.
func (s *Server) Params(o ParamsOptions) map[string]any {
	cluster := o.ClusterName
	if cluster == "" {
		cluster = "k8scluster"
		for name := range s.Seeded.Networks {
			if c, ok := strings.CutSuffix(name, "-pod"); ok {
				cluster = c
			}
		}
	}
	if o.KubeToken == "" {
		o.KubeToken = "viosim.0123456789abcdef"
	}
	workers := 0
	for name := range s.Seeded.Servers {
		if strings.Contains(name, "-minion-") {
			workers++
		}
	}
	if workers == 0 {
		workers = 1
	}
	user, password := s.NSXCredentials()
	var osUser, osPassword string
	for name, u := range s.Seeded.Users {
		osUser, osPassword = name, u.Password
	}
	p := map[string]any{
		"name":             cluster,
		"node_count":       workers,
		"pod_network_cidr": "193.167.0.0/16",
		"kube_token":       o.KubeToken,
		"keystone_ip":      strings.Split(strings.TrimPrefix(strings.TrimPrefix(s.osURL, "https://"), "http://"), ":")[0],
		"os_auth_url":      s.URL(Keystone),
		"os_region":        s.World.Region,
		"os_username":      osUser,
		"os_password":      osPassword,
		"os_tenant_id":     s.Seeded.Project.ID,
		"os_domain_id":     s.Seeded.Project.DomainID,
		"ip_access":        true,
		"nsx_api_manager":  s.NSXAddress(),
		"nsx_username":     user,
		"nsx_password":     password,
		"tier0_router":     s.Seeded.NSX.Tier0Router,
		"overlay_tz":       s.Seeded.NSX.OverlayTZ,
		"ip_block":         s.Seeded.NSX.IPBlock,
		"external_ip_pool": s.Seeded.NSX.ExternalIPPool,
	}
	if n, ok := s.Seeded.Networks[cluster+"-pod"]; ok {
		p["pod_network"] = n.Name
		p["nsx_pod_net_cidr"] = s.Seeded.Subnets[cluster+"-pod"].CIDR
	}
	if n, ok := s.Seeded.Networks[cluster+"-mgmt"]; ok {
		p["mgmt_net_cidr"] = s.Seeded.Subnets[n.Name].CIDR
		p["mgmt_network"] = n.Name
	}
	// With host names, IP access is off: the endpoints' names and IPs, as
	// the seed gives them. Neutron's and Octavia's IPs are left to their
	// default, Keystone's.
	if len(s.opts.Hostnames) > 0 {
		p["ip_access"] = false
		aliased := func(svc string) string {
			for _, n := range o.NodeResolved {
				if n == svc {
					return ""
				}
			}
			return s.opts.Hostnames[svc]
		}
		if h := aliased(Keystone); h != "" {
			p["keystone_hostname"] = h
		}
		for _, svc := range []string{Nova, Cinder, Neutron, Octavia} {
			if h := aliased(svc); h != "" {
				p[svc+"_hostnames"] = h
				if svc == Nova || svc == Cinder {
					p[svc+"_ip"] = p["keystone_ip"]
				}
			}
		}
	}
	for name, n := range s.Seeded.Networks {
		if n.External {
			p["public_network"] = name
		}
	}
	if o.LoadBalancerProvider != "" {
		p["load_balancer_provider"] = o.LoadBalancerProvider
		if pub, ok := s.Seeded.Networks[fmt.Sprint(p["public_network"])]; ok {
			p["lb_floating_network"] = pub.ID
		}
	}
	if s.ca != nil {
		p["os_ca_file"] = "viosim-ca.crt"
		p["nsx_ca_file"] = "viosim-ca.crt"
	} else {
		p["os_insecure"] = true
	}
	return p
}

// WriteFiles writes the CA (viosim-ca.crt) and an epks parameters file
// (viosim-params.yaml) into dir, and returns the parameters file's path.
func (s *Server) WriteFiles(dir string, o ParamsOptions) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if s.ca != nil {
		if err := os.WriteFile(filepath.Join(dir, "viosim-ca.crt"), s.CACertPEM(), 0o644); err != nil {
			return "", err
		}
	}
	data, err := yaml.Marshal(map[string]any{"parameters": s.Params(o)})
	if err != nil {
		return "", err
	}
	header := "# Parameters for epks, written by viosim: they point at the simulator on loopback.\n"
	path := filepath.Join(dir, "viosim-params.yaml")
	if err := os.WriteFile(path, append([]byte(header), data...), 0o600); err != nil {
		return "", err
	}
	return path, nil
}
