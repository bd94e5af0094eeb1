package epks

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/epks/epks/pkg/cluster"
)

func newClusterDeleteCommand(s streams) *cobra.Command {
	var (
		ii            infraInputs
		deleteVolumes bool
		yes           bool
	)
	c := &cobra.Command{
		Use:   "delete -p params.yaml",
		Short: "Delete everything epks cluster create made and what the cluster made on its own",
		Long: `Delete, in dependency order, the load balancers the OpenStack cloud controller manager
made for the cluster's Services (kube_service_<cluster>_...) with their floating IPs, the
servers, the volumes and snapshots cinder-csi made (with --delete-volumes, or after you
confirm on a terminal), the floating IPs, ports, server group, routers, security group and
networks. It ends by listing whatever it could not delete (exit code 1).`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if ii.timeout <= 0 {
				return badInput("--timeout %s: give a positive duration, e.g. 30m", ii.timeout)
			}
			ctx, cancel := ii.withTimeout(c.Context())
			defer cancel()
			inf, err := ii.load(ctx, s)
			if err != nil {
				return ii.timedOut(ctx, "epks cluster delete", err)
			}
			opts := cluster.DeleteOptions{Volumes: deleteVolumes}
			if !deleteVolumes {
				found, err := cluster.FindVolumes(ctx, inf.scope)
				if err != nil {
					return ii.timedOut(ctx, "epks cluster delete", err)
				}
				if n := len(found.Volumes) + len(found.Snapshots); n > 0 && !yes && isTerminal(s.in) {
					fmt.Fprintf(s.err, "The cluster's cinder-csi made %d volumes and %d snapshots. Delete them too? [y/N] ", len(found.Volumes), len(found.Snapshots))
					answer, _ := bufio.NewReader(s.in).ReadString('\n')
					opts.Volumes = strings.EqualFold(strings.TrimSpace(answer), "y") || strings.EqualFold(strings.TrimSpace(answer), "yes")
				}
			}
			if err := cluster.Delete(ctx, inf.scope, inf.spec, opts); err != nil {
				return ii.timedOut(ctx, "epks cluster delete", err)
			}
			fmt.Fprintf(s.out, "Cluster %s is deleted.\n", inf.spec.Name)
			return nil
		},
	}
	ii.addFlags(c)
	ii.addTimeoutFlag(c, "epks cluster delete")
	c.Flags().BoolVar(&deleteVolumes, "delete-volumes", false, "also delete the volumes and snapshots cinder-csi made for the cluster")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask about volumes: keep them unless --delete-volumes")
	return c
}

// isTerminal reports whether r is a terminal someone can answer on.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
