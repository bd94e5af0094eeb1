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
)

// DefaultKubeVersion is the Kubernetes version rendering assumes when it has
// no cluster to ask, the version epks is built and tested against.
const DefaultKubeVersion = "v1.36.2"

// Options configure Render.
type Options struct {
	// ReleaseName [epks-addons] and Namespace [epks-system] of the release.
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
		opts.ReleaseName = "epks-addons"
	}
	if opts.Namespace == "" {
		opts.Namespace = "epks-system"
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

// cleanError shortens Helm's wrapping of template failures to what the chart
// said, and takes values out of schema messages: a value that fails a
// pattern may be a password.
func cleanError(err error) error {
	msg := quotedValue.ReplaceAllString(err.Error(), "the value $1")
	if i := strings.Index(msg, "execution error at ("); i >= 0 {
		if j := strings.Index(msg[i:], "): "); j >= 0 {
			return fmt.Errorf("invalid values:%s", strings.TrimPrefix(msg[i+j+2:], " "))
		}
	}
	return fmt.Errorf("rendering chart: %s", msg)
}
