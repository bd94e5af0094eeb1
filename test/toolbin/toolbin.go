// Package toolbin finds the upstream binaries that hack/build-tools.sh builds
// into the cache: ${EPKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/epks}/bin/<name>-<version>.
package toolbin

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

//go:generate cp ../../hack/versions.env versions.env

// versionsEnv is hack/versions.env; TestVersionsMatchHack keeps the copy equal.
//
//go:embed versions.env
var versionsEnv []byte

// versionKey says which line of versions.env pins each binary.
var versionKey = map[string]string{
	"etcd":                               "ETCD_VERSION",
	"kube-apiserver":                     "KUBERNETES_VERSION",
	"kube-controller-manager":            "KUBERNETES_VERSION",
	"kube-scheduler":                     "KUBERNETES_VERSION",
	"kubeadm":                            "KUBERNETES_VERSION",
	"kubelet":                            "KUBERNETES_VERSION",
	"kubectl":                            "KUBERNETES_VERSION",
	"kube-proxy":                         "KUBERNETES_VERSION",
	"coredns":                            "COREDNS_VERSION",
	"crictl":                             "CRI_TOOLS_VERSION",
	"pause":                              "PAUSE_VERSION",
	"kwok":                               "KWOK_VERSION",
	"helm":                               "HELM_VERSION",
	"openstack-cloud-controller-manager": "CLOUD_PROVIDER_OPENSTACK_VERSION",
	"cinder-csi-plugin":                  "CLOUD_PROVIDER_OPENSTACK_VERSION",
	"csi-provisioner":                    "EXTERNAL_PROVISIONER_VERSION",
	"csi-attacher":                       "EXTERNAL_ATTACHER_VERSION",
	"csi-snapshotter":                    "EXTERNAL_SNAPSHOTTER_VERSION",
	"snapshot-controller":                "EXTERNAL_SNAPSHOTTER_VERSION",
	"csi-resizer":                        "EXTERNAL_RESIZER_VERSION",
	"cni-bridge":                         "CNI_PLUGINS_VERSION",
	"cni-host-local":                     "CNI_PLUGINS_VERSION",
	"cni-loopback":                       "CNI_PLUGINS_VERSION",
	"cni-portmap":                        "CNI_PLUGINS_VERSION",
	"csi-sanity":                         "CSI_TEST_VERSION",
}

// Versions returns the pinned versions, by key of versions.env.
func Versions() map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(versionsEnv))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

// Version returns the pinned version of a binary.
func Version(name string) (string, error) {
	key, ok := versionKey[name]
	if !ok {
		return "", fmt.Errorf("no pinned version for binary %q", name)
	}
	return Versions()[key], nil
}

// CacheDir is the epks cache: $EPKS_CACHE, else $XDG_CACHE_HOME/epks, else
// ~/.cache/epks.
func CacheDir() string {
	if d := os.Getenv("EPKS_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "epks")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "epks-cache")
	}
	return filepath.Join(home, ".cache", "epks")
}

// Path returns the path of the cached binary for the pinned version, or an
// error that says how to build it.
func Path(name string) (string, error) {
	v, err := Version(name)
	if err != nil {
		return "", err
	}
	p := filepath.Join(CacheDir(), "bin", name+"-"+v)
	st, err := os.Stat(p)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s %s is not built at %s: run `make tools` (or hack/build-tools.sh %s)", name, v, p, name)
	}
	return p, nil
}
