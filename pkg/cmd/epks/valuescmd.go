package epks

import (
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

func newValuesCommand(s streams) *cobra.Command {
	var in inputFlags
	c := &cobra.Command{
		Use:   "values --params params.yaml",
		Short: "Print the chart values a parameters file amounts to",
		Long: `Print the values of the epks-addons chart that a parameters file amounts to, for
installing with helm itself:

  epks values -p params.yaml > values.yaml
  helm install epks-addons charts/epks-addons -n epks-system --create-namespace -f values.yaml

The output holds the credentials of the parameters: keep it as secret as the parameters file.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := in.load(s.err)
			if err != nil {
				return err
			}
			out, err := yaml.Marshal(l.Values)
			if err != nil {
				return err
			}
			_, err = s.out.Write(out)
			return err
		},
	}
	in.addFlags(c)
	return c
}
