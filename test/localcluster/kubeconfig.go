package localcluster

import (
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfigs writes a kubeconfig per client identity of the PKI.
func (c *Cluster) writeKubeconfigs() error {
	for _, user := range []string{"admin", "kube-controller-manager", "kube-scheduler", "kwok"} {
		cfg := clientcmdapi.NewConfig()
		cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: c.apiServer, CertificateAuthority: c.pki.path("ca.crt")}
		cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{
			ClientCertificate: c.pki.path(user + ".crt"),
			ClientKey:         c.pki.path(user + ".key"),
		}
		cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: user}
		cfg.CurrentContext = "local"
		if err := clientcmd.WriteToFile(*cfg, filepath.Join(c.opts.Dir, user+".kubeconfig")); err != nil {
			return err
		}
	}
	return nil
}
