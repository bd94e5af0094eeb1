package epks

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/epks/epks/pkg/atomicfile"
	"github.com/epks/epks/pkg/cloudinit"
	"github.com/epks/epks/pkg/inputs"
	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/pkg/params"
)

func newCloudInitCommand(s streams) *cobra.Command {
	var (
		in             inputFlags
		role, osName   string
		pkiDir, output string
		gzipped        bool
	)
	c := &cobra.Command{
		Use:   "cloud-init --params params.yaml --role ROLE --pki-dir DIR",
		Short: "Render the user data that prepares a node at first boot",
		Long: `Render the cloud-init user data of a node of the cluster: containerd, kubelet, kubeadm and
kubectl from the package repositories or the offline bundle, the bundle's images imported,
kernel modules, sysctls and swap off, br-int on the pod NIC with its MAC, and kubeadm init
(role control-plane, which then runs epks install) or kubeadm join (roles
control-plane-join and worker). See docs/cloud-init.md.

The cluster's CAs and service-account key live in --pki-dir: created on the first run, read
on every later one, so that every node's user data pins the same CA. Keep that directory,
and the user data, as secret as the parameters file. Workers get the bootstrap token and
the CA pin only; the first control-plane node also gets the shared keys and the chart
values with the NSX and OpenStack credentials.

Bad input (parameters, flags, PKI directory) exits with code 2 and writes nothing.`,
		Example: `  epks cloud-init -p params.yaml --role control-plane --pki-dir cluster-pki -o master.yaml
  epks cloud-init -p params.yaml --role worker --pki-dir cluster-pki --os ubuntu-22.04 -o worker.yaml
  openstack server create --user-data worker.yaml ...`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var problems []string
			if in.opts.ParamsFile == "" {
				problems = append(problems, "give the parameters file with --params")
			}
			r, o := cloudinit.Role(role), cloudinit.OS(osName)
			if !r.Valid() {
				problems = append(problems, fmt.Sprintf("--role %q is not one of %s", role, cloudinit.RoleNames()))
			}
			if !o.Valid() {
				problems = append(problems, fmt.Sprintf("--os %q is not one of %s", osName, cloudinit.OSNames()))
			}
			if pkiDir == "" {
				problems = append(problems, "give the directory of the cluster's CAs with --pki-dir (created on the first run, then kept)")
			}
			// The parameters' problems come with the flags' ones, all at once.
			in.opts.Purpose = params.ForNodes
			var l *inputs.Inputs
			var err error
			if in.opts.ParamsFile != "" {
				l, err = in.load(s.err)
			}
			if len(problems) > 0 {
				// Only bad input joins the flags' problems; any other
				// error is reported as itself.
				if err != nil && !inputs.IsBadInput(err) {
					return err
				}
				if err != nil {
					problems = append(problems, err.Error())
				}
				return badInput("%s", strings.Join(problems, "\n"))
			}
			if err != nil {
				return err
			}
			pki, created, err := cloudinit.LoadOrCreatePKI(pkiDir, timeNow())
			if err != nil {
				return badInput("%v", err)
			}
			if created {
				fmt.Fprintf(s.err, "Created the cluster's CAs and service-account key in %s: keep the directory for every node of the cluster, as secret as the parameters file.\n", pkiDir)
			}
			data, err := cloudinit.Render(l.Params, cloudinit.Options{Role: r, OS: o, PKI: pki, Values: l.Values, Version: names.Version})
			if err != nil {
				return err
			}
			if o.Legacy() && l.Params.PackageSource == params.PackageSourceAPT {
				fmt.Fprintf(s.err, "Warning: %s has no containerd 2 packages and runs cgroup v1: Kubernetes %s may not run there; prefer package_source: bundle with a containerd you tested.\n",
					o, l.Params.KubernetesVersion)
			}
			if gzipped {
				if data, err = cloudinit.Gzip(data); err != nil {
					return err
				}
			} else if n := base64.StdEncoding.EncodedLen(len(data)); n > cloudinit.MaxUserData {
				fmt.Fprintf(s.err, "Warning: the user data is %d bytes in base64, more than Nova's %d: use --gzip.\n", n, cloudinit.MaxUserData)
			}
			if output == "" {
				_, err = s.out.Write(data)
				return err
			}
			if err := atomicfile.Write(output, 0o600, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
				return err
			}
			fmt.Fprintf(s.err, "Wrote the user data of a %s node to %s (mode 0600).\n", r, output)
			return nil
		},
	}
	in.addParamsFlags(c)
	f := c.Flags()
	f.StringVar(&role, "role", "", "role of the node: "+cloudinit.RoleNames())
	f.StringVar(&osName, "os", string(cloudinit.DefaultOS), "system of the node image: "+cloudinit.OSNames())
	f.StringVar(&pkiDir, "pki-dir", "", "directory of the cluster's CAs and service-account key: created when missing or empty, then reused")
	f.StringVarP(&output, "output", "o", "", "write the user data to this file (mode 0600) instead of printing it")
	f.BoolVar(&gzipped, "gzip", false, "compress the user data with gzip (cloud-init unpacks it), for Nova's limit of 64 KiB")
	return c
}
