package podrun

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Names are how the pods resolve host names, as kubelet sets them up: each
// container's process sees the pod's own /etc/hosts and /etc/resolv.conf
// (bind-mounted in a private mount namespace; it needs root).
type Names struct {
	// NodeHosts is the nodes' /etc/hosts, which host-network pods start
	// from.
	NodeHosts string
	// NodeResolvConf is the nodes' /etc/resolv.conf: the resolver of
	// host-network pods with dnsPolicy Default or ClusterFirst, and of
	// every pod with Default.
	NodeResolvConf string
	// ClusterDNS is the address of the cluster DNS Service (kubelet's
	// --cluster-dns), the name server of ClusterFirst pods. Where no
	// cluster DNS runs yet, nothing answers there.
	ClusterDNS string
	// ClusterDomain [cluster.local].
	ClusterDomain string
}

// podHosts is the pod's /etc/hosts as kubelet writes it: the node's for
// host-network pods, else kubelet's defaults with the pod's IP and host
// name, then the hostAliases.
func (n *Names) podHosts(pod *corev1.Pod) string {
	var b strings.Builder
	if pod.Spec.HostNetwork {
		b.WriteString("# Kubernetes-managed hosts file (host network).\n")
		b.WriteString(n.NodeHosts)
		if n.NodeHosts != "" && !strings.HasSuffix(n.NodeHosts, "\n") {
			b.WriteString("\n")
		}
	} else {
		b.WriteString("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
			"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
		if pod.Status.PodIP != "" {
			host := pod.Name
			if pod.Spec.Hostname != "" {
				host = pod.Spec.Hostname
			}
			fmt.Fprintf(&b, "%s\t%s\n", pod.Status.PodIP, host)
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.String()
}

// podResolvConf is the pod's /etc/resolv.conf for its dnsPolicy, as
// kubelet writes it.
func (n *Names) podResolvConf(pod *corev1.Pod) (string, error) {
	domain := n.ClusterDomain
	if domain == "" {
		domain = "cluster.local"
	}
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
	}
	if policy == corev1.DNSClusterFirst && pod.Spec.HostNetwork {
		// ClusterFirst falls back to Default on the host network.
		policy = corev1.DNSDefault
	}
	switch policy {
	case corev1.DNSDefault:
		return n.NodeResolvConf, nil
	case corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet:
		return fmt.Sprintf("search %[1]s.svc.%[2]s svc.%[2]s %[2]s\nnameserver %[3]s\noptions ndots:5\n", pod.Namespace, domain, n.ClusterDNS), nil
	case corev1.DNSNone:
		var b strings.Builder
		if c := pod.Spec.DNSConfig; c != nil {
			if len(c.Searches) > 0 {
				fmt.Fprintf(&b, "search %s\n", strings.Join(c.Searches, " "))
			}
			for _, ns := range c.Nameservers {
				fmt.Fprintf(&b, "nameserver %s\n", ns)
			}
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("dnsPolicy %q is not one kubelet knows", policy)
}

// writeNames writes the pod's /etc/hosts and /etc/resolv.conf into dir and
// returns the bind mounts that give them to its processes.
func (n *Names) writeNames(pod *corev1.Pod, dir string) (map[string]string, error) {
	resolv, err := n.podResolvConf(pod)
	if err != nil {
		return nil, err
	}
	hostsPath, resolvPath := filepath.Join(dir, "etc-hosts"), filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(hostsPath, []byte(n.podHosts(pod)), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(resolvPath, []byte(resolv), 0o644); err != nil {
		return nil, err
	}
	return map[string]string{"/etc/hosts": hostsPath, "/etc/resolv.conf": resolvPath}, nil
}
