package epks

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/epks/epks/pkg/cluster"
	"github.com/epks/epks/pkg/cluster/scope"
)

func newClusterPlanCommand(s streams) *cobra.Command {
	var ii infraInputs
	c := &cobra.Command{
		Use:   "plan -p params.yaml",
		Short: "Show what epks cluster create would create or change, changing nothing",
		Long: `Look up every resource epks cluster create makes and print, a line each, whether it would
be created (+), updated (~) or is already as the parameters say. Nothing is changed.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			inf, err := ii.load(c.Context(), s)
			if err != nil {
				return err
			}
			actions, err := cluster.Plan(c.Context(), inf.scope, inf.spec)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "Plan: %s.\n", scope.Summary(actions))
			return nil
		},
	}
	ii.addFlags(c)
	return c
}
