package epks

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/epks/epks/pkg/cloudinit"
	"github.com/epks/epks/pkg/cluster"
	"github.com/epks/epks/pkg/inputs"
)

func newClusterCreateCommand(s streams) *cobra.Command {
	var (
		ii     infraInputs
		pkiDir string
		osName string
	)
	c := &cobra.Command{
		Use:   "create -p params.yaml",
		Short: "Build the cluster's networks, routers, security group, ports, floating IPs and servers",
		Long: `Build what the seed's HEAT stack built, from the same parameters file (plus flavor):
the management, API and pod networks with nameserver, a router with SNAT for the management
network and one without for the API network, both with public_network as gateway, a security
group with the ports of a kubeadm cluster open to the cluster's networks, per node ports with
fixed addresses on the management and pod networks and a floating IP, and the servers with
the user data of epks cloud-init.

A preflight first checks the image, flavor, external network, key pair and quotas, and
reports every problem at once (exit code 2, nothing created). Every resource is named after
the cluster, so a second run changes nothing and a run that stopped midway is continued.`,
		Example: `  epks cluster plan -p params.yaml
  epks cluster create -p params.yaml`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o := cloudinit.OS(osName)
			if !o.Valid() {
				return badInput("--os %q is not one of %s", osName, cloudinit.OSNames())
			}
			if ii.timeout <= 0 {
				return badInput("--timeout %s: give a positive duration, e.g. 30m", ii.timeout)
			}
			ctx, cancel := ii.withTimeout(c.Context())
			defer cancel()
			inf, err := ii.load(ctx, s)
			if err != nil {
				return ii.timedOut(ctx, "epks cluster create", err)
			}
			if pkiDir == "" {
				pkiDir = defaultPKIDir(ii.in.opts.ParamsFile, inf.spec.Name)
			}
			pki, created, err := cloudinit.LoadOrCreatePKI(pkiDir, timeNow())
			if err != nil {
				return badInput("%v", err)
			}
			if created {
				fmt.Fprintf(s.err, "Created the cluster's CAs and service-account key in %s: keep the directory, as secret as the parameters file.\n", pkiDir)
			}
			err = cluster.Create(ctx, inf.scope, inf.spec, userData(inf.loaded, pki, o))
			var pe *cluster.PreflightError
			if errors.As(err, &pe) {
				return inputs.BadInput(err)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return ii.timedOut(ctx, "epks cluster create", err)
			}
			if err != nil {
				return fmt.Errorf("%w\n(run epks cluster create again to continue)", err)
			}
			fmt.Fprintf(s.out, "Cluster %s is built: %d servers ACTIVE; the API server will be at %s.\n",
				inf.spec.Name, len(inf.spec.Nodes), inf.loaded.Params.ControlPlaneEndpoint)
			return nil
		},
	}
	ii.addFlags(c)
	ii.addTimeoutFlag(c, "epks cluster create")
	c.Flags().StringVar(&pkiDir, "pki-dir", "", "directory of the cluster's CAs and service-account key [<cluster>-pki beside the parameters file]")
	c.Flags().StringVar(&osName, "os", string(cloudinit.DefaultOS), "system of the node image: "+cloudinit.OSNames())
	return c
}
