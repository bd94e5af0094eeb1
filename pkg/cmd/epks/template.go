package epks

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/epks/epks/pkg/render"
)

var timeNow = time.Now

func newTemplateCommand(s streams) *cobra.Command {
	var (
		in          inputFlags
		outputDir   string
		kubeVersion string
	)
	c := &cobra.Command{
		Use:   "template --params params.yaml",
		Short: "Render the add-ons' manifests, as helm template does",
		Long: `Render the epks-addons chart from a parameters file (and optional values files and
kustomize overlay) and print the manifests, CRDs first, or write one file per template with
--output-dir. Nothing is sent to a cluster.

The parameters are checked first; every problem is reported at once and the exit code is 2.
Secrets appear only inside Secret objects of the output, never in messages.`,
		Example: `  epks template --params examples/seed-params.yaml > addons.yaml
  epks template -p params.yaml -f site-values.yaml --kustomize site-overlay/
  epks template -p params.yaml --output-dir rendered/`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := in.load(s.err)
			if err != nil {
				return err
			}
			ch, err := loadChart()
			if err != nil {
				return err
			}
			if outputDir != "" {
				if err := privateDir(filepath.Join(outputDir, ch.Name())); err != nil {
					return err
				}
			}
			opts := render.Options{ReleaseName: in.name, Namespace: l.Namespace, KubeVersion: kubeVersion, OutputDir: outputDir, PostRenderer: l.PostRenderer}
			out, err := render.Render(c.Context(), ch, l.Values, opts)
			if err != nil {
				return err
			}
			if outputDir != "" {
				if err := ownerOnly(filepath.Join(outputDir, ch.Name())); err != nil {
					return err
				}
				fmt.Fprintf(s.err, "Wrote the manifests to %s\n", outputDir)
				return nil
			}
			_, err = io.WriteString(s.out, out)
			return err
		},
	}
	in.addFlags(c)
	c.Flags().StringVar(&outputDir, "output-dir", "", "write one file per template into this directory instead of printing")
	c.Flags().StringVar(&kubeVersion, "kube-version", render.DefaultKubeVersion, "Kubernetes version to render for")
	return c
}

// privateDir makes dir, and the directories above it that do not exist,
// owner-only (0700): the manifests hold Secrets, and Helm writes its files
// world-readable. An existing dir is made owner-only too, so that no file
// is readable through it while Helm writes.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the output directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("securing the output directory: %w", err)
	}
	return nil
}

// ownerOnly makes every file under dir 0600 and every directory 0700.
func ownerOnly(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o600)
		if d.IsDir() {
			mode = 0o700
		} else if !d.Type().IsRegular() {
			return nil
		}
		return os.Chmod(path, mode)
	})
}

// noArgs refuses positional arguments as bad input.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return badInput("%s takes no arguments, got %q; see --help", c.CommandPath(), args)
	}
	return nil
}
