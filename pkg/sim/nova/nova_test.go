package nova_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/availabilityzones"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/limits"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servergroups"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/tags"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/simtest"
)

var eo = gophercloud.EndpointOpts{Region: "RegionOne"}

func fatal(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantCode(t *testing.T, what string, err error, code int) {
	t.Helper()
	if !gophercloud.ResponseCodeIs(err, code) {
		t.Errorf("%s: got %v, want HTTP %d", what, err, code)
	}
}

const pubKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGAsD2B8Db2NTJrFtBPDBB2hmvYa/W8AnQQdgtE2cHjW test@viosim"

// TestServerCreateAsClusterCreate boots a server as epks cluster create
// does: the seed's image found in Glance, a pre-made port, a key pair, a
// config drive, user data and an anti-affinity group; BUILD then ACTIVE.
func TestServerCreateAsClusterCreate(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		compute, err := openstack.NewComputeV2(pc, eo)
		fatal(t, "compute", err)
		compute.Microversion = "2.64"
		imageSvc, err := openstack.NewImageV2(pc, eo)
		fatal(t, "image service in the catalog", err)
		network, _ := openstack.NewNetworkV2(pc, eo)

		page, err := images.List(imageSvc, images.ListOpts{Name: "ubuntu_dual_nic", Status: images.ImageStatusActive}).AllPages(ctx)
		fatal(t, "images", err)
		imgs, _ := images.ExtractImages(page)
		if len(imgs) != 1 {
			t.Fatalf("%d images named as the seed's, want 1", len(imgs))
		}
		page, _ = images.List(imageSvc, images.ListOpts{Name: "nope"}).AllPages(ctx)
		if none, _ := images.ExtractImages(page); len(none) != 0 {
			t.Errorf("name filter ignored: %d images", len(none))
		}

		kp, err := keypairs.Create(ctx, compute, keypairs.CreateOpts{Name: "test", PublicKey: pubKey}).Extract()
		fatal(t, "key pair import", err)
		if !strings.Contains(kp.Fingerprint, ":") || kp.PrivateKey != "" {
			t.Errorf("imported key pair %+v", kp)
		}
		_, err = keypairs.Create(ctx, compute, keypairs.CreateOpts{Name: "test", PublicKey: pubKey}).Extract()
		wantCode(t, "a second key pair of the same name", err, http.StatusConflict)
		gen, err := keypairs.Create(ctx, compute, keypairs.CreateOpts{Name: "generated"}).Extract()
		fatal(t, "key pair generate", err)
		if !strings.Contains(gen.PrivateKey, "PRIVATE KEY") {
			t.Error("a generated key pair has no private key")
		}

		group, err := servergroups.Create(ctx, compute, servergroups.CreateOpts{Name: "cp", Policy: "anti-affinity"}).Extract()
		fatal(t, "server group", err)
		if group.Policy == nil || *group.Policy != "anti-affinity" {
			t.Errorf("group policy %v", group.Policy)
		}

		mgmt := s.Seeded.Networks["k8scluster-mgmt"]
		port, err := ports.Create(ctx, network, ports.CreateOpts{NetworkID: mgmt.ID,
			FixedIPs: []ports.IP{{SubnetID: s.Seeded.Subnets["k8scluster-mgmt"].ID, IPAddress: "10.10.0.200"}}}).Extract()
		fatal(t, "port", err)
		drive := true
		userData := []byte("#cloud-config\nhostname: cp-0\n")
		base := servers.CreateOpts{Name: "cp-0", ImageRef: imgs[0].ID, FlavorRef: "3", ConfigDrive: &drive, UserData: userData,
			Networks: []servers.Network{{Port: port.ID}}}
		for _, tc := range []struct {
			name string
			edit func(o *servers.CreateOpts) (string, map[string]string)
			code int
		}{
			{"unknown key", func(o *servers.CreateOpts) (string, map[string]string) { return "missing", nil }, http.StatusBadRequest},
			{"unknown image", func(o *servers.CreateOpts) (string, map[string]string) {
				o.ImageRef = model.NewID()
				return "test", nil
			}, http.StatusBadRequest},
			{"unknown flavor", func(o *servers.CreateOpts) (string, map[string]string) { o.FlavorRef = "nope"; return "test", nil }, http.StatusBadRequest},
			{"user data too large", func(o *servers.CreateOpts) (string, map[string]string) {
				o.UserData = make([]byte, 50000) // 66,668 bytes in base64
				return "test", nil
			}, http.StatusBadRequest},
			{"unknown port", func(o *servers.CreateOpts) (string, map[string]string) {
				o.Networks = []servers.Network{{Port: model.NewID()}}
				return "test", nil
			}, http.StatusBadRequest},
		} {
			o := base
			key, _ := tc.edit(&o)
			_, err := servers.Create(ctx, compute, keypairs.CreateOptsExt{CreateOptsBuilder: o, KeyName: key}, nil).Extract()
			wantCode(t, tc.name, err, tc.code)
		}
		if len(s.World.Servers(func(sv *model.Server) bool { return sv.Name == "cp-0" })) != 0 {
			t.Fatal("a refused create left a server")
		}

		srv, err := servers.Create(ctx, compute, keypairs.CreateOptsExt{CreateOptsBuilder: base, KeyName: "test"},
			servers.SchedulerHintOpts{Group: group.ID}).Extract()
		fatal(t, "server create", err)
		got, err := servers.Get(ctx, compute, srv.ID).Extract()
		fatal(t, "server", err)
		if got.Status != "BUILD" {
			t.Errorf("status right after create %s, want BUILD", got.Status)
		}
		s.World.Settle()
		got, _ = servers.Get(ctx, compute, srv.ID).Extract()
		if got.Status != "ACTIVE" || got.KeyName != "test" {
			t.Errorf("server %s key %q, want ACTIVE with key test", got.Status, got.KeyName)
		}
		model, _ := s.World.Server(srv.ID)
		if !model.ConfigDrive || model.UserData != base64.StdEncoding.EncodeToString(userData) {
			t.Errorf("config drive %v, user data %q", model.ConfigDrive, model.UserData)
		}
		bound, _ := ports.Get(ctx, network, port.ID).Extract()
		if bound.DeviceID != srv.ID || !strings.HasPrefix(bound.DeviceOwner, "compute:") {
			t.Errorf("the port passed in: device %q owner %q", bound.DeviceID, bound.DeviceOwner)
		}
		g, _ := servergroups.Get(ctx, compute, group.ID).Extract()
		if len(g.Members) != 1 || g.Members[0] != srv.ID {
			t.Errorf("group members %v", g.Members)
		}

		// Metadata and tags.
		_, err = servers.UpdateMetadata(ctx, compute, srv.ID, servers.MetadataOpts{"cluster": "demo"}).Extract()
		fatal(t, "metadata", err)
		md, _ := servers.Metadata(ctx, compute, srv.ID).Extract()
		if md["cluster"] != "demo" {
			t.Errorf("metadata %v", md)
		}
		compute.Microversion = "2.64"
		_, err = tags.ReplaceAll(ctx, compute, srv.ID, tags.ReplaceAllOpts{Tags: []string{"epks", "cluster-demo"}}).Extract()
		fatal(t, "tags", err)
		ok, err := tags.Check(ctx, compute, srv.ID, "epks").Extract()
		if err != nil || !ok {
			t.Errorf("tag check %v %v", ok, err)
		}

		// Deleting the server unbinds the port passed in, and keeps it.
		fatal(t, "server delete", servers.Delete(ctx, compute, srv.ID).ExtractErr())
		kept, err := ports.Get(ctx, network, port.ID).Extract()
		fatal(t, "the port after the server", err)
		if kept.DeviceID != "" {
			t.Errorf("port still bound to %s", kept.DeviceID)
		}
		fatal(t, "key pair delete", keypairs.Delete(ctx, compute, "test", nil).ExtractErr())
		wantCode(t, "deleted key pair", keypairs.Get(ctx, compute, "test", nil).Err, http.StatusNotFound)
	}, sim.Options{Transition: time.Hour})
}

func TestFlavorsZonesQuotasAndMicroversions(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		compute, _ := openstack.NewComputeV2(pc, eo)
		_, err := flavors.CreateExtraSpecs(ctx, compute, "3", flavors.ExtraSpecsOpts{"hw:cpu_policy": "dedicated"}).Extract()
		fatal(t, "extra specs", err)
		compute.Microversion = "2.61"
		f, err := flavors.Get(ctx, compute, "3").Extract()
		fatal(t, "flavor", err)
		if f.ExtraSpecs["hw:cpu_policy"] != "dedicated" {
			t.Errorf("flavor at 2.61: extra specs %v", f.ExtraSpecs)
		}
		compute.Microversion = "2.60"
		f, _ = flavors.Get(ctx, compute, "3").Extract()
		if len(f.ExtraSpecs) != 0 {
			t.Errorf("flavor at 2.60 shows extra specs %v", f.ExtraSpecs)
		}

		page, err := availabilityzones.ListDetail(compute).AllPages(ctx)
		fatal(t, "zones detail", err)
		zones, _ := availabilityzones.ExtractAvailabilityZones(page)
		if len(zones) < 1 || zones[0].ZoneName != "nova" || len(zones[0].Hosts) == 0 {
			t.Errorf("zones %+v", zones)
		}

		project := s.Seeded.Project.ID
		q, err := quotasets.Get(ctx, compute, project).Extract()
		fatal(t, "quota set", err)
		if q.Instances != 10 || q.Cores != 20 || q.RAM != 51200 {
			t.Errorf("default quotas %+v, want Nova's", q)
		}
		l, err := limits.Get(ctx, compute, nil).Extract()
		fatal(t, "limits", err)
		if l.Absolute.TotalInstancesUsed != len(s.Seeded.Servers) || l.Absolute.TotalCoresUsed != 2*len(s.Seeded.Servers) {
			t.Errorf("usage %+v", l.Absolute)
		}
		used := l.Absolute.TotalInstancesUsed
		_, err = quotasets.Update(ctx, compute, project, quotasets.UpdateOpts{Instances: &used}).Extract()
		fatal(t, "quota update", err)
		img := s.World.Images(nil)[0].ID
		_, err = servers.Create(ctx, compute, servers.CreateOpts{Name: "over", ImageRef: img, FlavorRef: "3"}, nil).Extract()
		wantCode(t, "a server over quota", err, http.StatusForbidden)

		compute.Microversion = "2.200"
		_, err = flavors.Get(ctx, compute, "3").Extract()
		wantCode(t, "a microversion above the served", err, http.StatusNotAcceptable)
	})
}

// TestConsoleOutputSimulated asks a simulated server for its console output
// (os-getConsoleOutput, as `openstack console log show`): empty, since no
// machine runs it; an unknown action is refused.
func TestConsoleOutputSimulated(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		compute, err := openstack.NewComputeV2(pc, eo)
		fatal(t, "compute", err)
		var id string
		for _, sv := range s.Seeded.Servers {
			id = sv.ID
		}
		out, err := servers.ShowConsoleOutput(ctx, compute, id, servers.ShowConsoleOutputOpts{Length: 10}).Extract()
		if err != nil || out != "" {
			t.Errorf("console output of a simulated server: %q, %v; want empty", out, err)
		}
		_, err = compute.Post(ctx, compute.ServiceURL("servers", id, "action"), map[string]any{"os-nope": nil}, nil, nil)
		wantCode(t, "an unknown action", err, http.StatusBadRequest)
		_, err = servers.ShowConsoleOutput(ctx, compute, "00000000-0000-0000-0000-000000000000", servers.ShowConsoleOutputOpts{}).Extract()
		wantCode(t, "console output of no server", err, http.StatusNotFound)
	})
}

// fakeBooter boots the servers whose names start with boot- (as viosim
// --boot-servers '^boot-'), recording them.
type fakeBooter struct {
	mu     sync.Mutex
	booted []string
}

func (b *fakeBooter) Boots(name string) bool { return strings.HasPrefix(name, "boot-") }
func (b *fakeBooter) Boot(s model.Server) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.booted = append(b.booted, s.Name)
}
func (b *fakeBooter) Stop(string) error { return nil }
func (b *fakeBooter) ConsoleOutput(string, int) (string, error) {
	return "machine console\n", nil
}

// TestBootOnlySelectedServers: with a booter, only the servers it boots
// run as machines (their console is the machine's, they stay BUILD until the
// machine runs); the others are simulated and become ACTIVE.
func TestBootOnlySelectedServers(t *testing.T) {
	s, err := sim.New(sim.Options{Transition: 5 * time.Millisecond, Seed: ptr(model.ClusterSeed("k8scluster", 0, 0))})
	fatal(t, "new", err)
	b := &fakeBooter{}
	s.SetBooter(b)
	fatal(t, "start", s.Start())
	t.Cleanup(s.Close)
	ctx := context.Background()
	pc, err := s.Provider(ctx, "")
	fatal(t, "provider", err)
	compute, err := openstack.NewComputeV2(pc, eo)
	fatal(t, "compute", err)
	imageSvc, _ := openstack.NewImageV2(pc, eo)
	page, err := images.List(imageSvc, images.ListOpts{}).AllPages(ctx)
	fatal(t, "images", err)
	imgs, _ := images.ExtractImages(page)
	ids := map[string]string{}
	for _, name := range []string{"boot-0", "simulated-0"} {
		srv, err := servers.Create(ctx, compute, servers.CreateOpts{Name: name, FlavorRef: "3", ImageRef: imgs[0].ID, Networks: "none"}, nil).Extract()
		fatal(t, "create "+name, err)
		ids[name] = srv.ID
	}
	if len(b.booted) != 1 || b.booted[0] != "boot-0" {
		t.Errorf("booted %v, want [boot-0]", b.booted)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		sv, err := servers.Get(ctx, compute, ids["simulated-0"]).Extract()
		fatal(t, "get", err)
		if sv.Status == "ACTIVE" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the simulated server is %s, want ACTIVE", sv.Status)
		}
	}
	if sv, _ := servers.Get(ctx, compute, ids["boot-0"]).Extract(); sv == nil || sv.Status != "BUILD" {
		t.Errorf("the booted server is %+v, want BUILD until its machine runs", sv)
	}
	out, err := servers.ShowConsoleOutput(ctx, compute, ids["simulated-0"], servers.ShowConsoleOutputOpts{}).Extract()
	if err != nil || out != "" {
		t.Errorf("console of the simulated server: %q, %v; want empty", out, err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestAnswers asks Nova's handlers, in order, what clients ask of them and
// what they refuse, and checks each status, the error in Nova's format
// ({"badRequest": {"code": 400, "message": ...}}) and headers that depend
// on the microversion or on the world (201 or 204).
func TestAnswers(t *testing.T) {
	simtest.Test(t, func(ctx context.Context, s *sim.Server, pc *gophercloud.ProviderClient) {
		srv := s.Seeded.Servers["k8scluster-minion-0"].ID
		nova := s.URL(sim.Nova)
		sv := nova + "/servers/" + srv
		v22 := map[string]string{"X-OpenStack-Nova-API-Version": "2.2"}
		for _, tc := range []struct {
			method, path, body string
			header             map[string]string
			status             int
			want               []string // substrings of the body
			wantHeader         map[string]string
		}{
			{method: "GET", path: "/", status: 200, want: []string{`"id":"v2.1"`}},
			{method: "GET", path: "/servers/nope", status: 404, want: []string{`"itemNotFound":{"code":404,"message":"Instance nope could not be found."}`}},
			{method: "DELETE", path: "/servers/nope", status: 404, want: []string{`"Instance nope could not be found."`}},
			{method: "POST", path: "/servers", body: `{"server":`, status: 400, want: []string{`"badRequest":{"code":400,"message":"malformed request body`}},
			{method: "POST", path: "/servers", body: `{"server":{}}`, status: 400, want: []string{`"Invalid input for field/attribute name."`}},
			{method: "GET", path: "/servers?name=(", status: 400, want: []string{`"Invalid filter field: name.`}},
			{method: "GET", path: "/servers?limit=x", status: 400, want: []string{`"badRequest"`, `limit`}},
			{method: "GET", path: "/servers?marker=nope", status: 400, want: []string{`"marker [nope] not found"`}},
			{method: "POST", path: sv[len(nova):] + "/action", body: `{"a":1,"b":2}`, status: 400, want: []string{`"Malformed request body"`}},
			{method: "POST", path: sv[len(nova):] + "/action", body: `{"os-nope":null}`, status: 400, want: []string{`"There is no such action: os-nope"`}},
			{method: "POST", path: sv[len(nova):] + "/action", body: `{"os-getConsoleOutput":{"length":"x"}}`, status: 400, want: []string{`"Invalid input for field/attribute length. Value: x."`}},
			{method: "POST", path: sv[len(nova):] + "/action", body: `{"os-getConsoleOutput":{"length":"5"}}`, status: 200, want: []string{`"output":""`}},
			{method: "POST", path: "/servers/nope/action", body: `{"os-getConsoleOutput":{}}`, status: 404, want: []string{`"itemNotFound"`}},
			{method: "GET", path: sv[len(nova):] + "/ips", status: 200, want: []string{`"k8scluster-mgmt":[{"addr":`}},
			{method: "GET", path: sv[len(nova):] + "/os-interface", status: 200, want: []string{`"interfaceAttachments":[{`}},
			{method: "POST", path: sv[len(nova):] + "/os-volume_attachments", body: `{"volumeAttachment":{}}`, status: 400, want: []string{`"Invalid input for field/attribute volumeAttachment."`}},
			{method: "POST", path: sv[len(nova):] + "/os-volume_attachments", body: `{"volumeAttachment":{"volumeId":"nope"}}`, status: 404, want: []string{`"itemNotFound"`}},
			{method: "GET", path: sv[len(nova):] + "/os-volume_attachments", status: 200, want: []string{`"volumeAttachments":[]`}},
			{method: "GET", path: sv[len(nova):] + "/os-volume_attachments/nope", status: 404, want: []string{`"volume_id not found: nope"`}},
			{method: "DELETE", path: sv[len(nova):] + "/os-volume_attachments/nope", status: 404, want: []string{`"itemNotFound"`}},
			{method: "GET", path: "/flavors/nope", status: 404, want: []string{`"Flavor nope could not be found."`}},
			{method: "GET", path: "/flavors/nope/os-extra_specs", status: 404, want: []string{`"Flavor nope could not be found."`}},
			{method: "GET", path: "/flavors/3/os-extra_specs", status: 200, want: []string{`"extra_specs":{}`}},
			{method: "GET", path: "/os-availability-zone", status: 200, want: []string{`"zoneName":"nova"`}},
			// Key pairs: 200 and 202 at 2.1, 201 and 204 from 2.2.
			{method: "POST", path: "/os-keypairs", body: `{"keypair":{"name":"k1","public_key":"` + pubKey + `"}}`, status: 200, want: []string{`"name":"k1"`}},
			{method: "POST", path: "/os-keypairs", body: `{"keypair":{"name":"k2","public_key":"` + pubKey + `"}}`, header: v22, status: 201, want: []string{`"name":"k2"`}},
			{method: "POST", path: "/os-keypairs", body: `{"keypair":{"name":"k3","type":"rsa"}}`, header: v22, status: 400, want: []string{`"Invalid input for field/attribute type. Value: rsa."`}},
			{method: "GET", path: "/os-keypairs", status: 200, want: []string{`"keypairs":[{"keypair":{`}},
			{method: "DELETE", path: "/os-keypairs/k1", status: 202},
			{method: "DELETE", path: "/os-keypairs/k2", header: v22, status: 204},
			{method: "DELETE", path: "/os-keypairs/k2", header: v22, status: 404, want: []string{`"Keypair k2 not found for user `}},
			{method: "GET", path: "/os-keypairs/k2", status: 404, want: []string{`"Keypair k2 not found for user `}},
			// Server groups.
			{method: "GET", path: "/os-server-groups/nope", status: 404, want: []string{`"Instance group nope could not be found."`}},
			{method: "DELETE", path: "/os-server-groups/nope", status: 404, want: []string{`"Instance group nope could not be found."`}},
			{method: "POST", path: "/os-server-groups", body: `{"server_group":{"name":"g","policies":["affinity"]}}`, status: 200, want: []string{`"policies":["affinity"]`}},
			{method: "GET", path: "/os-server-groups", status: 200, want: []string{`"name":"g"`}},
			// Metadata, key by key.
			{method: "POST", path: sv[len(nova):] + "/metadata", body: `{}`, status: 400, want: []string{`"Malformed request body: metadata is required"`}},
			{method: "POST", path: sv[len(nova):] + "/metadata", body: `{"metadata":{"a":"1"}}`, status: 200, want: []string{`"a":"1"`}},
			{method: "PUT", path: sv[len(nova):] + "/metadata/k", body: `{"meta":{"j":"v"}}`, status: 400, want: []string{`"Request body and URI mismatch"`}},
			{method: "PUT", path: sv[len(nova):] + "/metadata/k", body: `{"meta":{"k":"v"}}`, status: 200, want: []string{`"meta":{"k":"v"}`}},
			{method: "GET", path: sv[len(nova):] + "/metadata/k", status: 200, want: []string{`"meta":{"k":"v"}`}},
			{method: "GET", path: sv[len(nova):] + "/metadata", status: 200, want: []string{`"metadata":{"a":"1","k":"v"}`}},
			{method: "DELETE", path: sv[len(nova):] + "/metadata/k", status: 204},
			{method: "DELETE", path: sv[len(nova):] + "/metadata/k", status: 404, want: []string{`"Metadata item was not found"`}},
			{method: "GET", path: sv[len(nova):] + "/metadata/k", status: 404, want: []string{`"Metadata item was not found"`}},
			{method: "PUT", path: sv[len(nova):] + "/metadata", body: `{"metadata":{"b":"2"}}`, status: 200, want: []string{`"metadata":{"b":"2"}`}},
			// Tags: 201 with the Location of a new tag, 204 for one the server has.
			{method: "PUT", path: sv[len(nova):] + "/tags/a", status: 201, wantHeader: map[string]string{"Location": sv + "/tags/a"}},
			{method: "PUT", path: sv[len(nova):] + "/tags/a", status: 204, wantHeader: map[string]string{"Location": ""}},
			{method: "PUT", path: sv[len(nova):] + "/tags/a,b", status: 400, want: []string{`"Invalid input for field/attribute tags. Value: a,b."`}},
			{method: "GET", path: sv[len(nova):] + "/tags/a", status: 204},
			{method: "GET", path: sv[len(nova):] + "/tags/b", status: 404, want: []string{`"Tag 'b' could not be found for instance ` + srv + `."`}},
			{method: "DELETE", path: sv[len(nova):] + "/tags/a", status: 204},
			{method: "DELETE", path: sv[len(nova):] + "/tags/a", status: 404, want: []string{`"Tag 'a' could not be found`}},
			{method: "PUT", path: sv[len(nova):] + "/tags", body: `{"tags":["y","x","x"]}`, status: 200, want: []string{`"tags":["x","y"]`}},
			{method: "GET", path: sv[len(nova):] + "/tags", status: 200, want: []string{`"tags":["x","y"]`}},
			{method: "DELETE", path: sv[len(nova):] + "/tags", status: 204},
			{method: "GET", path: sv[len(nova):] + "/tags", status: 200, want: []string{`"tags":[]`}},
			// Quotas and limits.
			{method: "PUT", path: "/os-quota-sets/" + s.Seeded.Project.ID, body: `{"quota_set":{"instances":"x"}}`, status: 400, want: []string{`"Invalid input for field/attribute instances. Value: x."`}},
			{method: "GET", path: "/os-quota-sets/" + s.Seeded.Project.ID + "/detail", status: 200, want: []string{`"instances":{"in_use":`}},
			{method: "GET", path: "/limits", status: 200, want: []string{`"maxTotalInstances":10`}},
			// Microversions outside 2.1-2.96.
			{method: "GET", path: "/flavors", header: map[string]string{"X-OpenStack-Nova-API-Version": "2.0"}, status: 406, want: []string{`"Version 2.0 is not supported by the API.`}},
			{method: "GET", path: "/flavors", header: map[string]string{"X-OpenStack-Nova-API-Version": "2"}, status: 400, want: []string{`"Invalid format for API version: 2."`}},
		} {
			name := tc.method + " " + tc.path
			got := simtest.Do(t, s, pc, simtest.Call{Method: tc.method, URL: nova + tc.path, Body: tc.body, Header: tc.header})
			if got.Status != tc.status {
				t.Errorf("%s: %d %s, want %d", name, got.Status, got.Body, tc.status)
				continue
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Body, w) {
					t.Errorf("%s: %s, want %s", name, got.Body, w)
				}
			}
			for k, v := range tc.wantHeader {
				if got.Header.Get(k) != v {
					t.Errorf("%s: %s %q, want %q", name, k, got.Header.Get(k), v)
				}
			}
			if tc.status >= 400 {
				wantNovaError(t, name, got)
			}
		}
	})
}

// wantNovaError checks an error body is Nova's: one key, the code and a
// message.
func wantNovaError(t *testing.T, name string, got simtest.Answer) {
	t.Helper()
	var body map[string]struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(got.Body), &body); err != nil || len(body) != 1 {
		t.Errorf("%s: not Nova's error body: %s", name, got.Body)
		return
	}
	for _, e := range body {
		if e.Code != got.Status || e.Message == "" {
			t.Errorf("%s: not Nova's error body: %s", name, got.Body)
		}
	}
}
