package epks

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/epks/epks/pkg/install"
	"github.com/epks/epks/pkg/names"
)

func newStatusCommand(s streams) *cobra.Command {
	var (
		cluster  clusterFlags
		name, ns string
	)
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the health of each component",
		Long: `Show the release and the readiness of each of its components. The exit code is 0 when
every component is ready, 1 otherwise.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := install.Status(c.Context(), install.Options{Getter: cluster.getter(ns), Namespace: ns, ReleaseName: name})
			if errors.Is(err, install.ErrNotInstalled) {
				return fmt.Errorf("%w; install it with `epks install --params params.yaml`", err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "Release %s in namespace %s: revision %d, %s, chart %s, updated %s\n\n",
				st.Name, st.Namespace, st.Revision, st.State, st.ChartVersion, st.Updated.Format("2006-01-02 15:04:05 MST"))
			w := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "COMPONENT\tREADY\tDETAILS")
			for _, comp := range st.Components {
				ready := "yes"
				if !comp.Ready {
					ready = "no"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\n", comp.Name, ready, comp.Summary())
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if !st.Healthy() {
				return errors.New("not every component is ready")
			}
			return nil
		},
	}
	cluster.addFlags(c)
	c.Flags().StringVar(&name, "name", names.Release, "release name")
	c.Flags().StringVarP(&ns, "namespace", "n", names.Namespace, "namespace of the release")
	return c
}
