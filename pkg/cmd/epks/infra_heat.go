package epks

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/epks/epks/pkg/atomicfile"
	"github.com/epks/epks/pkg/cloudinit"
	"github.com/epks/epks/pkg/cluster"
)

func newClusterHeatTemplateCommand(s streams) *cobra.Command {
	var (
		ii             infraInputs
		pkiDir, osName string
		outDir         string
	)
	c := &cobra.Command{
		Use:   "heat-template -p params.yaml [-o DIR]",
		Short: "Write the HEAT template of what epks cluster create builds, for openstack stack create",
		Long: `Write a HOT template and its environment that build what epks cluster create builds from
the same parameters file: the networks and subnets, the routers with and without SNAT and their
interfaces, the security group and its rules, the ports with fixed addresses, the floating IPs,
the control plane's server group and the servers with a config drive and the user data of
epks cloud-init, one file per node beside the template (get_file; HEAT puts the pod port's MAC
in). Nothing is contacted: it works offline.

The template declares every parameter, so the parameters file itself works as the stack's
environment (openstack stack create -e params.yaml), as the seed's did; it reads image, flavor,
key_name and public_network, and accepts only the values it was written for of the parameters
its resources come from (name, node_count, control_plane_count, the network CIDRs, nameserver,
floating_ips, api_access_cidr). Written into DIR [<name>-heat beside the parameters file]:
<name>.yaml, <name>-env.yaml and <node>.user-data (as secret as the parameters file).`,
		Example: `  epks cluster heat-template -p params.yaml -o heat
  openstack stack create -e params.yaml --template heat/k8scluster.yaml k8scluster`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o := cloudinit.OS(osName)
			if !o.Valid() {
				return badInput("--os %q is not one of %s", osName, cloudinit.OSNames())
			}
			inf, err := ii.loadSpec(s)
			if err != nil {
				return err
			}
			if pkiDir == "" {
				pkiDir = defaultPKIDir(ii.in.opts.ParamsFile, inf.spec.Name)
			}
			if outDir == "" {
				outDir = filepath.Join(filepath.Dir(ii.in.opts.ParamsFile), inf.spec.Name+"-heat")
			}
			pki, created, err := cloudinit.LoadOrCreatePKI(pkiDir, timeNow())
			if err != nil {
				return badInput("%v", err)
			}
			if created {
				fmt.Fprintf(s.err, "Created the cluster's CAs and service-account key in %s: keep the directory, as secret as the parameters file.\n", pkiDir)
			}
			h, err := cluster.HeatTemplate(inf.spec, inf.loaded.Params, userData(inf.loaded, pki, o))
			if err != nil {
				return err
			}
			if err := os.MkdirAll(outDir, 0o700); err != nil {
				return fmt.Errorf("creating %s: %w", outDir, err)
			}
			files := []struct {
				name string
				data []byte
				mode os.FileMode
			}{{inf.spec.Name + ".yaml", h.Template, 0o644}, {inf.spec.Name + "-env.yaml", h.Environment, 0o644}}
			for _, name := range h.UserDataOrder {
				files = append(files, struct {
					name string
					data []byte
					mode os.FileMode
				}{name, h.UserData[name], 0o600})
			}
			for _, f := range files {
				path := filepath.Join(outDir, f.name)
				if err := atomicfile.Write(path, f.mode, func(w io.Writer) error {
					_, err := io.Copy(w, bytes.NewReader(f.data))
					return err
				}); err != nil {
					return fmt.Errorf("writing %s: %w", path, err)
				}
			}
			tmpl := filepath.Join(outDir, inf.spec.Name+".yaml")
			fmt.Fprintf(s.out, "Wrote %s, %s and %d user data files.\nCreate the stack with:\n  openstack stack create -e %s --template %s %s\n",
				tmpl, filepath.Join(outDir, inf.spec.Name+"-env.yaml"), len(h.UserDataOrder), ii.in.opts.ParamsFile, tmpl, inf.spec.Name)
			return nil
		},
	}
	ii.addFlags(c)
	c.Flags().StringVar(&pkiDir, "pki-dir", "", "directory of the cluster's CAs and service-account key [<cluster>-pki beside the parameters file]")
	c.Flags().StringVar(&osName, "os", string(cloudinit.DefaultOS), "system of the node image: "+cloudinit.OSNames())
	c.Flags().StringVarP(&outDir, "output-dir", "o", "", "directory to write the template, its environment and the user data into [<name>-heat beside the parameters file]")
	return c
}
