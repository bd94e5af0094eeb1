package epks

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/epks/epks/pkg/certs"
	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/render"
	"github.com/epks/epks/pkg/values"
)

// inputs are the flags that say what to install: a parameters file, values
// files on top of it, and a kustomize overlay.
type inputs struct {
	paramsFile  string
	valuesFiles []string
	kustomize   string
	noFetchCA   bool
	name        string
	namespace   string
	// purpose says which keys the parameters file must have.
	purpose params.Purpose
}

func (in *inputs) addFlags(c *cobra.Command) {
	in.addParamsFlags(c)
	f := c.Flags()
	f.StringVar(&in.kustomize, "kustomize", "", "directory of a kustomize overlay applied to the rendered manifests")
	f.StringVar(&in.name, "name", "epks-addons", "release name; every object name starts with it")
	f.StringVarP(&in.namespace, "namespace", "n", "", "namespace of the release [the parameters' namespace, or epks-system]")
}

// addParamsFlags adds the flags of the parameters and the values over them.
func (in *inputs) addParamsFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringVarP(&in.paramsFile, "params", "p", "", "parameters file: the seed's HEAT parameters file, see docs/parameters.md")
	f.StringArrayVarP(&in.valuesFiles, "values", "f", nil, "chart values file applied over the parameters (repeatable; later files win)")
	f.BoolVar(&in.noFetchCA, "no-fetch-ca", false, "with IP access and no os_ca_file, do not fetch Keystone's certificate chain; trust the images' system roots")
}

// loaded is what the inputs amount to.
type loaded struct {
	params   *params.Params
	values   map[string]any
	post     *render.Kustomize
	warnings []string
	// ca is the OpenStack trust the values carry (os_ca_file, the nova and
	// cinder certificates, or the chain fetched from Keystone).
	ca []byte
}

// load reads and checks every input, reporting every problem of the
// parameters at once. It fetches Keystone's certificate chain when the
// parameters call for it.
func (in *inputs) load(ctx context.Context, log io.Writer) (*loaded, error) {
	if in.paramsFile == "" && len(in.valuesFiles) == 0 {
		return nil, badInput("give a parameters file with --params (or chart values with --values)")
	}
	l := &loaded{values: map[string]any{}}
	if in.paramsFile != "" {
		p, err := params.LoadFor(in.paramsFile, in.purpose)
		if err != nil {
			if os.IsNotExist(err) || strings.Contains(err.Error(), "reading parameters file") {
				return nil, badInput("%v", err)
			}
			return nil, err
		}
		ca := p.OpenStackCA
		if len(ca) == 0 && p.IPAccess && !p.OSInsecure && !in.noFetchCA {
			ca, err = fetchKeystoneCA(ctx, p.OSAuthURL, log)
			if err != nil {
				return nil, err
			}
		}
		res := values.For(p, ca)
		l.params, l.values, l.warnings, l.ca = p, res.Values, res.Warnings, ca
		if in.namespace == "" {
			in.namespace = p.Namespace
		}
	}
	for _, f := range in.valuesFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, badInput("reading values file: %v", err)
		}
		var v map[string]any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, badInput("values file %s: %v", f, err)
		}
		values.Merge(l.values, v)
	}
	if in.namespace == "" {
		in.namespace = params.DefaultNamespace
	}
	if in.kustomize != "" {
		k, err := render.NewKustomize(in.kustomize)
		if err != nil {
			return nil, badInput("%v", err)
		}
		l.post = k
	}
	for _, w := range l.warnings {
		fmt.Fprintf(log, "Warning: %s\n", w)
	}
	return l, nil
}

// fetchKeystoneCA downloads the certificate chain Keystone presents, as the
// seed's stack did with IP access, and shows its fingerprints so that the
// user can compare them with VIO's.
func fetchKeystoneCA(ctx context.Context, authURL string, log io.Writer) ([]byte, error) {
	chain, err := certs.FetchChain(ctx, authURL)
	if err != nil {
		return nil, fmt.Errorf("%w\n(set os_ca_file to Keystone's CA, or pass --no-fetch-ca to trust the system roots)", err)
	}
	bundle, err := certs.TrustBundle(chain, timeNow())
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "Trusting the certificate chain presented by %s:\n", authURL)
	for _, c := range chain {
		fmt.Fprintf(log, "  %s  SHA256 %s\n", c.Subject.CommonName, certs.Fingerprint(c))
	}
	return bundle, nil
}
