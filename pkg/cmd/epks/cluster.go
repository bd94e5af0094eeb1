package epks

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// clusterFlags say which cluster to talk to.
type clusterFlags struct {
	config *genericclioptions.ConfigFlags
}

func (cf *clusterFlags) addFlags(c *cobra.Command) {
	cf.config = genericclioptions.NewConfigFlags(true)
	c.Flags().StringVar(cf.config.KubeConfig, "kubeconfig", "", "kubeconfig of the cluster [$KUBECONFIG, ~/.kube/config]")
	c.Flags().StringVar(cf.config.Context, "context", "", "kubeconfig context to use [the current one]")
}

// getter returns the client getter for a namespace.
func (cf *clusterFlags) getter(namespace string) genericclioptions.RESTClientGetter {
	ns := namespace
	cf.config.Namespace = &ns
	return cf.config
}
