package neutron

import (
	"encoding/json"
	"net/http"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

// get is a read: no body, 200.
func get(fn func(r *http.Request) (any, error)) http.HandlerFunc { return api.Get(api.Neutron, fn) }

// handle is a write whose body is a Req.
func handle[Req any](status int, fn func(r *http.Request, req *Req) (any, error)) http.HandlerFunc {
	return api.Handle(api.Neutron, status, fn)
}

func badRequest(format string, a ...any) error {
	return api.Errorf(http.StatusBadRequest, format, a...)
}

func (n *neutron) createNetwork() http.HandlerFunc {
	type req struct {
		Network struct {
			Name     string    `json:"name"`
			External bool      `json:"router:external"`
			Shared   bool      `json:"shared"`
			MTU      int       `json:"mtu"`
			Tags     *[]string `json:"tags"`
			Desc     string    `json:"description"`
		} `json:"network"`
	}
	return handle(http.StatusCreated, func(r *http.Request, q *req) (any, error) {
		b := q.Network
		if err := n.world.CheckNetworkQuota(n.project(r), "network"); err != nil {
			return nil, err
		}
		net := n.world.CreateNetwork(model.Network{Name: b.Name, ProjectID: n.project(r),
			External: b.External, Shared: b.Shared, MTU: b.MTU, Description: b.Desc})
		if err := n.withTags(model.TagNetworks, net.ID, b.Tags); err != nil {
			_ = n.world.DeleteNetwork(net.ID)
			return nil, err
		}
		return n.show(r, "network", net.ID, n.networkViews)
	})
}

func (n *neutron) createSubnet() http.HandlerFunc {
	type req struct {
		Subnet struct {
			Name           string          `json:"name"`
			NetworkID      string          `json:"network_id"`
			CIDR           string          `json:"cidr"`
			IPVersion      int             `json:"ip_version"`
			GatewayIP      json.RawMessage `json:"gateway_ip"`
			EnableDHCP     *bool           `json:"enable_dhcp"`
			DNSNameservers []string        `json:"dns_nameservers"`
			Pools          []poolBody      `json:"allocation_pools"`
			Description    string          `json:"description"`
			Tags           *[]string       `json:"tags"`
		} `json:"subnet"`
	}
	return handle(http.StatusCreated, func(r *http.Request, q *req) (any, error) {
		s := q.Subnet
		if len(n.networkViews(r, s.NetworkID)) == 0 {
			return nil, &model.ErrNotFound{Kind: "network", ID: s.NetworkID}
		}
		if err := n.world.CheckNetworkQuota(n.project(r), "subnet"); err != nil {
			return nil, err
		}
		dhcp := s.EnableDHCP == nil || *s.EnableDHCP
		gw := ""
		if string(s.GatewayIP) == "null" {
			gw = model.NoGateway
		} else if len(s.GatewayIP) > 0 {
			if err := json.Unmarshal(s.GatewayIP, &gw); err != nil {
				return nil, badRequest("Invalid input for gateway_ip. Reason: %s is not a valid IP address.", s.GatewayIP)
			}
		}
		sub, err := n.world.CreateSubnet(model.Subnet{Name: s.Name, NetworkID: s.NetworkID, CIDR: s.CIDR, IPVersion: s.IPVersion,
			GatewayIP: gw, EnableDHCP: dhcp, DNSNameservers: s.DNSNameservers, ProjectID: n.project(r),
			AllocationPools: pools(s.Pools), Description: s.Description})
		if err != nil {
			return nil, err
		}
		if err := n.withTags(model.TagSubnets, sub.ID, s.Tags); err != nil {
			_ = n.world.DeleteSubnet(sub.ID)
			return nil, err
		}
		return n.show(r, "subnet", sub.ID, n.subnetViews)
	})
}

type portBody struct {
	Name        *string `json:"name"`
	NetworkID   string  `json:"network_id"`
	DeviceID    *string `json:"device_id"`
	DeviceOwner *string `json:"device_owner"`
	Description *string `json:"description"`
	FixedIPs    []struct {
		SubnetID  string `json:"subnet_id"`
		IPAddress string `json:"ip_address"`
	} `json:"fixed_ips"`
	SecurityGroups *[]string `json:"security_groups"`
	AdminStateUp   *bool     `json:"admin_state_up"`
	Tags           *[]string `json:"tags"`
	MACAddress     string    `json:"mac_address"`
}

type portReq struct {
	Port portBody `json:"port"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (n *neutron) createPort() http.HandlerFunc {
	return handle(http.StatusCreated, func(r *http.Request, q *portReq) (any, error) {
		b := q.Port
		p := model.Port{Name: deref(b.Name), NetworkID: b.NetworkID, DeviceID: deref(b.DeviceID), DeviceOwner: deref(b.DeviceOwner),
			Description: deref(b.Description), ProjectID: n.project(r), MACAddress: b.MACAddress}
		if b.SecurityGroups != nil {
			p.SecurityGroups = *b.SecurityGroups
		}
		for _, f := range b.FixedIPs {
			p.FixedIPs = append(p.FixedIPs, model.FixedIP{SubnetID: f.SubnetID, IPAddress: f.IPAddress})
		}
		if len(n.networkViews(r, b.NetworkID)) == 0 {
			return nil, &model.ErrNotFound{Kind: "network", ID: b.NetworkID}
		}
		if err := n.world.CheckNetworkQuota(p.ProjectID, "port"); err != nil {
			return nil, err
		}
		port, err := n.world.CreatePort(p)
		if err != nil {
			return nil, err
		}
		if err := n.withTags(model.TagPorts, port.ID, b.Tags); err != nil {
			_ = n.world.DeletePort(port.ID)
			return nil, err
		}
		return n.show(r, "port", port.ID, n.portViews)
	})
}

func (n *neutron) updatePort() http.HandlerFunc {
	return handle(http.StatusOK, func(r *http.Request, q *portReq) (any, error) {
		b := q.Port
		port, err := n.world.UpdatePort(r.PathValue("id"), model.PortUpdate{Name: b.Name, Description: b.Description,
			DeviceID: b.DeviceID, DeviceOwner: b.DeviceOwner, SecurityGroups: b.SecurityGroups, AdminStateUp: b.AdminStateUp})
		if err != nil {
			return nil, err
		}
		return map[string]any{"port": portView(port)}, nil
	})
}

func (n *neutron) createFloatingIP() http.HandlerFunc {
	type req struct {
		FloatingIP struct {
			FloatingNetworkID string    `json:"floating_network_id"`
			PortID            string    `json:"port_id"`
			FixedIPAddress    string    `json:"fixed_ip_address"`
			Description       string    `json:"description"`
			Tags              *[]string `json:"tags"`
		} `json:"floatingip"`
	}
	return handle(http.StatusCreated, func(r *http.Request, q *req) (any, error) {
		f := q.FloatingIP
		if err := n.world.CheckNetworkQuota(n.project(r), "floatingip"); err != nil {
			return nil, err
		}
		fip, err := n.world.CreateFloatingIP(model.FloatingIP{FloatingNetworkID: f.FloatingNetworkID, PortID: f.PortID,
			FixedIPAddress: f.FixedIPAddress, Description: f.Description, ProjectID: n.project(r)})
		if err != nil {
			return nil, err
		}
		if err := n.withTags(model.TagFloatingIPs, fip.ID, f.Tags); err != nil {
			_ = n.world.DeleteFloatingIP(fip.ID)
			return nil, err
		}
		return n.show(r, "floatingip", fip.ID, n.floatingIPViews)
	})
}

func (n *neutron) updateFloatingIP() http.HandlerFunc {
	type req struct {
		FloatingIP struct {
			PortID         *string `json:"port_id"`
			FixedIPAddress string  `json:"fixed_ip_address"`
		} `json:"floatingip"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		fip, err := n.world.UpdateFloatingIP(r.PathValue("id"), deref(q.FloatingIP.PortID), q.FloatingIP.FixedIPAddress)
		if err != nil {
			return nil, err
		}
		return n.show(r, "floatingip", fip.ID, n.floatingIPViews)
	})
}

func (n *neutron) createSecurityGroup() http.HandlerFunc {
	type req struct {
		SecurityGroup struct {
			Name        string    `json:"name"`
			Description string    `json:"description"`
			Tags        *[]string `json:"tags"`
		} `json:"security_group"`
	}
	return handle(http.StatusCreated, func(r *http.Request, q *req) (any, error) {
		project := n.project(r)
		n.world.EnsureDefaultSecurityGroup(project)
		if err := n.world.CheckNetworkQuota(project, "security_group"); err != nil {
			return nil, err
		}
		g := n.world.CreateSecurityGroup(model.SecurityGroup{Name: q.SecurityGroup.Name, Description: q.SecurityGroup.Description,
			ProjectID: project})
		if err := n.withTags(model.TagSecurityGroups, g.ID, q.SecurityGroup.Tags); err != nil {
			_ = n.world.DeleteSecurityGroup(g.ID)
			return nil, err
		}
		return n.show(r, "security_group", g.ID, n.securityGroupViews)
	})
}

func (n *neutron) createRule() http.HandlerFunc {
	type req struct {
		Rule struct {
			SecurityGroupID string `json:"security_group_id"`
			Direction       string `json:"direction"`
			EtherType       string `json:"ethertype"`
			Protocol        string `json:"protocol"`
			PortRangeMin    int    `json:"port_range_min"`
			PortRangeMax    int    `json:"port_range_max"`
			RemoteIPPrefix  string `json:"remote_ip_prefix"`
			RemoteGroupID   string `json:"remote_group_id"`
			Description     string `json:"description"`
		} `json:"security_group_rule"`
	}
	return handle(http.StatusCreated, func(r *http.Request, q *req) (any, error) {
		x := q.Rule
		if x.Direction != "ingress" && x.Direction != "egress" {
			return nil, badRequest("Invalid input for direction. Reason: %q is not in [ingress, egress].", x.Direction)
		}
		if x.EtherType == "" {
			x.EtherType = "IPv4"
		}
		rule, err := n.world.CreateSecurityGroupRule(model.SecurityGroupRule{SecurityGroupID: x.SecurityGroupID, Direction: x.Direction,
			EtherType: x.EtherType, Protocol: x.Protocol, PortRangeMin: x.PortRangeMin, PortRangeMax: x.PortRangeMax,
			RemoteIPPrefix: x.RemoteIPPrefix, RemoteGroupID: x.RemoteGroupID, Description: x.Description})
		if err != nil {
			return nil, err
		}
		return map[string]any{"security_group_rule": ruleView(rule)}, nil
	})
}
