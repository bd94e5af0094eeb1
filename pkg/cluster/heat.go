package cluster

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/epks/epks/pkg/cloudinit"
	"github.com/epks/epks/pkg/cluster/services/floatingip"
	"github.com/epks/epks/pkg/cluster/services/server"
	"github.com/epks/epks/pkg/cluster/services/servergroup"
	"github.com/epks/epks/pkg/params"
)

// HeatTemplateVersion is the HOT version the template is written in
// (OpenStack Rocky and later).
const HeatTemplateVersion = "2018-08-31"

// PodMACPlaceholder stands for a node's pod port MAC in the user data
// files of the HEAT template; the template has HEAT put the port's
// mac_address in its place (str_replace).
const PodMACPlaceholder = "__epks_pod_mac__"

// Heat is what epks cluster heat-template writes: the template, its
// environment and each node's user data, which the template reads with
// get_file (so no value of the user data is part of the template's YAML).
type Heat struct {
	Template    []byte
	Environment []byte
	// UserData maps a file name (relative to the template) to its content.
	UserData map[string][]byte
	// UserDataOrder lists the user data files in the order of the nodes.
	UserDataOrder []string
}

// Parameters the template reads (get_param); every other parameter is
// declared so that the parameters file works as the stack's environment.
var heatUsed = map[string]string{
	"image":          "glance.image",
	"flavor":         "nova.flavor",
	"key_name":       "nova.keypair",
	"public_network": "neutron.network",
}

// heatFixed are the parameters the template's resources were derived
// from: the template allows only the values it was written for.
var heatFixed = map[string]bool{
	"name": true, "node_count": true, "control_plane_count": true, "floating_ips": true,
	"mgmt_net_cidr": true, "api_net_cidr": true, "nsx_pod_net_cidr": true, "nameserver": true, "api_access_cidr": true,
}

// HeatTemplate writes the HOT template of the same resources Create makes
// for spec, with p's parameters declared (the parameters file works as the
// environment) and each node's user data rendered with the pod MAC left
// as PodMACPlaceholder. Nothing is gzipped: HEAT passes user data as text.
func HeatTemplate(spec *Spec, p *params.Params, userData UserData) (*Heat, error) {
	h := &Heat{UserData: map[string][]byte{}}
	var pdecl, env omap
	for _, f := range params.Fields(p) {
		d, envValue := heatParameter(f)
		pdecl = append(pdecl, kv{f.Name, d})
		if envValue != nil {
			env = append(env, kv{f.Name, envValue})
		}
	}
	var res omap
	add := func(name, typ string, props omap) {
		res = append(res, kv{name, omap{{"type", typ}, {"properties", props}}})
	}
	desc := "epks cluster " + spec.Name
	tags := []any{"epks-cluster=" + spec.Name}
	for _, n := range spec.Networks {
		add(n.Name, "OS::Neutron::Net", omap{{"name", n.Name}, {"admin_state_up", true}, {"tags", tags},
			{"value_specs", omap{{"description", desc}}}})
		sub := omap{{"name", n.SubnetName}, {"network", ref(n.Name)}, {"cidr", n.CIDR.String()}, {"ip_version", 4},
			{"enable_dhcp", true}}
		if len(n.Nameservers) > 0 {
			sub = append(sub, kv{"dns_nameservers", strs(n.Nameservers)})
		}
		sub = append(sub, kv{"tags", tags}, kv{"value_specs", omap{{"description", desc}}})
		add(n.SubnetName, "OS::Neutron::Subnet", sub)
	}
	for _, r := range spec.Routers {
		add(r.Name, "OS::Neutron::Router", omap{{"name", r.Name}, {"admin_state_up", true},
			{"external_gateway_info", omap{{"network", param("public_network")}, {"enable_snat", r.SNAT}}},
			{"tags", tags}, {"value_specs", omap{{"description", desc}}}})
		for _, role := range r.Networks {
			sub := spec.Network(role).SubnetName
			add(r.Name+"-"+sub, "OS::Neutron::RouterInterface", omap{{"router", ref(r.Name)}, {"subnet", ref(sub)}})
		}
	}
	sg := spec.SecurityGroup
	add(sg.Name, "OS::Neutron::SecurityGroup", omap{{"name", sg.Name}, {"description", desc}})
	for i, r := range sg.Rules {
		add(fmt.Sprintf("%s-rule-%d", sg.Name, i), "OS::Neutron::SecurityGroupRule", omap{
			{"security_group", ref(sg.Name)}, {"direction", "ingress"}, {"ethertype", "IPv4"}, {"protocol", r.Protocol},
			{"port_range_min", r.PortMin}, {"port_range_max", r.PortMax}, {"remote_ip_prefix", r.RemoteIPPrefix},
			{"description", r.Description}})
	}
	if spec.ServerGroup != "" {
		add(spec.ServerGroup, "OS::Nova::ServerGroup", omap{{"name", spec.ServerGroup}, {"policies", []any{servergroup.Policy}}})
	}
	// The routers' interfaces: a floating IP needs its port's subnet to
	// reach the external network.
	var interfaces []any
	for _, r := range spec.Routers {
		for _, role := range r.Networks {
			interfaces = append(interfaces, r.Name+"-"+spec.Network(role).SubnetName)
		}
	}
	for _, n := range spec.Nodes {
		for _, pt := range []struct {
			name, role string
			ip         string
		}{{n.MgmtPort(), Mgmt, n.MgmtIP.String()}, {n.PodPort(), Pod, n.PodIP.String()}} {
			net := spec.Network(pt.role)
			add(pt.name, "OS::Neutron::Port", omap{{"name", pt.name}, {"network", ref(net.Name)}, {"admin_state_up", true},
				{"fixed_ips", []any{omap{{"subnet", ref(net.SubnetName)}, {"ip_address", pt.ip}}}},
				{"security_groups", []any{ref(sg.Name)}}, {"tags", tags}, {"value_specs", omap{{"description", desc}}}})
		}
		data, err := userData(n, PodMACPlaceholder)
		if err != nil {
			return nil, fmt.Errorf("rendering the user data of %s: %w", n.Name, err)
		}
		if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) || base64.StdEncoding.EncodedLen(len(data)) > cloudinit.MaxUserData {
			return nil, fmt.Errorf("the user data of %s is %d bytes, more than Nova takes (%d in base64) without gzip, which HEAT cannot pass: use epks cluster create",
				n.Name, len(data), cloudinit.MaxUserData)
		}
		file := n.Name + ".user-data"
		h.UserData[file] = data
		h.UserDataOrder = append(h.UserDataOrder, file)
		sv := omap{{"name", n.Name}, {"image", param("image")}, {"flavor", param("flavor")}, {"key_name", param("key_name")},
			{"networks", []any{omap{{"port", ref(n.MgmtPort())}}, omap{{"port", ref(n.PodPort())}}}},
			{"config_drive", true},
			{"metadata", omap{{server.ClusterKey, spec.Name}, {server.RoleKey, string(n.Role)}}},
			{"user_data_format", "RAW"},
			{"user_data", omap{{"str_replace", omap{
				{"template", omap{{"get_file", file}}},
				{"params", omap{{PodMACPlaceholder, omap{{"get_attr", []any{n.PodPort(), "mac_address"}}}}}},
			}}}},
		}
		if n.ControlPlane() && spec.ServerGroup != "" {
			sv = append(sv, kv{"scheduler_hints", omap{{"group", ref(spec.ServerGroup)}}})
		}
		add(n.Name, "OS::Nova::Server", sv)
		if n.FloatingIP {
			fip := omap{{"type", "OS::Neutron::FloatingIP"}, {"depends_on", interfaces}, {"properties", omap{
				{"floating_network", param("public_network")}, {"port_id", ref(n.MgmtPort())},
				{"value_specs", omap{{"description", floatingip.Spec{Name: n.Name}.Description(spec.Name)}}}}}}
			res = append(res, kv{n.Name + "-floating-ip", fip})
		}
	}
	var outputs omap
	for _, n := range spec.Nodes {
		outputs = append(outputs, kv{n.Name + "-address", omap{{"description", "management address of " + n.Name},
			{"value", omap{{"get_attr", []any{n.MgmtPort(), "fixed_ips", 0, "ip_address"}}}}}})
		if n.FloatingIP {
			outputs = append(outputs, kv{n.Name + "-floating-ip", omap{{"description", "floating IP of " + n.Name},
				{"value", omap{{"get_attr", []any{n.Name + "-floating-ip", "floating_ip_address"}}}}}})
		}
	}
	tmpl := omap{
		{"heat_template_version", HeatTemplateVersion},
		{"description", "The infrastructure of cluster " + spec.Name + " as epks cluster create builds it: networks, routers, " +
			"security group, ports, floating IPs and servers with the user data of epks cloud-init. Written by epks cluster heat-template."},
		{"parameters", pdecl},
		{"resources", res},
		{"outputs", outputs},
	}
	var err error
	if h.Template, err = marshal("# Written by `epks cluster heat-template` for cluster "+spec.Name+
		": openstack stack create -e params.yaml --template THIS "+spec.Name+"\n", tmpl); err != nil {
		return nil, err
	}
	if h.Environment, err = marshal("# The environment of the template epks cluster heat-template wrote for cluster "+spec.Name+
		": the parameters it reads and the ones it was written for (secrets are in the user data files, not here).\n",
		omap{{"parameters", env}}); err != nil {
		return nil, err
	}
	return h, nil
}

// heatParameter declares one parameter of the parameters file; it returns
// what the written environment sets it to (nil: nothing).
func heatParameter(f params.Field) (omap, any) {
	var typ string
	var def any
	switch v := f.Value.(type) {
	case string:
		typ, def = "string", v
	case int:
		typ, def = "number", v
	case bool:
		typ, def = "boolean", v
	case []string:
		typ, def = "comma_delimited_list", strings.Join(v, ",")
	}
	if f.Alias != "" {
		return omap{{"type", typ}, {"default", zero(typ)},
			{"description", "Another spelling of " + f.Alias + "."}}, nil
	}
	if f.Secret {
		return omap{{"type", typ}, {"default", ""}, {"hidden", true},
			{"description", "Rendered into the user data files by epks cluster heat-template; the template does not read it."}}, nil
	}
	d := omap{{"type", typ}, {"default", def}}
	if c, used := heatUsed[f.Name]; used {
		d = append(d, kv{"description", "Read by the template."},
			kv{"constraints", []any{omap{{"custom_constraint", c}}}})
		return d, def
	}
	if heatFixed[f.Name] {
		d = append(d, kv{"description", "The template's resources were derived from this value."},
			kv{"constraints", []any{omap{{"allowed_values", []any{def}},
				{"description", "the template was written for " + f.Name + " " + display(def) + ": run epks cluster heat-template again"}}}})
		return d, def
	}
	return append(d, kv{"description", "Rendered into the user data files by epks cluster heat-template; the template does not read it."}), nil
}

func zero(typ string) any {
	switch typ {
	case "number":
		return 0
	case "boolean":
		return false
	}
	return ""
}

func display(v any) string {
	if s, ok := v.(string); ok {
		if s == "" {
			return "unset"
		}
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// kv and omap are an ordered YAML map; strings are always quoted.
type kv struct {
	k string
	v any
}

type omap []kv

func ref(name string) omap   { return omap{{"get_resource", name}} }
func param(name string) omap { return omap{{"get_param", name}} }

func strs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func marshal(header string, v omap) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(yamlNode(v)); err != nil {
		return nil, fmt.Errorf("writing the HEAT template: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("writing the HEAT template: %w", err)
	}
	return b.Bytes(), nil
}

func yamlNode(v any) *yaml.Node {
	switch v := v.(type) {
	case omap:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for _, e := range v {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: e.k}, yamlNode(e.v))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range v {
			n.Content = append(n.Content, yamlNode(e))
		}
		return n
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle}
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(v)}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
	}
	panic(fmt.Sprintf("yamlNode: %T", v))
}
