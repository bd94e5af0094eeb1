package model

import (
	"errors"
	"testing"
	"time"
)

func seeded(t *testing.T) (*World, *Seeded) {
	t.Helper()
	w := New(Options{Transition: time.Millisecond})
	t.Cleanup(w.Close)
	s, err := w.Apply(ClusterSeed("k8scluster", 1, 2))
	if err != nil {
		t.Fatal(err)
	}
	return w, s
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestServerPortsAndNSXTwins: a server's NICs are Neutron ports whose NSX
// ports carry VIO's tags and the Neutron port id as attachment.
func TestServerPortsAndNSXTwins(t *testing.T) {
	w, s := seeded(t)
	server := s.Servers["k8scluster-minion-0"]
	ports := w.PortsOfDevice(server.ID)
	if len(ports) != 2 {
		t.Fatalf("%d ports, want 2 (management and pod)", len(ports))
	}
	for _, p := range ports {
		nsxID, ok := w.NSXPortOfAttachment(p.ID)
		if !ok {
			t.Fatalf("port %s has no NSX port", p.ID)
		}
		body, _ := w.GetPort(ManagerAPI, nsxID)
		if body["attachment"].(map[string]any)["id"] != p.ID {
			t.Errorf("attachment id %v, want %s", body["attachment"], p.ID)
		}
		tags := map[string]string{}
		for _, tg := range TagsOf(body) {
			tags[tg.Scope] = tg.Tag
		}
		if tags["os-neutron-port-id"] != p.ID || tags["os-instance-uuid"] != server.ID || tags["os-project-id"] != s.Project.ID {
			t.Errorf("tags %v", tags)
		}
		ls, _ := w.LogicalSwitchOfNetwork(p.NetworkID)
		if body["logical_switch_id"] != ls.ID {
			t.Errorf("switch %v, want %s", body["logical_switch_id"], ls.ID)
		}
		if seg, err := w.GetPort(PolicyAPI, p.ID); err != nil || seg["parent_path"] != "/infra/segments/"+p.NetworkID {
			t.Errorf("segment port %v %v", seg, err)
		}
	}
	if len(w.ServerAddresses(server.ID)) != 2 {
		t.Errorf("addresses %v", w.ServerAddresses(server.ID))
	}
	if err := w.DeleteServer(server.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		if _, ok := w.NSXPortOfAttachment(p.ID); ok {
			t.Errorf("NSX port of %s outlived the server", p.ID)
		}
	}
}

// TestBoundPortGetsTheInstanceTag: a port made before its server (as epks
// cluster create and HEAT make them) gets os-instance-uuid on its NSX
// ports when the server is created on it, as VIO's NSX plugin updates the
// backend port, and loses it with the server; other tags stay.
func TestBoundPortGetsTheInstanceTag(t *testing.T) {
	w, s := seeded(t)
	net := s.Networks["k8scluster-pod"]
	p, err := w.CreatePort(Port{NetworkID: net.ID, ProjectID: s.Project.ID, Name: "node-pod"})
	if err != nil {
		t.Fatal(err)
	}
	nsxID, _ := w.NSXPortOfAttachment(p.ID)
	if err := w.SetPortTags(ManagerAPI, nsxID, append(TagsOf(mustPort(t, w, ManagerAPI, nsxID)), Tag{Scope: "ncp/cluster", Tag: "k8scluster"})); err != nil {
		t.Fatal(err)
	}
	instance := func(api PortAPI, id string) (string, map[string]string) {
		tags := map[string]string{}
		for _, tg := range TagsOf(mustPort(t, w, api, id)) {
			tags[tg.Scope] = tg.Tag
		}
		return tags["os-instance-uuid"], tags
	}
	if got, _ := instance(ManagerAPI, nsxID); got != "" {
		t.Fatalf("an unbound port has os-instance-uuid %s", got)
	}
	sv, err := w.CreateServer(Server{Name: "node", ProjectID: s.Project.ID}, []NIC{{PortID: p.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		api PortAPI
		id  string
	}{{ManagerAPI, nsxID}, {PolicyAPI, p.ID}} {
		if got, tags := instance(x.api, x.id); got != sv.ID || tags["os-neutron-port-id"] != p.ID {
			t.Errorf("API %d: tags after the server was created on the port: %v", x.api, tags)
		}
	}
	if _, tags := instance(ManagerAPI, nsxID); tags["ncp/cluster"] != "k8scluster" {
		t.Errorf("another writer's tag was lost: %v", tags)
	}
	if err := w.DeleteServer(sv.ID); err != nil {
		t.Fatal(err)
	}
	if got, tags := instance(ManagerAPI, nsxID); got != "" || tags["ncp/cluster"] != "k8scluster" {
		t.Errorf("tags after the server was deleted: %v", tags)
	}
}

func mustPort(t *testing.T, w *World, api PortAPI, id string) map[string]any {
	t.Helper()
	body, err := w.GetPort(api, id)
	if err != nil {
		t.Fatal(err)
	}
	return body
}
func TestNSXUpdateKeepsUnknownFieldsAndChecksRevision(t *testing.T) {
	w, _ := seeded(t)
	id := w.NSXPortIDs(ManagerAPI)[0]
	body, _ := w.GetPort(ManagerAPI, id)
	body["vendor_extension"] = map[string]any{"x": []any{1.0, "two"}}
	body["tags"] = append(body["tags"].([]any), map[string]any{"scope": "ncp/cluster", "tag": "k8scluster"})
	if _, err := w.UpdateNSXPort(ManagerAPI, id, body, "tagger", false); !errors.As(err, new(*ErrProtected)) {
		t.Fatalf("a protected port without the override header: %v", err)
	}
	out, err := w.UpdateNSXPort(ManagerAPI, id, body, "tagger", true)
	if err != nil {
		t.Fatal(err)
	}
	if out["_revision"] != int64(1) || out["vendor_extension"] == nil || out["_create_user"] != openstackUser {
		t.Errorf("after update: %v", out)
	}
	// The old revision is stale now.
	var stale *ErrStaleRevision
	if _, err := w.UpdateNSXPort(ManagerAPI, id, body, "tagger", true); !errors.As(err, &stale) || stale.Current != 1 {
		t.Fatalf("stale revision: %v", err)
	}
	delete(body, "_revision")
	if _, err := w.UpdateNSXPort(ManagerAPI, id, body, "tagger", true); !errors.As(err, &stale) || !stale.Missing {
		t.Fatalf("missing revision: %v", err)
	}
	q, _ := ParseQuery(`resource_type:LogicalPort AND tags.scope:ncp\/cluster AND tags.tag:k8scluster`)
	if got := w.Search(ManagerAPI, q); len(got) != 1 || got[0]["id"] != id {
		t.Errorf("search found %d ports", len(got))
	}
}

func TestListPortsPaging(t *testing.T) {
	w, _ := seeded(t)
	all := w.NSXPortIDs(ManagerAPI)
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, next, total, err := w.ListPorts(ManagerAPI, PortFilter{}, cursor, 2)
		if err != nil || total != len(all) {
			t.Fatalf("page: %v total %d", err, total)
		}
		for _, p := range page {
			seen = append(seen, p["id"].(string))
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != len(all) {
		t.Fatalf("paged %d ports, want %d", len(seen), len(all))
	}
}

func TestVolumeLifecycle(t *testing.T) {
	w, s := seeded(t)
	v, err := w.CreateVolume(Volume{Name: "pvc-1", Size: 1, ProjectID: s.Project.ID})
	if err != nil || v.Status != "creating" {
		t.Fatalf("create: %v %s", err, v.Status)
	}
	status := func(want string) func() bool {
		return func() bool { got, _ := w.Volume(v.ID); return got.Status == want }
	}
	eventually(t, "available", status("available"))
	server := s.Servers["k8scluster-minion-1"]
	if _, err := w.AttachVolume(server.ID, v.ID, ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "in-use", status("in-use"))
	if err := w.DeleteVolume(v.ID); err == nil {
		t.Fatal("deleting an attached volume must fail")
	}
	snap, err := w.CreateSnapshot(Snapshot{VolumeID: v.ID}, true)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "snapshot available", func() bool { s, _ := w.Snapshot(snap.ID); return s.Status == "available" })
	if err := w.ExtendVolume(v.ID, 2, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "extended", func() bool { got, _ := w.Volume(v.ID); return got.Size == 2 && got.Status == "in-use" })
	if err := w.DetachVolume(server.ID, v.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "detached", status("available"))
	restored, err := w.CreateVolume(Volume{Size: 1, SnapshotID: snap.ID})
	if err != nil || restored.SnapshotID != snap.ID {
		t.Fatalf("restore: %v", err)
	}
	if err := w.DeleteVolume(v.ID); err == nil {
		t.Fatal("a volume with snapshots must not be deleted")
	}
}

func TestLoadBalancerImmutableWhilePending(t *testing.T) {
	w, s := seeded(t)
	w.SetTransition(time.Hour) // the test steps the world with Settle
	lb, err := w.CreateLoadBalancer(LoadBalancer{Name: "svc", VipSubnetID: s.Subnets["k8scluster-mgmt"].ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.CreateListener(Listener{LoadBalancerID: lb.ID, Protocol: "TCP", ProtocolPort: 80}); !errors.As(err, new(*ErrConflict)) {
		t.Fatalf("a listener on a PENDING_CREATE load balancer: %v", err)
	}
	w.Settle()
	if l, _ := w.LoadBalancer(lb.ID); l.ProvisioningStatus != StatusActive {
		t.Fatalf("after Settle: %s", l.ProvisioningStatus)
	}
	w.SetTransition(time.Millisecond)
	if _, err := w.CreateListener(Listener{LoadBalancerID: lb.ID, Protocol: "TCP", ProtocolPort: 80}); err != nil {
		t.Fatal(err)
	}
	if l, _ := w.LoadBalancer(lb.ID); l.ProvisioningStatus != StatusPendingUpdate {
		t.Errorf("after a change: %s", l.ProvisioningStatus)
	}
	eventually(t, "active again", func() bool { l, _ := w.LoadBalancer(lb.ID); return l.ProvisioningStatus == StatusActive })
	if err := w.DeleteLoadBalancer(lb.ID, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "gone", func() bool { _, err := w.LoadBalancer(lb.ID); return err != nil })
	if len(w.Listeners(nil)) != 0 || len(w.Ports(func(p *Port) bool { return p.DeviceOwner == "Octavia" })) != 0 {
		t.Error("cascade delete left listeners or the VIP port")
	}
}

func TestAuthentication(t *testing.T) {
	w, s := seeded(t)
	tok, _, pr, err := w.Authenticate(PasswordAuth{UserName: "admin", UserDomainID: "default", Password: "viosim-password"}, time.Hour)
	if err != nil || pr.ID != s.Project.ID {
		t.Fatalf("password auth: %v", err)
	}
	if _, err := w.ValidateToken(tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := w.Authenticate(PasswordAuth{UserName: "admin", UserDomainID: "default", Password: "wrong"}, time.Hour); err != ErrUnauthorized {
		t.Fatalf("bad password: %v", err)
	}
	if _, _, _, err := w.AuthenticateApplicationCredential("viosim-app-cred", "viosim-app-secret", time.Hour); err != nil {
		t.Fatal(err)
	}
	w.ExpireTokens()
	if _, err := w.ValidateToken(tok.ID); err != ErrUnauthorized {
		t.Fatal("an expired token validated")
	}
}

// TestAttachmentsAPILifecycle: Cinder's attachments API moves a volume
// through reserved, attaching and in-use; a multiattach volume takes a
// second instance; deleting a connected attachment detaches through the
// transition table (a lifecycle fault holds it detaching), a reserved one
// at once.
func TestAttachmentsAPILifecycle(t *testing.T) {
	w, s := seeded(t)
	node0, node1 := s.Servers["k8scluster-minion-0"].ID, s.Servers["k8scluster-minion-1"].ID
	v, err := w.CreateVolume(Volume{Size: 1, ProjectID: s.Project.ID, Multiattach: true})
	if err != nil {
		t.Fatal(err)
	}
	status := func(want string) func() bool {
		return func() bool { got, _ := w.Volume(v.ID); return got.Status == want }
	}
	eventually(t, "available", status("available"))
	want := func(what, status string) {
		t.Helper()
		if got, _ := w.Volume(v.ID); got.Status != status {
			t.Fatalf("%s: volume %s, want %s", what, got.Status, status)
		}
	}
	a, err := w.CreateAttachment(v.ID, node0, nil, "")
	if err != nil || a.Status != AttachStatusReserved || a.Mode != "rw" {
		t.Fatalf("create: %+v %v", a, err)
	}
	want("reserved", "reserved")
	if a, err = w.UpdateAttachment(a.AttachmentID, map[string]any{"host": "node-0"}); err != nil || a.Status != AttachStatusAttaching {
		t.Fatalf("update: %+v %v", a, err)
	}
	want("connected", "attaching")
	if a, err = w.CompleteAttachment(a.AttachmentID); err != nil || !a.Attached() || a.AttachedAt.IsZero() {
		t.Fatalf("complete: %+v %v", a, err)
	}
	want("completed", "in-use")
	// Multiattach: a second instance reserves the in-use volume.
	b, err := w.CreateAttachment(v.ID, node1, nil, "ro")
	if err != nil || b.Mode != "ro" {
		t.Fatalf("a second instance: %+v %v", b, err)
	}
	want("second reserved", "reserved")
	left, err := w.DeleteAttachment(b.AttachmentID)
	if err != nil || len(left) != 1 || left[0].AttachmentID != a.AttachmentID {
		t.Fatalf("delete the reservation: %+v %v", left, err)
	}
	want("reservation deleted", "in-use")

	f, err := w.AddLifecycleFault(LifecycleFault{Kind: KindVolume, Object: v.ID, From: "detaching"})
	if err != nil {
		t.Fatal(err)
	}
	if left, err = w.DeleteAttachment(a.AttachmentID); err != nil || len(left) != 0 {
		t.Fatalf("delete: %+v %v", left, err)
	}
	want("deleted", "detaching")
	time.Sleep(20 * time.Millisecond)
	want("held by the fault", "detaching")
	w.RemoveLifecycleFault(f.ID)
	eventually(t, "available", status("available"))
	if _, err := w.DeleteAttachment(a.AttachmentID); !errors.As(err, new(*ErrNotFound)) {
		t.Errorf("a deleted attachment: %v", err)
	}

	single, _ := w.CreateVolume(Volume{Size: 1, ProjectID: s.Project.ID})
	eventually(t, "available", func() bool { got, _ := w.Volume(single.ID); return got.Status == "available" })
	if _, err := w.CreateAttachment(single.ID, node0, map[string]any{"host": "node-0"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CreateAttachment(single.ID, node1, nil, ""); !errors.As(err, new(*ErrBadRequest)) {
		t.Errorf("a second instance on a volume that is not multiattach: %v", err)
	}
}
