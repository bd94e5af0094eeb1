package tagger

import (
	"strings"
	"testing"
)

// TestConfigThumbprints: the thumbprints the chart writes reach the NSX
// client, and a malformed one is a configuration problem naming it.
func TestConfigThumbprints(t *testing.T) {
	dir := t.TempDir()
	tp := strings.Repeat("ab", 32)
	writeFile(t, dir, "username", "admin\n")
	writeFile(t, dir, "password", "pw\n")
	c, err := LoadConfig(writeFile(t, dir, "config.yaml", `clusterName: k8scluster
nsx:
  managers: ["nsx.example:443"]
  thumbprints: ["`+tp+`"]
  credentialsDir: `+dir+`
podNetworkCIDR: 172.30.0.0/16
`))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := c.NSXConfig()
	if err != nil || len(nc.Thumbprints) != 1 || nc.Thumbprints[0] != tp {
		t.Fatalf("NSXConfig thumbprints = %v, %v", nc.Thumbprints, err)
	}
	_, err = LoadConfig(writeFile(t, dir, "bad.yaml", `clusterName: k8scluster
nsx:
  managers: ["nsx.example:443"]
  thumbprints: ["`+tp[:40]+`"]
  credentialsDir: `+dir+`
podNetworkCIDR: 172.30.0.0/16
`))
	if err == nil || !strings.Contains(err.Error(), "nsx.thumbprints[0]") || !strings.Contains(err.Error(), "SHA-1") {
		t.Errorf("a SHA-1 thumbprint: %v", err)
	}
}
