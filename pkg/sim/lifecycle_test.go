package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	csiopenstack "k8s.io/cloud-provider-openstack/pkg/csi/cinder/openstack"
	openstackutil "k8s.io/cloud-provider-openstack/pkg/util/openstack"

	"github.com/epks/epks/pkg/sim"
)

// control sends a request to viosim's control API and decodes the answer.
func control(t *testing.T, s *sim.Server, method, path string, body, out any) int {
	t.Helper()
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, s.URL(sim.Control)+path, bytes.NewReader(data))
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// TestStuckAttachingSeenByCinderCSI makes one volume stuck in attaching
// through the control API: the cinder CSI plugin's controller code sees the
// volume attaching and not attached, its retried publish fails, and once
// the fault is removed the attach completes and the plugin sees it.
func TestStuckAttachingSeenByCinderCSI(t *testing.T) {
	s := start(t, sim.Options{})
	confPath, _ := cloudConf(t, s, sim.ParamsOptions{})
	csiopenstack.InitOpenStackProvider([]string{confPath}, "")
	cloud, err := csiopenstack.CreateOpenStackProvider("")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	node := s.Seeded.Servers["k8scluster-minion-0"].ID
	stuck, err := cloud.CreateVolume(ctx, &volumes.CreateOpts{Name: "pvc-stuck", Size: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := cloud.CreateVolume(ctx, &volumes.CreateOpts{Name: "pvc-fine", Size: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{stuck.ID, other.ID} {
		if err := cloud.WaitVolumeTargetStatus(ctx, id, []string{"available"}); err != nil {
			t.Fatal(err)
		}
	}

	var f sim.LifecycleFaultInfo
	if code := control(t, s, http.MethodPost, "/transitions/faults", map[string]any{"kind": "volume", "object": stuck.ID, "from": "attaching"}, &f); code != http.StatusCreated {
		t.Fatalf("adding the fault: %d", code)
	}
	for _, id := range []string{stuck.ID, other.ID} {
		if _, err := cloud.AttachVolume(ctx, node, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := cloud.WaitDiskAttached(ctx, node, other.ID); err != nil {
		t.Fatalf("the volume without a fault: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // well past the transition delay
	got, err := cloud.GetVolume(ctx, stuck.ID)
	if err != nil || got.Status != "attaching" || len(got.Attachments) != 0 {
		t.Fatalf("the stuck volume: %+v %v", got, err)
	}
	// The CSI controller retries ControllerPublish: Cinder shows no
	// attachment yet, so it asks Nova again, which refuses.
	if _, err := cloud.AttachVolume(ctx, node, stuck.ID); err == nil {
		t.Error("a second attach of a volume stuck in attaching succeeded")
	}
	var faults []sim.LifecycleFaultInfo
	control(t, s, http.MethodGet, "/transitions/faults", nil, &faults)
	if len(faults) != 1 || faults[0].Hits != 1 || len(faults[0].Held) != 1 || faults[0].Held[0] != stuck.ID {
		t.Errorf("faults %+v", faults)
	}

	if code := control(t, s, http.MethodDelete, "/transitions/faults/"+f.ID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("removing the fault: %d", code)
	}
	if err := cloud.WaitDiskAttached(ctx, node, stuck.ID); err != nil {
		t.Fatalf("after the fault was removed: %v", err)
	}
}

// TestLoadBalancerErrorSeenByOCCM makes load balancers go ERROR instead of
// ACTIVE through the control API: the OCCM's wait for an ACTIVE load
// balancer fails at once with Octavia's ERROR.
func TestLoadBalancerErrorSeenByOCCM(t *testing.T) {
	s := start(t, sim.Options{})
	if code := control(t, s, http.MethodPost, "/transitions/faults", map[string]any{"kind": "loadbalancer", "from": "PENDING_CREATE", "to": "ERROR"}, nil); code != http.StatusCreated {
		t.Fatalf("adding the fault: %d", code)
	}
	provider := occmProvider(t, s)
	lbaas, _ := provider.LoadBalancer()
	ctx := context.Background()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "5678"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: 30080}}},
	}
	var nodes []*corev1.Node
	for _, name := range []string{"k8scluster-minion-0", "k8scluster-minion-1"} {
		srv := s.Seeded.Servers[name]
		var addr string
		for _, a := range s.World.ServerAddresses(srv.ID) {
			if a.Network == "k8scluster-mgmt" {
				addr = a.Addr
			}
		}
		nodes = append(nodes, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{ProviderID: "openstack:///" + srv.ID},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: addr}}}})
	}
	start := time.Now()
	err := func() (err error) {
		// Past an ACTIVE load balancer the OCCM goes on to the Service
		// through a Kubernetes client it has not here, and panics: a
		// failure of this test, not of the run.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("the OCCM went past the load balancer (it was not ERROR): %v", r)
			}
		}()
		_, err = lbaas.EnsureLoadBalancer(ctx, "k8scluster", svc, nodes)
		return err
	}()
	if err == nil || !strings.Contains(err.Error(), "ERROR") {
		t.Fatalf("the OCCM's EnsureLoadBalancer with Octavia going ERROR: %v", err)
	}
	t.Logf("the OCCM failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
	// The OCCM deletes a load balancer that went ERROR, to retry.
	if lbs := s.Snapshot().LoadBalancers; len(lbs) != 0 {
		t.Errorf("load balancers left: %+v", lbs)
	}
	var faults []sim.LifecycleFaultInfo
	control(t, s, http.MethodGet, "/transitions/faults", nil, &faults)
	if len(faults) != 1 || faults[0].Hits != 1 {
		t.Errorf("faults %+v", faults)
	}
	// The OCCM's wait reads ERROR as Octavia shows it.
	pc, _ := s.Provider(ctx, "")
	lbc, _ := openstack.NewLoadBalancerV2(pc, eo)
	lb, err := loadbalancers.Create(ctx, lbc, loadbalancers.CreateOpts{Name: "direct", VipSubnetID: s.Seeded.Subnets["k8scluster-mgmt"].ID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openstackutil.WaitActiveAndGetLoadBalancer(ctx, lbc, lb.ID); err == nil || !strings.Contains(err.Error(), "ERROR") {
		t.Errorf("WaitActiveAndGetLoadBalancer: %v", err)
	}
	if got, err := loadbalancers.Get(ctx, lbc, lb.ID).Extract(); err != nil || got.ProvisioningStatus != "ERROR" || got.OperatingStatus != "ERROR" {
		t.Errorf("load balancer %+v %v", got, err)
	}
}

// TestServerStuckInBuild keeps new servers in BUILD through the control
// API until the fault goes; seeded servers are untouched.
func TestServerStuckInBuild(t *testing.T) {
	s := start(t, sim.Options{})
	var f sim.LifecycleFaultInfo
	control(t, s, http.MethodPost, "/transitions/faults", map[string]any{"kind": "server", "from": "BUILD"}, &f)
	ctx := context.Background()
	pc := provider(t, s, gophercloud.AuthOptions{})
	compute, _ := openstack.NewComputeV2(pc, eo)
	image := s.World.Images(nil)[0].ID
	flavor := s.World.Flavors()[0].ID
	srv, err := servers.Create(ctx, compute, servers.CreateOpts{Name: "stuck", ImageRef: image, FlavorRef: flavor, Networks: "none"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = servers.WaitForStatus(waitCtx, compute, srv.ID, "ACTIVE")
	cancel()
	if err == nil {
		t.Fatal("a server stuck in BUILD became ACTIVE")
	}
	if got, _ := servers.Get(ctx, compute, srv.ID).Extract(); got == nil || got.Status != "BUILD" {
		t.Fatalf("server %+v", got)
	}
	control(t, s, http.MethodDelete, "/transitions/faults/"+f.ID, nil, nil)
	waitCtx, cancel = context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := servers.WaitForStatus(waitCtx, compute, srv.ID, "ACTIVE"); err != nil {
		t.Fatalf("after the fault went: %v", err)
	}
}

// TestTransitionTableThroughControlAPI reads the table and slows one row.
func TestTransitionTableThroughControlAPI(t *testing.T) {
	s := start(t, sim.Options{})
	var table []sim.TransitionInfo
	control(t, s, http.MethodGet, "/transitions", nil, &table)
	rows := map[string]string{}
	for _, r := range table {
		rows[r.Kind+" "+r.From] = r.To
	}
	for row, to := range map[string]string{"server BUILD": "ACTIVE", "volume attaching": "in-use", "loadbalancer PENDING_CREATE": "ACTIVE"} {
		if rows[row] != to {
			t.Errorf("%s -> %q, want %s", row, rows[row], to)
		}
	}
	if code := control(t, s, http.MethodPut, "/transitions", map[string]any{"kind": "volume", "from": "creating", "delay": "1h"}, nil); code != http.StatusNoContent {
		t.Fatalf("setting a delay: %d", code)
	}
	v, err := s.World.CreateVolume(modelVolume(s))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if got, _ := s.World.Volume(v.ID); got.Status != "creating" {
		t.Errorf("with an hour's delay the volume is %s", got.Status)
	}
	var bad map[string]any
	if code := control(t, s, http.MethodPost, "/transitions/faults", map[string]any{"kind": "volume", "from": "in-use"}, &bad); code != http.StatusBadRequest || !strings.Contains(bad["error"].(string), "volume attaching") {
		t.Errorf("a fault of no row: %d %v", code, bad)
	}
}

// TestFastCinderBackend sets Cinder's rows to no delay through the control
// API, as a fast backend: each write answers the from-status (creating,
// extending, deleting) as Cinder does, and by the next request the change
// has happened, whatever the timers do (the default delay is an hour).
func TestFastCinderBackend(t *testing.T) {
	s := start(t, sim.Options{Transition: time.Hour})
	for _, row := range [][2]string{{"volume", "creating"}, {"volume", "extending"}, {"volume", "deleting"}, {"snapshot", "creating"}, {"snapshot", "deleting"}} {
		if code := control(t, s, http.MethodPut, "/transitions", map[string]any{"kind": row[0], "from": row[1], "delay": "0s"}, nil); code != http.StatusNoContent {
			t.Fatalf("%s %s without delay: %d", row[0], row[1], code)
		}
	}
	ctx := context.Background()
	pc, err := s.Provider(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	bs, err := openstack.NewBlockStorageV3(pc, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := volumes.Create(ctx, bs, volumes.CreateOpts{Size: 1, Name: "fast"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "creating" {
		t.Errorf("the create answers %s, want creating", v.Status)
	}
	if got, _ := s.World.Volume(v.ID); got.Status != "creating" {
		t.Errorf("before any other request the volume is %s (the change is made by the next request)", got.Status)
	}
	if got, err := volumes.Get(ctx, bs, v.ID).Extract(); err != nil || got.Status != "available" {
		t.Fatalf("the next GET: %+v, %v; want available", got, err)
	}
	// Snapshot and extend at once, as cinder-csi does after its create.
	snap, err := snapshots.Create(ctx, bs, snapshots.CreateOpts{VolumeID: v.ID, Name: "fast"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if snap.Status != "creating" {
		t.Errorf("the snapshot's create answers %s", snap.Status)
	}
	if err := snapshots.Delete(ctx, bs, snap.ID).ExtractErr(); err != nil {
		t.Fatalf("deleting the snapshot at once: %v", err)
	}
	if err := volumes.ExtendSize(ctx, bs, v.ID, volumes.ExtendSizeOpts{NewSize: 2}).ExtractErr(); err != nil {
		t.Fatalf("extending at once: %v", err)
	}
	if got, err := volumes.Get(ctx, bs, v.ID).Extract(); err != nil || got.Status != "available" || got.Size != 2 {
		t.Fatalf("after the extend: %+v, %v; want available, 2 GiB", got, err)
	}
	if err := volumes.Delete(ctx, bs, v.ID, nil).ExtractErr(); err != nil {
		t.Fatalf("deleting at once: %v", err)
	}
	if _, err := volumes.Get(ctx, bs, v.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("the GET after the delete: %v, want 404", err)
	}

	// Rows on the default delay wait for it; a row without a delay given
	// goes back to the default.
	var table []sim.TransitionInfo
	control(t, s, http.MethodGet, "/transitions", nil, &table)
	for _, r := range table {
		want := time.Hour
		if (r.Kind == "volume" && r.From != "attaching" && r.From != "detaching") || r.Kind == "snapshot" {
			want = 0
		}
		if time.Duration(r.Delay) != want {
			t.Errorf("%s %s: delay %s, want %s", r.Kind, r.From, time.Duration(r.Delay), want)
		}
	}
	if code := control(t, s, http.MethodPut, "/transitions", map[string]any{"kind": "volume", "from": "creating"}, nil); code != http.StatusNoContent {
		t.Fatalf("back to the default delay: %d", code)
	}
	v, err = volumes.Create(ctx, bs, volumes.CreateOpts{Size: 1}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := volumes.Get(ctx, bs, v.ID).Extract(); err != nil || got.Status != "creating" {
		t.Errorf("on the default delay (an hour) the next GET: %+v, %v; want creating", got, err)
	}
}
