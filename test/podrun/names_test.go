package podrun

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNames checks the /etc/hosts and /etc/resolv.conf a pod's processes
// get, per network and dnsPolicy, as kubelet writes them.
func TestNames(t *testing.T) {
	n := &Names{NodeHosts: "127.0.0.1 localhost\n10.10.0.11 node-0\n", NodeResolvConf: "nameserver 127.0.53.1\n", ClusterDNS: "127.0.10.53"}
	aliases := []corev1.HostAlias{{IP: "127.0.0.1", Hostnames: []string{"keystone.openstack.svc.cluster.local", "nova.vio.local"}}}
	cluster := "search ns.svc.cluster.local svc.cluster.local cluster.local\nnameserver 127.0.10.53\noptions ndots:5\n"
	tests := []struct {
		name        string
		hostNetwork bool
		policy      corev1.DNSPolicy
		resolv      string
		hosts       []string
		notHosts    []string
	}{
		{"pod network, ClusterFirst", false, corev1.DNSClusterFirst, cluster,
			[]string{"::1\tlocalhost ip6-localhost ip6-loopback", "10.244.0.5\tp", "127.0.0.1\tkeystone.openstack.svc.cluster.local\tnova.vio.local"}, []string{"node-0"}},
		{"pod network, default policy", false, "", cluster, []string{"10.244.0.5\tp"}, nil},
		{"host network, ClusterFirst falls back to the node's", true, corev1.DNSClusterFirst, n.NodeResolvConf,
			[]string{"10.10.0.11 node-0", "127.0.0.1\tkeystone.openstack.svc.cluster.local\tnova.vio.local"}, []string{"10.244.0.5"}},
		{"host network, ClusterFirstWithHostNet", true, corev1.DNSClusterFirstWithHostNet, cluster, []string{"10.10.0.11 node-0"}, nil},
		{"host network, Default", true, corev1.DNSDefault, n.NodeResolvConf, []string{"10.10.0.11 node-0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
				Spec:   corev1.PodSpec{HostNetwork: tt.hostNetwork, DNSPolicy: tt.policy, HostAliases: aliases},
				Status: corev1.PodStatus{PodIP: "10.244.0.5"}}
			resolv, err := n.podResolvConf(pod)
			if err != nil {
				t.Fatal(err)
			}
			if resolv != tt.resolv {
				t.Errorf("resolv.conf\n got %q\nwant %q", resolv, tt.resolv)
			}
			hosts := n.podHosts(pod)
			for _, h := range tt.hosts {
				if !strings.Contains(hosts, h+"\n") {
					t.Errorf("/etc/hosts lacks %q:\n%s", h, hosts)
				}
			}
			for _, h := range tt.notHosts {
				if strings.Contains(hosts, h) {
					t.Errorf("/etc/hosts has %q:\n%s", h, hosts)
				}
			}
		})
	}
}
