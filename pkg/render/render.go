// Package render renders the epks-addons chart into Kubernetes manifests with
// the Helm v3 SDK, as `helm template` does, and optionally passes them through
// a user's kustomize overlay.
package render

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/postrender"

	"github.com/epks/epks/pkg/names"
)

// DefaultKubeVersion is the Kubernetes version rendering assumes when it has
// no cluster to ask, the version epks is built and tested against.
const DefaultKubeVersion = "v1.36.2"

// Options configure Render.
type Options struct {
	// ReleaseName [names.Release] and Namespace [names.Namespace] of the release.
	ReleaseName string
	Namespace   string
	// KubeVersion the manifests are for [DefaultKubeVersion].
	KubeVersion string
	// PostRenderer changes the rendered manifests, e.g. a Kustomize overlay.
	PostRenderer postrender.PostRenderer
	// OutputDir, when set, receives one file per template, as
	// `helm template --output-dir` writes them, instead of the returned text.
	OutputDir string
}

// Render renders ch with values, CRDs first, and returns the manifests.
func Render(ctx context.Context, ch *chart.Chart, values map[string]any, opts Options) (string, error) {
	if opts.ReleaseName == "" {
		opts.ReleaseName = names.Release
	}
	if opts.Namespace == "" {
		opts.Namespace = names.Namespace
	}
	if opts.KubeVersion == "" {
		opts.KubeVersion = DefaultKubeVersion
	}
	kv, err := chartutil.ParseKubeVersion(opts.KubeVersion)
	if err != nil {
		return "", fmt.Errorf("kube version %q: %w", opts.KubeVersion, err)
	}
	cfg := &action.Configuration{}
	in := action.NewInstall(cfg)
	in.DryRun = true
	in.DryRunOption = "client"
	in.ClientOnly = true
	in.Replace = true
	in.IncludeCRDs = true
	in.ReleaseName = opts.ReleaseName
	in.Namespace = opts.Namespace
	in.KubeVersion = kv
	in.PostRenderer = opts.PostRenderer
	in.OutputDir = opts.OutputDir
	// The values are checked against the chart's schema first, as Helm
	// does, so that a value the schema refuses is told from a chart that
	// does not render.
	merged, err := chartutil.CoalesceValues(ch, values)
	if err != nil {
		return "", &ValuesError{msg: cleanMessage(err)}
	}
	if err := chartutil.ValidateAgainstSchema(ch, merged); err != nil {
		return "", &ValuesError{msg: "invalid values: " + cleanMessage(err)}
	}
	rel, err := in.RunWithContext(ctx, ch, values)
	if err != nil {
		return "", cleanError(err)
	}
	var b strings.Builder
	b.WriteString(rel.Manifest)
	for _, h := range rel.Hooks {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	return b.String(), nil
}

// quotedValue is a value as the schema validator quotes it in its messages.
var quotedValue = regexp.MustCompile(`'(?:[^'\\]|\\.)*' (does not match pattern|is not valid)`)

// ValuesError is values the chart refuses: its schema, or a check of the
// chart's templates (a `fail` with a message for the user). Any other
// error of Render is the chart's or the post-renderer's.
type ValuesError struct{ msg string }

func (e *ValuesError) Error() string { return e.msg }

// cleanMessage takes values out of schema messages: a value that fails a
// pattern may be a password.
func cleanMessage(err error) string {
	return quotedValue.ReplaceAllString(err.Error(), "the value $1")
}

// cleanError shortens Helm's wrapping of the chart's checks (a template's
// `fail`) to what the chart said, as a *ValuesError; any other failure is
// the chart's.
func cleanError(err error) error {
	msg := cleanMessage(err)
	if i := strings.Index(msg, "execution error at ("); i >= 0 {
		if j := strings.Index(msg[i:], "): "); j >= 0 {
			return &ValuesError{msg: "invalid values:" + msg[i+j+2:]}
		}
	}
	return fmt.Errorf("rendering chart: %s", msg)
}
