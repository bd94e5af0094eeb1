package neutron

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

func badRequest(w http.ResponseWriter, err error) {
	api.ErrorStatus(w, api.Neutron, http.StatusBadRequest, err.Error())
}

func (n *neutron) createNetwork(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Network struct {
			Name     string   `json:"name"`
			External bool     `json:"router:external"`
			Shared   bool     `json:"shared"`
			MTU      int      `json:"mtu"`
			Tags     []string `json:"tags"`
			Desc     string   `json:"description"`
		} `json:"network"`
	}
	if err := api.ReadJSON(r, &req); err != nil {
		badRequest(w, err)
		return
	}
	if err := n.world.CheckNetworkQuota(n.project(r), "network"); err != nil {
		api.Error(w, api.Neutron, err)
		return
	}
	net := n.world.CreateNetwork(model.Network{Name: req.Network.Name, ProjectID: api.TokenOf(r.Context()).ProjectID,
		External: req.Network.External, Shared: req.Network.Shared, MTU: req.Network.MTU, Description: req.Network.Desc})
	if req.Network.Tags != nil {
		if err := n.withTags(model.TagNetworks, net.ID, &req.Network.Tags); err != nil {
			_ = n.world.DeleteNetwork(net.ID)
			api.Error(w, api.Neutron, err)
			return
		}
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"network": n.networkViews(r, net.ID)[0]})
}

func (n *neutron) createSubnet(w http.ResponseWriter, r *http.Request) {
	var req struct {
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
	if err := api.ReadJSON(r, &req); err != nil {
		badRequest(w, err)
		return
	}
	s := req.Subnet
	if len(n.networkViews(r, s.NetworkID)) == 0 {
		api.Error(w, api.Neutron, &model.ErrNotFound{Kind: "network", ID: s.NetworkID})
		return
	}
	if err := n.world.CheckNetworkQuota(n.project(r), "subnet"); err != nil {
		api.Error(w, api.Neutron, err)
		return
	}
	dhcp := s.EnableDHCP == nil || *s.EnableDHCP
	gw := ""
	if string(s.GatewayIP) == "null" {
		gw = model.NoGateway
	} else if len(s.GatewayIP) > 0 {
		if err := json.Unmarshal(s.GatewayIP, &gw); err != nil {
			badRequest(w, fmt.Errorf("Invalid input for gateway_ip. Reason: %s is not a valid IP address.", s.GatewayIP))
			return
		}
	}
	sub, err := n.world.CreateSubnet(model.Subnet{Name: s.Name, NetworkID: s.NetworkID, CIDR: s.CIDR, IPVersion: s.IPVersion,
		GatewayIP: gw, EnableDHCP: dhcp, DNSNameservers: s.DNSNameservers, ProjectID: api.TokenOf(r.Context()).ProjectID,
		AllocationPools: pools(s.Pools), Description: s.Description})
	if err != nil {
		api.Error(w, api.Neutron, err)
		return
	}
	if err := n.withTags(model.TagSubnets, sub.ID, s.Tags); err != nil {
		_ = n.world.DeleteSubnet(sub.ID)
		api.Error(w, api.Neutron, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"subnet": n.subnetViews(r, sub.ID)[0]})
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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (n *neutron) createPort(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Port portBody `json:"port"`
	}
	if err := api.ReadJSON(r, &req); err != nil {
		badRequest(w, err)
		return
	}
	b := req.Port
	p := model.Port{Name: deref(b.Name), NetworkID: b.NetworkID, DeviceID: deref(b.DeviceID), DeviceOwner: deref(b.DeviceOwner),
		Description: deref(b.Description), ProjectID: api.TokenOf(r.Context()).ProjectID}
	if b.SecurityGroups != nil {
		p.SecurityGroups = *b.SecurityGroups
	}
	for _, f := range b.FixedIPs {
		p.FixedIPs = append(p.FixedIPs, model.FixedIP{SubnetID: f.SubnetID, IPAddress: f.IPAddress})
	}
	p.MACAddress = b.MACAddress
	if len(n.networkViews(r, b.NetworkID)) == 0 {
		api.Error(w, api.Neutron, &model.ErrNotFound{Kind: "network", ID: b.NetworkID})
		return
	}
	if err := n.world.CheckNetworkQuota(p.ProjectID, "port"); err != nil {
		api.Error(w, api.Neutron, err)
		return
	}
	port, err := n.world.CreatePort(p)
	if err != nil {
		api.Error(w, api.Neutron, err)
		return
	}
	if b.Tags != nil {
		if err := n.withTags(model.TagPorts, port.ID, b.Tags); err != nil {
			_ = n.world.DeletePort(port.ID)
			api.Error(w, api.Neutron, err)
			return
		}
		port, _ = n.world.Port(port.ID)
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"port": portView(port)})
}

func (n *neutron) updatePort(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Port portBody `json:"port"`
	}
	if err := api.ReadJSON(r, &req); err != nil {
		badRequest(w, err)
		return
	}
	b := req.Port
	port, err := n.world.UpdatePort(r.PathValue("id"), model.PortUpdate{Name: b.Name, Description: b.Description,
		DeviceID: b.DeviceID, DeviceOwner: b.DeviceOwner, SecurityGroups: b.SecurityGroups, AdminStateUp: b.AdminStateUp})
	if err != nil {
		api.Error(w, api.Neutron, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"port": portView(port)})
}

func (n *neutron) createFloatingIP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		FloatingIP struct {
			FloatingNetworkID string    `json:"floating_network_id"`
			PortID            string    `json:"port_id"`
			FixedIPAddress    string    `json:"fixed_ip_address"`
			Description       string    `json:"description"`
			Tags              *[]string `json:"tags"`
		} `json:"floatingip"`
	}
	if err := api.ReadJSON(r, &req); err != nil {
		badRequest(w, err)
		return
	}
	f := req.FloatingIP
	if err := n.world.CheckNetworkQuota(n.project(r), "floatingip"); err != nil {
		api.Error(w, api.Neutron, err)
		return
	}
	fip, err := n.world.CreateFloatingIP(model.FloatingIP{FloatingNetworkID: f.FloatingNetworkID, PortID: f.PortID,
		FixedIPAddress: f.FixedIPAddress, Description: f.Description, ProjectID: api.TokenOf(r.Context()).ProjectID})
	if err != nil {
		api.Error(w, api.Neutron, err)
		return
	}
	if err := n.withTags(model.TagFloatingIPs, fip.ID, f.Tags); err != nil {
		_ = n.world.DeleteFloatingIP(fip.ID)
		api.Error(w, api.Neutron, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"floatingip": n.floatingIPViews(r, fip.ID)[0]})
}

func (n *neutron) updateFloatingIP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		FloatingIP struct {
			PortID         *string `json:"port_id"`
			FixedIPAddress string  `json:"fixed_ip_address"`
		} `json:"floatingip"`
	}
	if err := api.ReadJSON(r, &req); err != nil {
		badRequest(w, err)
		return
	}
	fip, err := n.world.UpdateFloatingIP(r.PathValue("id"), deref(req.FloatingIP.PortID), req.FloatingIP.FixedIPAddress)
	if err != nil {
		api.Error(w, api.Neutron, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"floatingip": n.floatingIPViews(r, fip.ID)[0]})
}

func (n *neutron) createSecurityGroup(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SecurityGroup struct {
			Name        string    `json:"name"`
			Description string    `json:"description"`
			Tags        *[]string `json:"tags"`
		} `json:"security_group"`
	}
	if err := api.ReadJSON(r, &req); err != nil {
		badRequest(w, err)
		return
	}
	project := n.project(r)
	n.world.EnsureDefaultSecurityGroup(project)
	if err := n.world.CheckNetworkQuota(project, "security_group"); err != nil {
		api.Error(w, api.Neutron, err)
		return
	}
	g := n.world.CreateSecurityGroup(model.SecurityGroup{Name: req.SecurityGroup.Name, Description: req.SecurityGroup.Description,
		ProjectID: project})
	if err := n.withTags(model.TagSecurityGroups, g.ID, req.SecurityGroup.Tags); err != nil {
		_ = n.world.DeleteSecurityGroup(g.ID)
		api.Error(w, api.Neutron, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"security_group": n.securityGroupViews(r, g.ID)[0]})
}

func (n *neutron) createRule(w http.ResponseWriter, r *http.Request) {
	var req struct {
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
	if err := api.ReadJSON(r, &req); err != nil {
		badRequest(w, err)
		return
	}
	x := req.Rule
	if x.Direction != "ingress" && x.Direction != "egress" {
		badRequest(w, fmt.Errorf("Invalid input for direction. Reason: %q is not in [ingress, egress].", x.Direction))
		return
	}
	if x.EtherType == "" {
		x.EtherType = "IPv4"
	}
	rule, err := n.world.CreateSecurityGroupRule(model.SecurityGroupRule{SecurityGroupID: x.SecurityGroupID, Direction: x.Direction,
		EtherType: x.EtherType, Protocol: x.Protocol, PortRangeMin: x.PortRangeMin, PortRangeMax: x.PortRangeMax,
		RemoteIPPrefix: x.RemoteIPPrefix, RemoteGroupID: x.RemoteGroupID, Description: x.Description})
	if err != nil {
		api.Error(w, api.Neutron, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"security_group_rule": ruleView(rule)})
}
