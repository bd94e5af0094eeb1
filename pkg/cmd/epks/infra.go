package epks

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/epks/epks/pkg/cloudinit"
	"github.com/epks/epks/pkg/cluster"
	"github.com/epks/epks/pkg/cluster/scope"
	"github.com/epks/epks/pkg/inputs"
	"github.com/epks/epks/pkg/params"
)

// newClusterCommand is `epks cluster`: the infrastructure verbs.
func newClusterCommand(s streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "cluster",
		Short: "Build, plan or delete the cluster's OpenStack infrastructure (what the seed's HEAT stack made)",
		Long: `Build the cluster's networks, routers, security group, ports, floating IPs and servers
from the parameters file, as the seed's HEAT stack did; show what a build would change; delete
everything again; or write the equivalent HEAT template. See docs/cluster.md.`,
	}
	group(c)
	c.AddCommand(newClusterCreateCommand(s), newClusterPlanCommand(s), newClusterDeleteCommand(s), newClusterHeatTemplateCommand(s))
	return c
}

// infraInputs are the flags every cluster verb shares.
type infraInputs struct {
	in inputFlags
	// timeout bounds a verb that waits on the cloud (create, delete); 0:
	// the verb has no --timeout.
	timeout time.Duration
}

// addTimeoutFlag gives a verb that waits on the cloud its --timeout.
func (ii *infraInputs) addTimeoutFlag(c *cobra.Command, verb string) {
	c.Flags().DurationVar(&ii.timeout, "timeout", 30*time.Minute, "give up after this long (servers stuck in BUILD, a cloud that does not answer) and say what was still awaited; run "+verb+" again to continue")
}

// withTimeout bounds ctx by --timeout.
func (ii *infraInputs) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if ii.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, ii.timeout)
}

// timedOut explains err when it ended because --timeout passed.
func (ii *infraInputs) timedOut(ctx context.Context, verb string, err error) error {
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("not done after --timeout %s: %w\n(run %s again to continue, with a longer --timeout if the cloud is slow)", ii.timeout, err, verb)
	}
	return err
}

func (ii *infraInputs) addFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringVarP(&ii.in.opts.ParamsFile, "params", "p", "", "parameters file: the seed's HEAT parameters file, see docs/parameters.md")
	f.BoolVar(&ii.in.opts.TrustSystemRoots, "trust-system-roots", false, "with IP access and no os_ca_file, trust the system roots for OpenStack (a Keystone certificate from a public CA) instead of the pinned CA that epks trust writes")
}

// infra is what a cluster verb works with.
type infra struct {
	loaded *inputs.Inputs
	spec   *cluster.Spec
	scope  *scope.Scope
}

// loadSpec reads the parameters for the cluster and derives its
// infrastructure, without connecting to OpenStack.
func (ii *infraInputs) loadSpec(s streams) (*infra, error) {
	if ii.in.opts.ParamsFile == "" {
		return nil, badInput("give the parameters file with --params")
	}
	ii.in.opts.Purpose = params.ForCluster
	l, err := ii.in.load(s.err)
	if err != nil {
		return nil, err
	}
	spec, err := cluster.NewSpec(l.Params)
	if err != nil {
		return nil, err
	}
	return &infra{loaded: l, spec: spec}, nil
}

// load reads the parameters for the cluster and connects to OpenStack.
func (ii *infraInputs) load(ctx context.Context, s streams) (*infra, error) {
	inf, err := ii.loadSpec(s)
	if err != nil {
		return nil, err
	}
	clients, err := cluster.Connect(ctx, inf.loaded.Params, inf.loaded.CA)
	if err != nil {
		return nil, err
	}
	inf.scope = &scope.Scope{Cluster: inf.spec.Name, Clients: clients, Out: s.out}
	return inf, nil
}

// userData renders each node's user data with the cluster's PKI, as epks
// cloud-init would.
func userData(l *inputs.Inputs, pki *cloudinit.PKI, osName cloudinit.OS) cluster.UserData {
	return cluster.FitNova(cluster.CloudInitUserData(l.Params, l.Values, pki, osName))
}

// defaultPKIDir is where create keeps the cluster's CAs: beside the
// parameters file.
func defaultPKIDir(paramsFile, name string) string {
	return filepath.Join(filepath.Dir(paramsFile), name+"-pki")
}
