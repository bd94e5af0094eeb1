package chartconf

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cloud-provider-openstack/pkg/client"
	occm "k8s.io/cloud-provider-openstack/pkg/openstack"

	"github.com/epks/epks/pkg/cloudconf"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path, err := Write(context.Background(), Values(map[string]any{
		"authURL": "https://keystone.example:5000/v3", "username": "admin", "password": `p"w`,
		"projectID": "p1", "userDomainID": "default", "projectDomainID": "default", "region": "nova",
		"caBundle": "-----BEGIN CERTIFICATE-----\n",
	}), dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cloudconf.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Global.CAFile != filepath.Join(dir, "ca.crt") || c.Global.Password != `p"w` || c.Global.TenantID != "p1" {
		t.Errorf("written cloud.conf reads as %+v", c.Global)
	}
	if ca, err := os.ReadFile(c.Global.CAFile); err != nil || string(ca) != "-----BEGIN CERTIFICATE-----\n" {
		t.Errorf("ca.crt: %q, %v", ca, err)
	}
}

// TestReadChecksKeys: gcfg ignores keys it does not know, so Read must
// name every key no upstream reader knows or pkg/cloudconf does not model.
func TestReadChecksKeys(t *testing.T) {
	conf := `[Global]
auth-url = "https://k/v3"
password = "x"
tenant-id = "p"

[LoadBalancer]
enabled = false
lb-providr = "amphora"
lb-method = "ROUND_ROBIN"

[Metadata]
search-order = "configDrive"
`
	_, err := Read(conf)
	if err == nil {
		t.Fatal("Read accepted keys that no reader knows")
	}
	for _, want := range []string{
		"[loadbalancer] lb-providr is read by neither the OCCM nor the cinder CSI plugin",
		"[loadbalancer] lb-providr is not in pkg/cloudconf's model",
		// Known to the OCCM, but epks does not model (so does not write) it.
		"[loadbalancer] lb-method is not in pkg/cloudconf's model",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "search-order") || strings.Contains(err.Error(), "password") {
		t.Errorf("known keys reported: %v", err)
	}
}

// TestReadersAgree: Read reports a key the port tagger reads otherwise
// than an upstream reader.
func TestReadersAgree(t *testing.T) {
	r := &Readings{
		OCCM:   occm.Config{Global: client.AuthOpts{Password: "s3cret"}},
		Tagger: &cloudconf.Config{Global: cloudconf.Global{Password: "s3cret "}},
		Keys:   map[string][]string{"global": {"password"}},
	}
	if err := r.agree(); err == nil || !strings.Contains(err.Error(), "[global] password") {
		t.Errorf("agree = %v, want the password named", err)
	}
	r.Tagger.Global.Password = "s3cret"
	if err := r.agree(); err != nil {
		t.Errorf("agree = %v for equal readings", err)
	}
}

func TestKeys(t *testing.T) {
	got, err := Keys("# c\n[Global]\nauth-url = \"x = y\"\n; c\n[Networking]\ninternal-network-name = a\ninternal-network-name = b\nblank\n")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got["global"], ",") != "auth-url" || strings.Join(got["networking"], ",") != "internal-network-name,blank" {
		t.Errorf("Keys = %v", got)
	}
	if _, err := Keys("key = outside a section\n"); err == nil {
		t.Error("a key before any section was accepted")
	}
}
