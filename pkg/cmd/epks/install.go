package epks

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/install"
)

func newInstallCommand(s streams) *cobra.Command {
	var (
		in      inputs
		cluster clusterFlags
		timeout time.Duration
		reapply bool
	)
	c := &cobra.Command{
		Use:   "install --params params.yaml",
		Short: "Install or upgrade the add-ons and wait until every component is ready",
		Long: `Install the epks-addons release into the cluster, or upgrade it, then wait until every
component is ready, printing a line per component as it becomes ready.

Running it again with the same inputs changes nothing in the cluster. When applying or
waiting fails, the release is rolled back to its previous revision (or removed, on a first
install), and the components that failed are reported with their pods and events.

The parameters are checked before anything is sent; bad input exits with code 2. Then, before
anything is applied, epks reads Keystone's catalog and checks that the pods will resolve the
host of every endpoint the components call (their host aliases, then the nodes' resolver: there
is no cluster DNS before the OCCM and NCP run), and names any that they will not.`,
		Example: `  epks install --params params.yaml
  epks install -p params.yaml --kubeconfig /etc/kubernetes/admin.conf --timeout 20m`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := in.load(c.Context(), s.err)
			if err != nil {
				return err
			}
			ch, err := charts.LoadAddons()
			if err != nil {
				return err
			}
			// Before anything is applied: every endpoint the components call
			// must resolve from the pods (hostAliases, the nodes' resolver).
			if err := install.CheckEndpoints(c.Context(), install.EndpointCheck{Values: l.values}); err != nil {
				return err
			}
			opts := install.Options{
				Getter:      cluster.getter(in.namespace),
				Namespace:   in.namespace,
				ReleaseName: in.name,
				Chart:       ch,
				Values:      l.values,
				Timeout:     timeout,
				Reapply:     reapply,
				Progress:    install.NewPrinter(s.err),
			}
			if l.post != nil {
				opts.PostRenderer = l.post
			}
			res, err := install.Install(c.Context(), opts)
			if err != nil {
				return err
			}
			if !res.Changed {
				fmt.Fprintf(s.out, "Release %s revision %d was already installed with these inputs; nothing changed. %d components ready.\n",
					in.name, res.Revision, len(res.Components))
				return nil
			}
			fmt.Fprintf(s.out, "Release %s revision %d is installed in namespace %s; %d components ready after %s.\n",
				in.name, res.Revision, in.namespace, len(res.Components), res.Elapsed.Round(time.Second))
			return nil
		},
	}
	in.addFlags(c)
	cluster.addFlags(c)
	c.Flags().DurationVar(&timeout, "timeout", install.DefaultTimeout, "how long to wait for the components")
	c.Flags().BoolVar(&reapply, "reapply", false, "upgrade even when nothing changed, to repair objects edited in the cluster")
	return c
}
