// Package inputs is the one way from what a user gives epks to what it
// renders and installs: a parameters file, chart values files over it and a
// kustomize overlay become the checked parameters, the chart values, the
// warnings, the release namespace and the post-renderer. `epks template`,
// `install`, `values`, `cloud-init`, the cluster verbs and the testbed all
// load their inputs here; the command line keeps only flags and output.
package inputs

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"helm.sh/helm/v3/pkg/postrender"
	"sigs.k8s.io/yaml"

	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/render"
	"github.com/epks/epks/pkg/values"
)

// MaxValuesFileSize bounds a chart values file.
const MaxValuesFileSize = 16 * params.MaxFileSize

// Options say what the inputs are.
type Options struct {
	// ParamsFile is the parameters file (the seed's HEAT parameters); may
	// be empty when ValuesFiles give the chart values.
	ParamsFile string
	// ValuesFiles are chart values files merged over the parameters'
	// values, later files winning.
	ValuesFiles []string
	// Values are merged over the values files (the testbed's extras).
	Values map[string]any
	// Kustomize is the directory of a kustomize overlay applied to the
	// rendered manifests; empty: none.
	Kustomize string
	// Namespace of the release [the parameters' namespace, or names.Namespace].
	Namespace string
	// Purpose says which keys the parameters file must have [params.ForAddons].
	Purpose params.Purpose
	// TrustSystemRoots accepts parameters with IP access and no os_ca_file:
	// the system roots are trusted for OpenStack instead of a pinned CA.
	TrustSystemRoots bool
}

// Inputs are what the options amount to.
type Inputs struct {
	// Params are the checked parameters; nil without a parameters file.
	Params *params.Params
	// Values are the chart values.
	Values map[string]any
	// Warnings are about the parameters; nothing failed.
	Warnings []string
	// Namespace is the release's namespace.
	Namespace string
	// PostRenderer applies the kustomize overlay; nil without one.
	PostRenderer postrender.PostRenderer
	// CA is the OpenStack trust the values carry (os_ca_file).
	CA []byte
}

// Load reads and checks every input, reporting every problem of the
// parameters at once (a *params.ValidationError) and any other problem of
// the input as a *BadInputError. It never fetches a certificate: the trust
// of OpenStack is the files the parameters name.
func Load(o Options) (*Inputs, error) {
	if o.ParamsFile == "" && len(o.ValuesFiles) == 0 {
		return nil, BadInputf("give a parameters file with --params (or chart values with --values)")
	}
	in := &Inputs{Values: map[string]any{}, Namespace: o.Namespace}
	if o.ParamsFile != "" {
		p, err := params.LoadFor(o.ParamsFile, o.Purpose)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return nil, BadInput(err)
			}
			return nil, err
		}
		// With IP access and no os_ca_file, neither skipping verification
		// nor trusting the system roots, the components would trust
		// whatever Keystone's address presents: bad input, and the message
		// says what to run.
		if p.IPAccess && len(p.OpenStackCA) == 0 && !p.OSInsecure && !o.TrustSystemRoots {
			return nil, BadInputf("%s", NoTrustMessage(o.ParamsFile, p.OSAuthURL))
		}
		res := values.For(p, p.OpenStackCA)
		in.Params, in.Values, in.Warnings, in.CA = p, res.Values, res.Warnings, p.OpenStackCA
		if in.Namespace == "" {
			in.Namespace = p.Namespace
		}
	}
	for _, f := range o.ValuesFiles {
		data, err := params.ReadFile(f, MaxValuesFileSize)
		if err != nil {
			return nil, BadInputf("reading values file: %w", err)
		}
		var v map[string]any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, BadInputf("values file %s: %w", f, err)
		}
		values.Merge(in.Values, v)
	}
	values.Merge(in.Values, o.Values)
	if in.Namespace == "" {
		in.Namespace = names.Namespace
	}
	if o.Kustomize != "" {
		k, err := render.NewKustomize(o.Kustomize)
		if err != nil {
			return nil, BadInput(err)
		}
		in.PostRenderer = k
	}
	return in, nil
}

// NoTrustMessage tells a user whose parameters pin no Keystone CA what to run.
func NoTrustMessage(paramsFile, authURL string) string {
	return fmt.Sprintf(`%s: os_ca_file: with IP access the OpenStack endpoints are verified with a CA you pin, and none is set.
Run:
    epks trust -p %s --write
It fetches the certificate chains of Keystone (%s) and of the NSX Managers, prints their subjects,
issuers, validity and SHA-256 fingerprints to compare with VIO's, writes the CA file and adds
os_ca_file (and nsx_thumbprint) to the parameters. Without --write it says which keys to add.
(Or set os_ca_file to Keystone's CA yourself, or pass --trust-system-roots when a public CA issued
Keystone's certificate.)`, paramsFile, shellQuote(paramsFile), authURL)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
