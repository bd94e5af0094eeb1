package render

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// renderedFile is the name the rendered chart gets inside the overlay.
const renderedFile = "epks-addons.rendered.yaml"

// Kustomize is a Helm post-renderer that applies a kustomize overlay to the
// rendered manifests, in process. The overlay is a directory with a
// kustomization.yaml; the rendered chart is added to its resources, so its
// patches, labels and transformers apply to the chart's objects.
type Kustomize struct {
	dir   string
	files map[string][]byte
}

// NewKustomize reads the overlay in dir. Files it references must lie
// inside dir.
func NewKustomize(dir string) (*Kustomize, error) {
	k := &Kustomize{dir: dir, files: map[string][]byte{}}
	found := false
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		k.files[filepath.ToSlash(rel)] = data
		for _, name := range konfig.RecognizedKustomizationFileNames() {
			if rel == name {
				found = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading kustomize overlay %s: %w", dir, err)
	}
	if !found {
		return nil, fmt.Errorf("kustomize overlay %s has no kustomization.yaml", dir)
	}
	return k, nil
}

// Run implements postrender.PostRenderer.
func (k *Kustomize) Run(rendered *bytes.Buffer) (*bytes.Buffer, error) {
	mem := filesys.MakeFsInMemory()
	const root = "/overlay"
	for name, data := range k.files {
		if err := mem.MkdirAll(filepath.Dir(filepath.Join(root, name))); err != nil {
			return nil, err
		}
		if err := mem.WriteFile(filepath.Join(root, name), data); err != nil {
			return nil, err
		}
	}
	kfile, err := k.kustomizationFile()
	if err != nil {
		return nil, err
	}
	var kust map[string]any
	if err := yaml.Unmarshal(k.files[kfile], &kust); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", k.dir, kfile, err)
	}
	if kust == nil {
		kust = map[string]any{}
	}
	resources, _ := kust["resources"].([]any)
	kust["resources"] = append([]any{renderedFile}, resources...)
	patched, err := yaml.Marshal(kust)
	if err != nil {
		return nil, err
	}
	if err := mem.WriteFile(filepath.Join(root, kfile), patched); err != nil {
		return nil, err
	}
	if err := mem.WriteFile(filepath.Join(root, renderedFile), rendered.Bytes()); err != nil {
		return nil, err
	}
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, root)
	if err != nil {
		return nil, fmt.Errorf("applying kustomize overlay %s: %w", k.dir, err)
	}
	out, err := resMap.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("applying kustomize overlay %s: %w", k.dir, err)
	}
	return bytes.NewBuffer(out), nil
}

func (k *Kustomize) kustomizationFile() (string, error) {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if _, ok := k.files[name]; ok {
			return name, nil
		}
	}
	return "", fmt.Errorf("kustomize overlay %s has no kustomization.yaml", k.dir)
}
