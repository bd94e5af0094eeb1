package model

import (
	"testing"
	"time"
)

// stepped is a seeded world whose transitions happen only on Settle.
func stepped(t *testing.T) (*World, *Seeded) {
	t.Helper()
	w, s := seeded(t)
	w.Settle()
	w.SetTransition(time.Hour)
	return w, s
}

// status reads an object's status, "DELETED" when it is gone.
func status(w *World, kind, id string) string {
	var st string
	var err error
	switch kind {
	case KindServer:
		var s Server
		s, err = w.Server(id)
		st = s.Status
	case KindVolume:
		var v Volume
		v, err = w.Volume(id)
		st = v.Status
	case KindSnapshot:
		var s Snapshot
		s, err = w.Snapshot(id)
		st = s.Status
	case KindLoadBalancer:
		var lb LoadBalancer
		lb, err = w.LoadBalancer(id)
		st = lb.ProvisioningStatus
	}
	if err != nil {
		return Deleted
	}
	return st
}

// must returns v, or panics (failing the test) on an error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestTransitionTable puts an object in the from-status of every row of
// the table and checks that Settle takes it to the row's to-status.
func TestTransitionTable(t *testing.T) {
	// into puts a fresh object in a row's from-status and returns its id.
	into := map[string]func(t *testing.T, w *World, s *Seeded) string{
		"server BUILD": func(t *testing.T, w *World, s *Seeded) string {
			return must(w.CreateServer(Server{Name: "new", Status: "BUILD", ProjectID: s.Project.ID}, nil)).ID
		},
		"volume creating": func(t *testing.T, w *World, s *Seeded) string {
			return must(w.CreateVolume(Volume{Size: 1, ProjectID: s.Project.ID})).ID
		},
		"volume attaching": func(t *testing.T, w *World, s *Seeded) string {
			v := must(w.CreateVolume(Volume{Size: 1, ProjectID: s.Project.ID}))
			w.Settle()
			must(w.AttachVolume(s.Servers["k8scluster-minion-0"].ID, v.ID, ""))
			return v.ID
		},
		"volume detaching": func(t *testing.T, w *World, s *Seeded) string {
			v := must(w.CreateVolume(Volume{Size: 1, ProjectID: s.Project.ID}))
			w.Settle()
			must(w.AttachVolume(s.Servers["k8scluster-minion-0"].ID, v.ID, ""))
			w.Settle()
			if err := w.DetachVolume(s.Servers["k8scluster-minion-0"].ID, v.ID); err != nil {
				t.Fatal(err)
			}
			return v.ID
		},
		"volume extending": func(t *testing.T, w *World, s *Seeded) string {
			v := must(w.CreateVolume(Volume{Size: 1, ProjectID: s.Project.ID}))
			w.Settle()
			if err := w.ExtendVolume(v.ID, 2, false); err != nil {
				t.Fatal(err)
			}
			return v.ID
		},
		"volume deleting": func(t *testing.T, w *World, s *Seeded) string {
			v := must(w.CreateVolume(Volume{Size: 1, ProjectID: s.Project.ID}))
			w.Settle()
			if err := w.DeleteVolume(v.ID); err != nil {
				t.Fatal(err)
			}
			return v.ID
		},
		"snapshot creating": func(t *testing.T, w *World, s *Seeded) string {
			v := must(w.CreateVolume(Volume{Size: 1, ProjectID: s.Project.ID}))
			w.Settle()
			return must(w.CreateSnapshot(Snapshot{VolumeID: v.ID}, false)).ID
		},
		"snapshot deleting": func(t *testing.T, w *World, s *Seeded) string {
			v := must(w.CreateVolume(Volume{Size: 1, ProjectID: s.Project.ID}))
			w.Settle()
			sn := must(w.CreateSnapshot(Snapshot{VolumeID: v.ID}, false))
			w.Settle()
			if err := w.DeleteSnapshot(sn.ID); err != nil {
				t.Fatal(err)
			}
			return sn.ID
		},
		"loadbalancer PENDING_CREATE": func(t *testing.T, w *World, s *Seeded) string {
			return must(w.CreateLoadBalancer(LoadBalancer{VipSubnetID: s.Subnets["k8scluster-mgmt"].ID, ProjectID: s.Project.ID})).ID
		},
		"loadbalancer PENDING_UPDATE": func(t *testing.T, w *World, s *Seeded) string {
			lb := must(w.CreateLoadBalancer(LoadBalancer{VipSubnetID: s.Subnets["k8scluster-mgmt"].ID, ProjectID: s.Project.ID}))
			w.Settle()
			must(w.UpdateLoadBalancer(lb.ID, func(lb *LoadBalancer) { lb.Name = "renamed" }))
			return lb.ID
		},
		"loadbalancer PENDING_DELETE": func(t *testing.T, w *World, s *Seeded) string {
			lb := must(w.CreateLoadBalancer(LoadBalancer{VipSubnetID: s.Subnets["k8scluster-mgmt"].ID, ProjectID: s.Project.ID}))
			w.Settle()
			if err := w.DeleteLoadBalancer(lb.ID, true); err != nil {
				t.Fatal(err)
			}
			return lb.ID
		},
	}
	table := DefaultTransitions()
	if len(table) != len(into) {
		t.Errorf("the table has %d rows, the test covers %d", len(table), len(into))
	}
	for _, row := range table {
		name := row.Kind + " " + row.From
		t.Run(name, func(t *testing.T) {
			setup, ok := into[name]
			if !ok {
				t.Fatalf("no test of the row %s -> %s", name, row.To)
			}
			w, s := stepped(t)
			id := setup(t, w, s)
			if got := status(w, row.Kind, id); got != row.From {
				t.Fatalf("before the transition: %s, want %s", got, row.From)
			}
			w.Settle()
			if got := status(w, row.Kind, id); got != row.To {
				t.Errorf("after the transition: %s, want %s", got, row.To)
			}
		})
	}
}

// TestLifecycleFaults breaks transitions with data: one volume stuck in
// attaching (another attaches), every server stuck in BUILD until the
// fault goes, a load balancer going ERROR instead of ACTIVE, a fault that
// hits once.
func TestLifecycleFaults(t *testing.T) {
	w, s := stepped(t)
	node := s.Servers["k8scluster-minion-0"].ID
	newVolume := func() string {
		v := must(w.CreateVolume(Volume{Size: 1, ProjectID: s.Project.ID}))
		w.Settle()
		return v.ID
	}
	stuck, other := newVolume(), newVolume()
	f := must(w.AddLifecycleFault(LifecycleFault{Kind: KindVolume, Object: stuck, From: "attaching"}))
	must(w.AttachVolume(node, stuck, ""))
	must(w.AttachVolume(node, other, ""))
	w.Settle()
	if got := status(w, KindVolume, stuck); got != "attaching" {
		t.Errorf("the faulted volume is %s, want stuck in attaching", got)
	}
	if got := status(w, KindVolume, other); got != "in-use" {
		t.Errorf("another volume is %s, want in-use", got)
	}
	if held := w.Held(); len(held) != 1 || held[0].Object != stuck || held[0].Fault != f.ID {
		t.Errorf("held %v", held)
	}
	if !w.RemoveLifecycleFault(f.ID) {
		t.Fatal("the fault was not there")
	}
	w.Settle()
	if got := status(w, KindVolume, stuck); got != "in-use" {
		t.Errorf("after the fault went the volume is %s, want in-use", got)
	}

	// Every server stuck in BUILD.
	build := must(w.AddLifecycleFault(LifecycleFault{Kind: KindServer, From: "BUILD"}))
	a := must(w.CreateServer(Server{Name: "a", Status: "BUILD", ProjectID: s.Project.ID}, nil))
	b := must(w.CreateServer(Server{Name: "b", Status: "BUILD", ProjectID: s.Project.ID}, nil))
	w.Settle()
	for _, id := range []string{a.ID, b.ID} {
		if got := status(w, KindServer, id); got != "BUILD" {
			t.Errorf("server %s, want stuck in BUILD", got)
		}
	}
	w.RemoveLifecycleFault(build.ID)
	w.Settle()
	if got := status(w, KindServer, a.ID); got != "ACTIVE" {
		t.Errorf("server after the fault: %s", got)
	}

	// A load balancer goes ERROR, with its children; the next, past the
	// fault's count, goes ACTIVE.
	must(w.AddLifecycleFault(LifecycleFault{Kind: KindLoadBalancer, From: StatusPendingCreate, To: "ERROR", Count: 1}))
	subnet := s.Subnets["k8scluster-mgmt"].ID
	broken := must(w.CreateLoadBalancer(LoadBalancer{VipSubnetID: subnet, ProjectID: s.Project.ID}))
	if err := w.PopulateLoadBalancer(broken.ID, func(tx *LBTx) error {
		tx.AddListener(Listener{Protocol: "TCP", ProtocolPort: 80})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	lb := must(w.LoadBalancer(broken.ID))
	if lb.ProvisioningStatus != "ERROR" || lb.OperatingStatus != "ERROR" {
		t.Errorf("load balancer %s/%s, want ERROR/ERROR", lb.ProvisioningStatus, lb.OperatingStatus)
	}
	if ls := w.Listeners(func(l *Listener) bool { return l.LoadBalancerID == broken.ID }); len(ls) != 1 || ls[0].ProvisioningStatus != "ERROR" {
		t.Errorf("listeners %+v", ls)
	}
	fine := must(w.CreateLoadBalancer(LoadBalancer{VipSubnetID: subnet, ProjectID: s.Project.ID}))
	w.Settle()
	if got := status(w, KindLoadBalancer, fine.ID); got != StatusActive {
		t.Errorf("the load balancer past the fault's count: %s", got)
	}
	if faults := w.LifecycleFaults(); len(faults) != 1 || faults[0].Hits != 1 {
		t.Errorf("faults %+v", faults)
	}
	// An ERROR load balancer can be deleted.
	if err := w.DeleteLoadBalancer(broken.ID, true); err != nil {
		t.Errorf("deleting an ERROR load balancer: %v", err)
	}
	w.Settle()
	if got := status(w, KindLoadBalancer, broken.ID); got != Deleted {
		t.Errorf("after delete: %s", got)
	}

	for _, bad := range []LifecycleFault{{Kind: KindVolume, From: "available"}, {Kind: "router", From: "BUILD"}, {Kind: KindServer, From: "BUILD", Count: -1}} {
		if _, err := w.AddLifecycleFault(bad); err == nil {
			t.Errorf("fault %+v accepted", bad)
		}
	}
}

// TestTransitionDelays: a row's own delay outlasts the default.
func TestTransitionDelays(t *testing.T) {
	w, s := seeded(t)
	w.SetTransition(time.Millisecond)
	if err := w.SetTransitionDelay(KindVolume, "creating", time.Hour); err != nil {
		t.Fatal(err)
	}
	slow := must(w.CreateVolume(Volume{Size: 1, ProjectID: s.Project.ID}))
	fast := must(w.CreateServer(Server{Name: "fast", Status: "BUILD", ProjectID: s.Project.ID}, nil))
	eventually(t, "the server ACTIVE", func() bool { return status(w, KindServer, fast.ID) == "ACTIVE" })
	if got := status(w, KindVolume, slow.ID); got != "creating" {
		t.Errorf("the volume with an hour's delay is %s", got)
	}
	for _, row := range w.Transitions() {
		want := time.Millisecond
		if row.Kind == KindVolume && row.From == "creating" {
			want = time.Hour
		}
		if row.Delay != want {
			t.Errorf("%s %s: delay %s, want %s", row.Kind, row.From, row.Delay, want)
		}
	}
	if err := w.SetTransitionDelay(KindVolume, "in-use", time.Second); err == nil {
		t.Error("a delay for a row that is not in the table was accepted")
	}
}

// TestTransitionWithoutDelay: a row with no delay has made its change by
// the next Advance (the next request), not before: the create's answer
// says creating; and rows on the default delay wait for it.
func TestTransitionWithoutDelay(t *testing.T) {
	w, s := stepped(t) // default delay: an hour
	for _, from := range []string{"creating", "deleting"} {
		if err := w.SetTransitionDelay(KindVolume, from, 0); err != nil {
			t.Fatal(err)
		}
	}
	v := must(w.CreateVolume(Volume{Size: 1, ProjectID: s.Project.ID}))
	if v.Status != "creating" {
		t.Errorf("the create answers %s, want creating", v.Status)
	}
	if got := status(w, KindVolume, v.ID); got != "creating" {
		t.Errorf("before the next request the volume is %s, want creating", got)
	}
	w.Advance()
	if got := status(w, KindVolume, v.ID); got != "available" {
		t.Errorf("after Advance the volume is %s, want available", got)
	}
	must(w.CreateSnapshot(Snapshot{VolumeID: v.ID}, false)) // an hour's delay
	w.Advance()
	snaps := w.Snapshots(nil)
	if len(snaps) != 1 || snaps[0].Status != "creating" {
		t.Fatalf("a snapshot on the default delay after Advance: %+v", snaps)
	}
	w.Settle()
	must(0, w.DeleteSnapshot(snaps[0].ID))
	w.Settle()
	must(0, w.DeleteVolume(v.ID))
	w.Advance()
	if got := status(w, KindVolume, v.ID); got != Deleted {
		t.Errorf("after Advance the deleted volume is %s", got)
	}

	for _, row := range w.Transitions() {
		if row.Kind == KindVolume && row.From == "creating" && row.Delay != 0 {
			t.Errorf("volume creating: delay %s, want 0", row.Delay)
		}
	}
	if err := w.ResetTransitionDelay(KindVolume, "creating"); err != nil {
		t.Fatal(err)
	}
	v = must(w.CreateVolume(Volume{Size: 1, ProjectID: s.Project.ID}))
	w.Advance()
	if got := status(w, KindVolume, v.ID); got != "creating" {
		t.Errorf("back on the default delay, after Advance the volume is %s", got)
	}
	if err := w.ResetTransitionDelay(KindVolume, "in-use"); err == nil {
		t.Error("resetting a row that is not in the table was accepted")
	}
}
