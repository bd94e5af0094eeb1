// Package epks is the epks command line: one file per verb, each parsing its
// flags and calling the library packages that do the work.
package epks

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/inputs"
	"github.com/epks/epks/pkg/logging"
	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/pkg/params"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitFailure  = 1 // the work failed
	ExitBadInput = 2 // the input was wrong; nothing was done
)

// streams are where a command reads and writes.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// badInput is an error of the user's input (exit 2): see inputs.IsBadInput.
func badInput(format string, args ...any) error { return inputs.BadInputf(format, args...) }

// loadChart loads the chart the verbs render and install; the exit-code
// test replaces it with a broken chart.
var loadChart = charts.LoadAddons

// NewCommand returns the epks root command.
func NewCommand(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "epks",
		Short: "Turn a kubeadm cluster on VIO with NSX-T into a production cluster",
		Long: `epks installs and operates the add-ons of a Kubernetes cluster on VMware Integrated
OpenStack with NSX-T: NCP and the nsx-node-agent (pod networking, LoadBalancers), the
OpenStack cloud controller manager, the cinder CSI plugin with volume snapshots, and the
port tagger that tags every node's NSX port for NCP.

It reads the parameters file of the original HEAT stack as it is (see docs/parameters.md).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       names.Version,
	}
	group(root)
	logOpts := logging.Options{Format: logging.Text}
	logOpts.AddFlags(root.PersistentFlags())
	// The log goes to stderr with errors and warnings; what a verb prints
	// for its user (progress, reports) is its output, not a log.
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		logger, err := logging.New(s.err, logOpts)
		if err != nil {
			return inputs.BadInput(err)
		}
		c.SetContext(logr.NewContext(c.Context(), logger))
		return nil
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return badInput("%v\nRun '%s --help' for usage.", err, c.CommandPath())
	})
	root.AddCommand(
		newTemplateCommand(s),
		newValuesCommand(s),
		newInstallCommand(s),
		newUninstallCommand(s),
		newStatusCommand(s),
		newCloudInitCommand(s),
		newTrustCommand(s),
		newClusterCommand(s),
	)
	return root
}

// Main runs the command line until it is done or ctx ends (cmd/epks
// cancels it on SIGINT or SIGTERM, see package signals) and returns the
// process exit code.
func Main(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) int {
	cmd := NewCommand(streams{in: in, out: out, err: errOut})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(errOut, "Error: %s\n", printableLines(err.Error()))
	return exitCode(err)
}

// printableLines escapes the control characters of a message, line by
// line, so that nothing in it (a key or a path from the input) acts on the
// terminal.
func printableLines(msg string) string {
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		lines[i] = params.Printable(l)
	}
	return strings.Join(lines, "\n")
}

// exitCode is 2 for bad input only (parameters that do not validate,
// flags, arguments, files that cannot be read, values the chart refuses)
// and 1 for every other failure: a chart that does not render, a kustomize
// build that fails, a cluster that answers with an error.
func exitCode(err error) int {
	if inputs.IsBadInput(err) {
		return ExitBadInput
	}
	return ExitFailure
}

// group makes c a command of subcommands only: without arguments it prints
// its help; an unknown subcommand is bad input. (Cobra's own "unknown
// command" error carries no type to tell it by.)
func group(c *cobra.Command) {
	c.Args = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return badInput("unknown command %q for %q\nRun '%s --help' for usage.", args[0], c.CommandPath(), c.CommandPath())
		}
		return nil
	}
	c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
}
