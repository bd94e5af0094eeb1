package epks

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/epks/epks/pkg/inputs"
	"github.com/epks/epks/pkg/names"
)

// inputFlags are the flags that say what to install: a parameters file,
// values files on top of it, and a kustomize overlay. pkg/inputs loads them.
type inputFlags struct {
	opts inputs.Options
	name string
}

func (in *inputFlags) addFlags(c *cobra.Command) {
	in.addParamsFlags(c)
	f := c.Flags()
	f.StringVar(&in.opts.Kustomize, "kustomize", "", "directory of a kustomize overlay applied to the rendered manifests")
	f.StringVar(&in.name, "name", names.Release, "release name; every object name starts with it")
	f.StringVarP(&in.opts.Namespace, "namespace", "n", "", "namespace of the release [the parameters' namespace, or "+names.Namespace+"]")
}

// addParamsFlags adds the flags of the parameters and the values over them.
func (in *inputFlags) addParamsFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringVarP(&in.opts.ParamsFile, "params", "p", "", "parameters file: the seed's HEAT parameters file, see docs/parameters.md")
	f.StringArrayVarP(&in.opts.ValuesFiles, "values", "f", nil, "chart values file applied over the parameters (repeatable; later files win)")
	in.addTrustFlag(c)
}

func (in *inputFlags) addTrustFlag(c *cobra.Command) {
	c.Flags().BoolVar(&in.opts.TrustSystemRoots, "trust-system-roots", false, "with IP access and no os_ca_file, trust the images' system roots for OpenStack (a Keystone certificate from a public CA) instead of requiring the pinned CA that epks trust writes")
}

// load loads the inputs and prints their warnings.
func (in *inputFlags) load(log io.Writer) (*inputs.Inputs, error) {
	l, err := inputs.Load(in.opts)
	if err != nil {
		return nil, err
	}
	for _, w := range l.Warnings {
		fmt.Fprintf(log, "Warning: %s\n", w)
	}
	return l, nil
}
