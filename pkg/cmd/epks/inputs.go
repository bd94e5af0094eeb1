package epks

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

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
	// systemRoots trusts the system roots for OpenStack with IP access and
	// no os_ca_file, instead of requiring the pinned trust `epks trust` writes.
	systemRoots bool
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
	f.BoolVar(&in.systemRoots, "trust-system-roots", false, "with IP access and no os_ca_file, trust the images' system roots for OpenStack (a Keystone certificate from a public CA) instead of requiring the pinned CA that epks trust writes")
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
// parameters at once. It never fetches a certificate: the trust of
// OpenStack is the files the parameters name (see checkPinned).
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
		if err := in.checkPinned(p); err != nil {
			return nil, err
		}
		ca := p.OpenStackCA
		res := values.For(p, ca)
		l.params, l.values, l.warnings, l.ca = p, res.Values, res.Warnings, ca
		if in.namespace == "" {
			in.namespace = p.Namespace
		}
	}
	for _, f := range in.valuesFiles {
		data, err := params.ReadFile(f, 16*params.MaxFileSize)
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

// checkPinned refuses, as bad input, parameters with IP access that name no
// CA for Keystone (os_ca_file) and neither skip verification nor trust the
// system roots: the components would trust whatever Keystone's address
// presents. The message says exactly what to run.
func (in *inputs) checkPinned(p *params.Params) error {
	if !p.IPAccess || len(p.OpenStackCA) > 0 || p.OSInsecure || in.systemRoots {
		return nil
	}
	return badInput("%s", noTrustMessage(in.paramsFile, p.OSAuthURL))
}

// noTrustMessage tells a user whose parameters pin no Keystone CA what to run.
func noTrustMessage(paramsFile, authURL string) string {
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
