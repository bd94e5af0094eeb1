package epks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"

	"github.com/epks/epks/charts"
)

// TestExitCodes runs the real entry point with one input per kind of error:
// exit 2 is bad input only (parameters, flags, arguments, files that cannot
// be read, values the chart refuses); a chart that does not render, a
// kustomize build that fails and a cluster that cannot be reached exit 1.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badParams := writeParams(t, map[string]any{"name": "Bad_Name", "node_count": 0})
	notYAML := file("not-yaml.yaml", "a: [b\n")
	schemaRefuses := file("schema.yaml", "nsx: a string where the schema wants an object\n")
	file("broken-overlay/kustomization.yaml", "patches:\n  - path: missing-patch.yaml\n")
	noKustomization := filepath.Join(dir, "no-kustomization")
	if err := os.Mkdir(noKustomization, 0o700); err != nil {
		t.Fatal(err)
	}
	// A kubeconfig of a cluster that is not there: nothing listens on
	// loopback port 1.
	kubeconfig := file("kubeconfig", `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`)
	tests := []struct {
		name string
		args []string
		// brokenChart renders with a chart whose template fails.
		brokenChart bool
		want        int
		// wantErr is in the error message.
		wantErr string
	}{
		{name: "good input", args: []string{"template", "-p", seedParams}, want: ExitOK},
		{name: "no arguments prints the help", args: nil, want: ExitOK},
		{name: "parameters that do not validate", args: []string{"template", "-p", badParams}, want: ExitBadInput, wantErr: "node_count"},
		{name: "unknown flag", args: []string{"template", "--no-such-flag"}, want: ExitBadInput, wantErr: "unknown flag"},
		{name: "unknown command", args: []string{"no-such-verb"}, want: ExitBadInput, wantErr: `unknown command "no-such-verb"`},
		{name: "unknown subcommand", args: []string{"cluster", "no-such-verb"}, want: ExitBadInput, wantErr: `unknown command "no-such-verb" for "epks cluster"`},
		{name: "positional argument", args: []string{"values", "params.yaml"}, want: ExitBadInput, wantErr: "takes no arguments"},
		{name: "no parameters", args: []string{"values"}, want: ExitBadInput, wantErr: "--params"},
		{name: "missing parameters file", args: []string{"values", "-p", filepath.Join(dir, "missing.yaml")}, want: ExitBadInput, wantErr: "missing.yaml"},
		{name: "parameters file is a directory", args: []string{"values", "-p", dir}, want: ExitBadInput, wantErr: "not a regular file"},
		{name: "missing values file", args: []string{"values", "-p", seedParams, "-f", filepath.Join(dir, "missing-values.yaml")}, want: ExitBadInput, wantErr: "missing-values.yaml"},
		{name: "values file not YAML", args: []string{"values", "-p", seedParams, "-f", notYAML}, want: ExitBadInput, wantErr: "not-yaml.yaml"},
		{name: "values the chart's schema refuses", args: []string{"template", "-p", seedParams, "-f", schemaRefuses}, want: ExitBadInput, wantErr: "/nsx"},
		{name: "missing kustomize directory", args: []string{"template", "-p", seedParams, "--kustomize", filepath.Join(dir, "missing-overlay")}, want: ExitBadInput, wantErr: "missing-overlay"},
		{name: "kustomize directory without kustomization", args: []string{"template", "-p", seedParams, "--kustomize", noKustomization}, want: ExitBadInput, wantErr: "no kustomization.yaml"},
		{name: "kustomize build fails", args: []string{"template", "-p", seedParams, "--kustomize", filepath.Join(dir, "broken-overlay")}, want: ExitFailure, wantErr: "missing-patch.yaml"},
		{name: "chart bug", args: []string{"template", "-p", seedParams}, brokenChart: true, want: ExitFailure, wantErr: "nil pointer"},
		{name: "cluster cannot be reached", args: []string{"status", "--kubeconfig", kubeconfig}, want: ExitFailure, wantErr: "127.0.0.1:1"},
		{name: "bad flag value of a cluster verb", args: []string{"uninstall", "--timeout", "soon"}, want: ExitBadInput, wantErr: "--timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.brokenChart {
				loadChart = func() (*chart.Chart, error) {
					ch, err := charts.LoadAddons()
					if err != nil {
						return nil, err
					}
					ch.Templates = append(ch.Templates, &chart.File{Name: "templates/broken.yaml", Data: []byte("{{ .Values.noSuchKey.deeper }}")})
					return ch, nil
				}
				t.Cleanup(func() { loadChart = charts.LoadAddons })
			}
			code, _, errOut := run(t, tt.args...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d:\n%s", code, tt.want, errOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("the error does not say %q:\n%s", tt.wantErr, errOut)
			}
		})
	}
}
