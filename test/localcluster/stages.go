package localcluster

import (
	"bytes"
	"embed"
	"os"
	"sort"
	"strings"
)

// kwokAnnotation marks the nodes kwok manages.
const kwokAnnotation = "kwok.x-k8s.io/node"

// stageFiles are the node and pod lifecycles kwok plays: the standalone kwok
// has none built in.
//
//go:embed stages/*.yaml
var stageFiles embed.FS

// PodNetworkAnnotation, set to "ready" on a pod, gives it its IP and lets
// it run, when Options.PodNetworkGate holds the pods that are not on the
// host network back (as a CNI plugin such as NCP does until it can wire
// them).
const PodNetworkAnnotation = "localcluster.epks.io/pod-network"

// podReadyPending is the line of the pod-ready stage's selector that the
// gate adds to.
const podReadyPending = "        values: [Pending]\n"

// gatePodNetwork splits the pod-ready stage in two: host-network pods start
// at once, the others once they carry PodNetworkAnnotation.
func gatePodNetwork(stage string) string {
	host := strings.Replace(stage, "name: epks-pod-ready\n", "name: epks-pod-ready-host-network\n", 1)
	host = strings.Replace(host, podReadyPending, podReadyPending+
		"      - key: '.spec.hostNetwork'\n        operator: In\n        values: ['true']\n", 1)
	pod := strings.Replace(stage, podReadyPending, podReadyPending+
		"      - key: '.metadata.annotations[\""+PodNetworkAnnotation+"\"]'\n        operator: In\n        values: [ready]\n", 1)
	return host + "---\n" + pod
}

// stagesYAML joins the stage files into one multi-document file.
func stagesYAML(gate bool) ([]byte, error) {
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
		if gate && n == "pod-ready.yaml" {
			b.WriteString(gatePodNetwork(string(data)))
			continue
		}
		b.Write(data)
	}
	return b.Bytes(), nil
}

func writeStages(path string, gate bool) error {
	data, err := stagesYAML(gate)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}
