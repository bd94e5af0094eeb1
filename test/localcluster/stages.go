package localcluster

import (
	"bytes"
	"embed"
	"os"
	"sort"
)

// kwokAnnotation marks the nodes kwok manages.
const kwokAnnotation = "kwok.x-k8s.io/node"

// stageFiles are the node and pod lifecycles kwok plays: the standalone kwok
// has none built in.
//
//go:embed stages/*.yaml
var stageFiles embed.FS

// stagesYAML joins the stage files into one multi-document file.
func stagesYAML() ([]byte, error) {
	entries, err := stageFiles.ReadDir("stages")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		data, err := stageFiles.ReadFile("stages/" + n)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	return b.Bytes(), nil
}

func writeStages(path string) error {
	data, err := stagesYAML()
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}
