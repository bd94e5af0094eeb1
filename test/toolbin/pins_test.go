package toolbin

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"sigs.k8s.io/yaml"
)

// modulePins says which module of which scratch module under hack/tools pins each line of
// versions.env: the version built must be the version required.
var modulePins = []struct {
	key, dir, module string
}{
	{"KUBERNETES_VERSION", "kubernetes", "k8s.io/kubernetes"},
	{"ETCD_VERSION", "kubernetes", "go.etcd.io/etcd/server/v3"},
	{"KWOK_VERSION", "kubernetes", "sigs.k8s.io/kwok"},
	{"HELM_VERSION", "kubernetes", "helm.sh/helm/v3"},
	{"CLOUD_PROVIDER_OPENSTACK_VERSION", "kubernetes", "k8s.io/cloud-provider-openstack"},
	{"EXTERNAL_PROVISIONER_VERSION", "csi-provisioner", "github.com/kubernetes-csi/external-provisioner/v6"},
	{"EXTERNAL_ATTACHER_VERSION", "csi-attacher", "github.com/kubernetes-csi/external-attacher/v4"},
	{"EXTERNAL_SNAPSHOTTER_VERSION", "external-snapshotter", "github.com/kubernetes-csi/external-snapshotter/v8"},
	{"EXTERNAL_RESIZER_VERSION", "csi-resizer", "github.com/kubernetes-csi/external-resizer"},
	{"COREDNS_VERSION", "coredns", "github.com/coredns/coredns"},
	{"CRI_TOOLS_VERSION", "cri-tools", "sigs.k8s.io/cri-tools"},
	{"CNI_PLUGINS_VERSION", "cni-plugins", "github.com/containernetworking/plugins"},
	{"CSI_TEST_VERSION", "csi-test", "github.com/kubernetes-csi/csi-test/v5"},
}

// requiredVersion returns the version a go.mod requires of module ("" when it does not).
func requiredVersion(gomod []byte, module string) string {
	re := regexp.MustCompile(`(?m)^(?:require)?\s*` + regexp.QuoteMeta(module) + `\s+(v\S+)`)
	if m := re.FindSubmatch(gomod); m != nil {
		return string(m[1])
	}
	return ""
}

func TestVersionsMatchScratchModules(t *testing.T) {
	versions := Versions()
	for _, p := range modulePins {
		gomod, err := os.ReadFile(filepath.Join("../../hack/tools", p.dir, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		got := requiredVersion(gomod, p.module)
		if got == "" {
			t.Errorf("hack/tools/%s/go.mod does not require %s", p.dir, p.module)
			continue
		}
		if got != versions[p.key] {
			t.Errorf("hack/tools/%s/go.mod requires %s %s, versions.env says %s=%s", p.dir, p.module, got, p.key, versions[p.key])
		}
	}
}

// chartImagePins says which image of the chart's values runs which pinned binary: the image
// the cluster pulls must be the version the testbed runs.
var chartImagePins = []struct {
	path []string
	key  string
}{
	{[]string{"occm", "image"}, "CLOUD_PROVIDER_OPENSTACK_VERSION"},
	{[]string{"cinderCSI", "images", "plugin"}, "CLOUD_PROVIDER_OPENSTACK_VERSION"},
	{[]string{"cinderCSI", "images", "provisioner"}, "EXTERNAL_PROVISIONER_VERSION"},
	{[]string{"cinderCSI", "images", "attacher"}, "EXTERNAL_ATTACHER_VERSION"},
	{[]string{"cinderCSI", "images", "snapshotter"}, "EXTERNAL_SNAPSHOTTER_VERSION"},
	{[]string{"cinderCSI", "images", "resizer"}, "EXTERNAL_RESIZER_VERSION"},
	{[]string{"snapshotController", "image"}, "EXTERNAL_SNAPSHOTTER_VERSION"},
}

func TestVersionsMatchChartImages(t *testing.T) {
	raw, err := os.ReadFile("../../charts/epks-addons/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	versions := Versions()
	for _, p := range chartImagePins {
		var node any = values
		for _, k := range p.path {
			m, _ := node.(map[string]any)
			node = m[k]
		}
		image, _ := node.(map[string]any)
		tag, _ := image["tag"].(string)
		if tag != versions[p.key] {
			t.Errorf("values.yaml %v tag is %q, versions.env says %s=%s", p.path, tag, p.key, versions[p.key])
		}
	}
}

func TestRequiredVersion(t *testing.T) {
	gomod := []byte("module x\n\nrequire github.com/a/b/v4 v4.13.0\n\nrequire (\n\tk8s.io/kubernetes v1.36.2\n\tk8s.io/kubernetes-x v9.9.9 // indirect\n)\n")
	for module, want := range map[string]string{
		"github.com/a/b/v4": "v4.13.0",
		"k8s.io/kubernetes": "v1.36.2",
		"k8s.io/kube":       "",
	} {
		if got := requiredVersion(gomod, module); got != want {
			t.Errorf("requiredVersion(%s) = %q, want %q", module, got, want)
		}
	}
}
