// Package charts embeds the Helm charts of epks, so that the binaries carry
// them and render them anywhere.
package charts

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// AddonsName is the name of the add-ons chart.
const AddonsName = "epks-addons"

//go:embed all:epks-addons
var files embed.FS

// FS returns the files of the embedded charts, each under its chart's
// directory.
func FS() fs.FS { return files }

// LoadAddons loads the embedded epks-addons chart.
func LoadAddons() (*chart.Chart, error) {
	var bufs []*loader.BufferedFile
	err := fs.WalkDir(files, AddonsName, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		bufs = append(bufs, &loader.BufferedFile{Name: strings.TrimPrefix(p, AddonsName+"/"), Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading embedded chart %s: %w", AddonsName, err)
	}
	ch, err := loader.LoadFiles(bufs)
	if err != nil {
		return nil, fmt.Errorf("loading embedded chart %s: %w", path.Base(AddonsName), err)
	}
	return ch, nil
}
