package cloudinit

import (
	"bytes"
	"fmt"
	"net"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/epks/epks/pkg/params"
)

// kubeadm's configuration, v1beta4 (Kubernetes 1.31 and later), as far as
// epks sets it. The field names are kubeadm's; `kubeadm config validate`
// checks every rendered file strictly.
const (
	kubeadmAPIVersion = "kubeadm.k8s.io/v1beta4"
	kubeletAPIVersion = "kubelet.config.k8s.io/v1beta1"
	criSocket         = "unix:///run/containerd/containerd.sock"
	// patchesDir holds the kubelet patch with the node's provider ID, written
	// at boot by epks-kubeadm.sh.
	patchesDir = "/etc/epks/kubeadm-patches"
	// tokenTTL is how long the bootstrap token lets nodes join: kubeadm's
	// default. Nodes added later need a new token in kube_token.
	tokenTTL = "24h0m0s"
	// joinDiscoveryTimeout lets a joining node wait for a control plane that
	// boots at the same time and still installs its packages.
	joinDiscoveryTimeout = "30m0s"
	// healthCheckTimeout and apiCallTimeout replace kubeadm's 4 minutes for
	// the kubelet and the control plane to become healthy and 1 minute for
	// an API call: a first boot on a busy hypervisor can take longer (the
	// boot test's emulated machine timed out creating the admin's binding),
	// and a node that gives up is left half made; waiting longer costs
	// nothing.
	healthCheckTimeout = "15m0s"
	apiCallTimeout     = "5m0s"
)

// bootTimeouts are the timeouts of kubeadm init and join at first boot.
func bootTimeouts() timeouts {
	return timeouts{ControlPlaneComponentHealthCheck: healthCheckTimeout, KubeletHealthCheck: healthCheckTimeout,
		KubernetesAPICall: apiCallTimeout, EtcdAPICall: apiCallTimeout, TLSBootstrap: healthCheckTimeout}
}

type typeMeta struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
}

type arg struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

type nodeRegistration struct {
	CRISocket        string `yaml:"criSocket"`
	KubeletExtraArgs []arg  `yaml:"kubeletExtraArgs"`
	ImagePullPolicy  string `yaml:"imagePullPolicy"`
}

type patches struct {
	Directory string `yaml:"directory"`
}

type timeouts struct {
	ControlPlaneComponentHealthCheck string `yaml:"controlPlaneComponentHealthCheck,omitempty"`
	KubeletHealthCheck               string `yaml:"kubeletHealthCheck,omitempty"`
	KubernetesAPICall                string `yaml:"kubernetesAPICall,omitempty"`
	EtcdAPICall                      string `yaml:"etcdAPICall,omitempty"`
	TLSBootstrap                     string `yaml:"tlsBootstrap,omitempty"`
	Discovery                        string `yaml:"discovery,omitempty"`
}

type bootstrapToken struct {
	Token       string   `yaml:"token"`
	Description string   `yaml:"description"`
	TTL         string   `yaml:"ttl"`
	Usages      []string `yaml:"usages"`
	Groups      []string `yaml:"groups"`
}

type initConfiguration struct {
	typeMeta         `yaml:",inline"`
	BootstrapTokens  []bootstrapToken `yaml:"bootstrapTokens"`
	NodeRegistration nodeRegistration `yaml:"nodeRegistration"`
	Patches          patches          `yaml:"patches"`
	Timeouts         timeouts         `yaml:"timeouts"`
}

type networking struct {
	PodSubnet     string `yaml:"podSubnet"`
	ServiceSubnet string `yaml:"serviceSubnet"`
}

type apiServer struct {
	CertSANs []string `yaml:"certSANs,omitempty"`
}

type clusterConfiguration struct {
	typeMeta             `yaml:",inline"`
	ClusterName          string     `yaml:"clusterName"`
	KubernetesVersion    string     `yaml:"kubernetesVersion"`
	ControlPlaneEndpoint string     `yaml:"controlPlaneEndpoint"`
	Networking           networking `yaml:"networking"`
	APIServer            apiServer  `yaml:"apiServer"`
}

type kubeletConfiguration struct {
	typeMeta     `yaml:",inline"`
	CgroupDriver string `yaml:"cgroupDriver"`
}

type bootstrapTokenDiscovery struct {
	Token             string   `yaml:"token"`
	APIServerEndpoint string   `yaml:"apiServerEndpoint"`
	CACertHashes      []string `yaml:"caCertHashes"`
}

type discovery struct {
	BootstrapToken bootstrapTokenDiscovery `yaml:"bootstrapToken"`
}

// joinControlPlane is empty: the node advertises its default address, and
// the shared keys are files already (no certificateKey).
type joinControlPlane struct{}

type joinConfiguration struct {
	typeMeta         `yaml:",inline"`
	NodeRegistration nodeRegistration  `yaml:"nodeRegistration"`
	Discovery        discovery         `yaml:"discovery"`
	ControlPlane     *joinControlPlane `yaml:"controlPlane,omitempty"`
	Patches          patches           `yaml:"patches"`
	Timeouts         timeouts          `yaml:"timeouts"`
}

// endpoint returns the control-plane endpoint as host:port.
func endpoint(p *params.Params) (string, error) {
	host, port, err := params.SplitEndpoint(p.ControlPlaneEndpoint)
	if err != nil {
		return "", fmt.Errorf("control_plane_endpoint %q %w", p.ControlPlaneEndpoint, err)
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

func registration() nodeRegistration {
	return nodeRegistration{
		CRISocket: criSocket,
		// The OpenStack cloud controller manager initializes the nodes.
		KubeletExtraArgs: []arg{{Name: "cloud-provider", Value: "external"}},
		// Images come from the offline bundle when it has them.
		ImagePullPolicy: "IfNotPresent",
	}
}

// KubeadmConfig returns the kubeadm configuration of a node of role: init
// on the first control-plane node, join on the others. Only the init
// configuration holds the bootstrap token's description, the cluster's
// networks and the certificate SANs; join configurations hold the token and
// the CA pin.
func KubeadmConfig(p *params.Params, role Role, pki *PKI) ([]byte, error) {
	ep, err := endpoint(p)
	if err != nil {
		return nil, err
	}
	var docs []any
	switch role {
	case RoleControlPlane:
		docs = []any{
			initConfiguration{
				typeMeta: typeMeta{kubeadmAPIVersion, "InitConfiguration"},
				BootstrapTokens: []bootstrapToken{{
					Token:       p.KubeToken,
					Description: "epks: the nodes of cluster " + p.Name + " join with it",
					TTL:         tokenTTL,
					Usages:      []string{"signing", "authentication"},
					Groups:      []string{"system:bootstrappers:kubeadm:default-node-token"},
				}},
				NodeRegistration: registration(),
				Patches:          patches{Directory: patchesDir},
				Timeouts:         bootTimeouts(),
			},
			clusterConfiguration{
				typeMeta:             typeMeta{kubeadmAPIVersion, "ClusterConfiguration"},
				ClusterName:          p.Name,
				KubernetesVersion:    p.KubernetesVersion,
				ControlPlaneEndpoint: ep,
				Networking:           networking{PodSubnet: p.PodNetworkCIDR.String(), ServiceSubnet: p.ServiceCIDR.String()},
				APIServer:            apiServer{CertSANs: p.ControlPlaneCertSANs},
			},
			kubeletConfiguration{
				typeMeta:     typeMeta{kubeletAPIVersion, "KubeletConfiguration"},
				CgroupDriver: "systemd",
			},
		}
	case RoleControlPlaneJoin, RoleWorker:
		t := bootTimeouts()
		t.Discovery = joinDiscoveryTimeout
		jc := joinConfiguration{
			typeMeta:         typeMeta{kubeadmAPIVersion, "JoinConfiguration"},
			NodeRegistration: registration(),
			Discovery: discovery{BootstrapToken: bootstrapTokenDiscovery{
				Token:             p.KubeToken,
				APIServerEndpoint: ep,
				CACertHashes:      []string{pki.CACertHash()},
			}},
			Patches:  patches{Directory: patchesDir},
			Timeouts: t,
		}
		if role == RoleControlPlaneJoin {
			jc.ControlPlane = &joinControlPlane{}
		}
		docs = []any{jc}
	default:
		return nil, fmt.Errorf("unknown role %q", role)
	}
	return yamlDocs(docs...)
}

// yamlDocs writes values as one YAML stream of documents.
func yamlDocs(docs ...any) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return nil, fmt.Errorf("encoding YAML: %w", err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
