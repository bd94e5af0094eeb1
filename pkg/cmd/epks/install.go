package epks

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/epks/epks/pkg/install"
)

func newInstallCommand(s streams) *cobra.Command {
	var (
		in      inputFlags
		cluster clusterFlags
		timeout time.Duration
		lockTO  time.Duration
		reapply bool
	)
	c := &cobra.Command{
		Use:   "install --params params.yaml",
		Short: "Install or upgrade the add-ons and wait until every component is ready",
		Long: `Install the epks-addons release into the cluster, or upgrade it, then wait until every
component is ready, printing a line per component as it becomes ready.

Running it again with the same inputs changes nothing in the cluster. When applying or
waiting fails, the release is rolled back to its previous revision (or removed, on a first
install), and the components that failed are reported with their pods and events. Only a
revision that this run created is ever rolled back or removed.

One run at a time: a run holds the Lease <release>-lock in the release namespace while it
works; another run waits for it up to --lock-timeout, printing who holds it, then fails
without changing anything. A release left pending by a run that was killed is rolled back
to its last deployed revision (never uninstalled) by the next run.

The workloads that mount a Secret the upgrade changed (a password, a certificate) are
restarted, as kubectl rollout restart does. Snapshot CRDs or a snapshot-controller that
someone else installed are reused: the chart's snapshot-controller is then not installed.

The parameters are checked before anything is sent; bad input exits with code 2. Before
anything is applied, every endpoint the components call (Keystone, each NSX Manager) must
present a certificate the pinned trust accepts (os_ca_file, nsx_ca_file, nsx_thumbprint;
see epks trust); otherwise the preflight fails with exit code 1 and names the endpoint. epks also reads Keystone's catalog and checks that the pods will
resolve the host of every endpoint the components call (their host aliases, then the nodes'
resolver: there is no cluster DNS before the OCCM and NCP run), and names any that they will not.`,
		Example: `  epks install --params params.yaml
  epks install -p params.yaml --kubeconfig /etc/kubernetes/admin.conf --timeout 20m`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := in.load(s.err)
			if err != nil {
				return err
			}
			// Before anything is applied: every endpoint presents what the
			// values pin (the trust epks trust wrote).
			if err := install.CheckTrust(c.Context(), install.TrustTargetsFromValues(l.Values)); err != nil {
				return err
			}
			ch, err := loadChart()
			if err != nil {
				return err
			}
			// Before anything is applied: every endpoint the components call
			// must resolve from the pods (hostAliases, the nodes' resolver).
			if err := install.CheckEndpoints(c.Context(), install.EndpointCheck{Values: l.Values}); err != nil {
				return err
			}
			opts := install.Options{
				Getter:      cluster.getter(l.Namespace),
				Namespace:   l.Namespace,
				ReleaseName: in.name,
				Chart:       ch,
				Values:      l.Values,
				Timeout:     timeout,
				Reapply:     reapply,
				LockTimeout: lockTO,
				Progress:    install.NewPrinter(s.err),
				// The kustomize overlay, applied to every rendering.
				PostRenderer: l.PostRenderer,
			}
			res, err := install.Install(c.Context(), opts)
			if res != nil {
				if res.Recovered != "" {
					fmt.Fprintf(s.out, "Recovered: %s.\n", res.Recovered)
				}
				if res.CRDs != nil && len(res.CRDs.Reused) > 0 {
					fmt.Fprintf(s.out, "Reused %d snapshot CRDs installed by someone else: %v.\n", len(res.CRDs.Reused), res.CRDs.Reused)
				}
				if res.CRDs != nil && res.CRDs.SnapshotController != "" {
					fmt.Fprintf(s.out, "A snapshot-controller is already running (Deployment %s): the chart's was not installed.\n", res.CRDs.SnapshotController)
				}
				for _, r := range res.Restarted {
					fmt.Fprintf(s.out, "Restarted %s: a Secret it mounts changed.\n", r)
				}
			}
			if err != nil {
				return err
			}
			if !res.Changed {
				fmt.Fprintf(s.out, "Release %s revision %d was already installed with these inputs; nothing changed. %d components ready.\n",
					in.name, res.Revision, len(res.Components))
				return nil
			}
			fmt.Fprintf(s.out, "Release %s revision %d is installed in namespace %s; %d components ready after %s.\n",
				in.name, res.Revision, l.Namespace, len(res.Components), res.Elapsed.Round(time.Second))
			return nil
		},
	}
	in.addFlags(c)
	cluster.addFlags(c)
	c.Flags().DurationVar(&timeout, "timeout", install.DefaultTimeout, "how long to wait for the components")
	c.Flags().DurationVar(&lockTO, "lock-timeout", install.DefaultLockTimeout, "how long to wait while another epks run holds the release's lock (0: fail at once)")
	c.Flags().BoolVar(&reapply, "reapply", false, "upgrade even when nothing changed, to repair objects edited in the cluster")
	return c
}
