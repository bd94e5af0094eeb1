package epks

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/epks/epks/pkg/install"
	"github.com/epks/epks/pkg/names"
)

func newUninstallCommand(s streams) *cobra.Command {
	var (
		cluster   clusterFlags
		name, ns  string
		purgeCRDs bool
		timeout   time.Duration
		lockTO    time.Duration
	)
	c := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the add-ons from the cluster",
		Long: `Remove the epks-addons release and wait until its objects are gone, then the namespace
if epks created it. The snapshot CRDs stay, and with them your VolumeSnapshots, unless
--purge-crds is given; even then, CRDs that epks did not create (for example snapshot CRDs
that were there before epks) stay. It waits for a running epks install, as install does.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ch, err := loadChart()
			if err != nil {
				return err
			}
			res, err := install.Uninstall(c.Context(), install.Options{
				Getter: cluster.getter(ns), Namespace: ns, ReleaseName: name, Chart: ch,
				Timeout: timeout, LockTimeout: lockTO, Progress: install.NewPrinter(s.err),
			}, install.UninstallOptions{PurgeCRDs: purgeCRDs})
			if err != nil {
				return err
			}
			switch {
			case res.ReleaseRemoved:
				fmt.Fprintf(s.out, "Release %s removed from namespace %s.\n", name, ns)
			default:
				fmt.Fprintf(s.out, "Release %s was not installed in namespace %s.\n", name, ns)
			}
			if len(res.CRDsRemoved) > 0 {
				fmt.Fprintf(s.out, "Removed %d CRDs.\n", len(res.CRDsRemoved))
			}
			if purgeCRDs && len(res.CRDsKept) > 0 {
				fmt.Fprintf(s.out, "Kept %d CRDs that epks did not create: %v.\n", len(res.CRDsKept), res.CRDsKept)
			}
			return nil
		},
	}
	cluster.addFlags(c)
	c.Flags().StringVar(&name, "name", names.Release, "release name")
	c.Flags().StringVarP(&ns, "namespace", "n", names.Namespace, "namespace of the release")
	c.Flags().BoolVar(&purgeCRDs, "purge-crds", false, "also delete the chart's CRDs that epks created, and every VolumeSnapshot and NCP object with them")
	c.Flags().DurationVar(&lockTO, "lock-timeout", install.DefaultLockTimeout, "how long to wait while another epks run holds the release's lock (0: fail at once)")
	c.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the objects to go")
	return c
}
