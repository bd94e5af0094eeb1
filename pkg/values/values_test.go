package values

import (
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/epks/epks/pkg/params"
)

func load(t *testing.T, edit func(m map[string]any)) *params.Params {
	t.Helper()
	m := map[string]any{
		"name": "k8scluster", "node_count": 3, "pod_network_cidr": "193.167.0.0/16",
		"kube_token": "yad31n.pil3w87thsvo9img", "nsx_api_manager": "192.0.2.1,192.0.2.2",
		"nsx_username": "admin", "nsx_password": "nsx-pw", "tier0_router": "t0",
		"overlay_tz": "tz", "ip_block": "pod-cidr", "external_ip_pool": "pool",
		"os_username": "admin", "os_password": "os-pw", "os_domain_id": "dom",
		"os_tenant_id": "tenant", "keystone_ip": "192.0.2.10", "public_network": "public",
	}
	if edit != nil {
		edit(m)
	}
	data, _ := yaml.Marshal(map[string]any{"parameters": m})
	p, err := params.Parse(data, params.Source{Name: "p.yaml", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func get(v map[string]any, path string) any {
	var cur any = v
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func TestFor(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(m map[string]any)
		ca       []byte
		want     map[string]any
		absent   []string
		warnings []string
	}{
		{
			name: "defaults",
			want: map[string]any{
				"clusterName": "k8scluster", "kubernetes.apiServerHost": "10.96.0.1", "kubernetes.apiServerPort": 443,
				"kubernetes.podCIDR": "193.167.0.0/16", "kubernetes.serviceCIDR": "10.96.0.0/12",
				"openstack.authURL": "https://192.0.2.10:5000/v3", "openstack.region": "nova",
				"openstack.username": "admin", "openstack.password": "os-pw", "openstack.projectID": "tenant",
				"openstack.userDomainID": "dom", "openstack.projectDomainID": "dom", "openstack.caBundle": "",
				"nsx.username": "admin", "nsx.password": "nsx-pw", "nsx.apiMode": "policy", "nsx.tier0Router": "t0",
				"nsx.overlayTZ": "tz", "loadBalancer.provider": "nsx", "nsxNodeAgent.mtu": 1500,
				"nsxNodeAgent.ovsUplinkPort": "ens224", "nsxNodeAgent.ovsInContainer": false,
				"cinderCSI.storageClass.name":        "cinder",
				"cinderCSI.volumeSnapshotClass.name": "cinder-snapshot", "portTagger.enabled": false,
			},
			absent:   []string{"hostAliases", "global", "ncp", "openstack.applicationCredentialID", "loadBalancer.octavia"},
			warnings: []string{"port tagger is off"},
		},
		{
			name: "pod network by CIDR, CA, registry, NCP image",
			edit: func(m map[string]any) {
				m["nsx_pod_net_cidr"] = "172.16.0.0/24"
				m["image_registry"] = "registry.local"
				m["ncp_image"] = "registry.local/2.4.1.13515827/nsx-ncp-ubuntu:latest"
				m["cinder_volume_type"] = "thin"
			},
			ca: []byte("PEM"),
			want: map[string]any{
				"portTagger.podNetworkCIDR": "172.16.0.0/24", "openstack.caBundle": "PEM",
				"global.imageRegistry": "registry.local", "ncp.image.registry": "registry.local",
				"ncp.image.repository": "2.4.1.13515827/nsx-ncp-ubuntu", "ncp.image.tag": "latest",
				"cinderCSI.storageClass.parameters.type": "thin",
			},
			absent: []string{"portTagger.enabled", "portTagger.podNetwork"},
		},
		{
			name: "octavia with IDs",
			edit: func(m map[string]any) {
				m["load_balancer_provider"] = "octavia"
				m["lb_floating_network"] = "0b9e2c45-2d5b-4b8b-8f3c-1e1f6b3d9a10"
				m["lb_subnet"] = "5f1f7a63-8a0e-4c1f-9e0b-9f3b0e6e6b11"
				m["pod_network"] = "pods"
			},
			want: map[string]any{
				"loadBalancer.provider": "octavia", "loadBalancer.octavia.floatingNetworkID": "0b9e2c45-2d5b-4b8b-8f3c-1e1f6b3d9a10",
				"loadBalancer.octavia.subnetID": "5f1f7a63-8a0e-4c1f-9e0b-9f3b0e6e6b11", "portTagger.podNetwork": "pods",
			},
		},
		{
			name: "octavia with names",
			edit: func(m map[string]any) {
				m["load_balancer_provider"] = "octavia"
				m["lb_subnet"] = "vip-subnet"
				m["pod_network"] = "pods"
			},
			absent:   []string{"loadBalancer.octavia.floatingNetworkID", "loadBalancer.octavia.subnetID"},
			warnings: []string{"lb_floating_network public is a name", "lb_subnet vip-subnet is not a subnet ID"},
		},
		{
			name: "application credential and host names",
			edit: func(m map[string]any) {
				delete(m, "os_username")
				delete(m, "os_password")
				m["os_application_credential_id"] = "app"
				m["os_application_credential_secret"] = "app-secret"
				m["ip_access"] = true
				m["nova_ip"] = "192.0.2.11"
				m["nova_hostnames"] = "nova.vio.local"
				m["pod_network"] = "pods"
			},
			want: map[string]any{
				"openstack.applicationCredentialID": "app", "openstack.applicationCredentialSecret": "app-secret",
			},
			absent: []string{"openstack.username", "openstack.password"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := For(load(t, tt.edit), tt.ca)
			for path, want := range tt.want {
				if got := get(res.Values, path); got != want {
					t.Errorf("%s = %#v, want %#v", path, got, want)
				}
			}
			for _, path := range tt.absent {
				if got := get(res.Values, path); got != nil {
					t.Errorf("%s = %#v, want it absent", path, got)
				}
			}
			if len(res.Warnings) != len(tt.warnings) {
				t.Errorf("warnings %q, want %q", res.Warnings, tt.warnings)
			}
			for i, w := range tt.warnings {
				if i < len(res.Warnings) && !strings.Contains(res.Warnings[i], w) {
					t.Errorf("warning %q lacks %q", res.Warnings[i], w)
				}
			}
		})
	}
}

func TestForLists(t *testing.T) {
	m := For(load(t, func(m map[string]any) {
		m["keystone_hostname"] = "keystone.vio.local"
		m["ip_access"] = true
		m["pod_network"] = "pods"
	}), nil).Values
	if got := get(m, "nsx.managers").([]any); len(got) != 2 || got[1] != "192.0.2.2" {
		t.Errorf("managers %v", got)
	}
	if got := get(m, "nsx.containerIPBlocks").([]any); len(got) != 1 || got[0] != "pod-cidr" {
		t.Errorf("ip blocks %v", got)
	}
	aliases := m["hostAliases"].([]any)
	first := aliases[0].(map[string]any)
	if first["ip"] != "192.0.2.10" || first["hostnames"].([]any)[0] != "keystone.vio.local" {
		t.Errorf("host aliases %v", aliases)
	}
}

func TestMerge(t *testing.T) {
	dst := map[string]any{"a": map[string]any{"x": 1, "y": 2}, "b": []any{1}, "c": "keep"}
	Merge(dst, map[string]any{"a": map[string]any{"y": 3, "z": 4}, "b": []any{2, 3}, "d": map[string]any{"n": 1}})
	want := map[string]any{"a": map[string]any{"x": 1, "y": 3, "z": 4}, "b": []any{2, 3}, "c": "keep", "d": map[string]any{"n": 1}}
	if !reflect.DeepEqual(dst, want) {
		t.Errorf("Merge = %v, want %v", dst, want)
	}
}
