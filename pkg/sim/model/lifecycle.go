package model

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Kinds of objects whose status changes on its own after a request, as
// the transition table and lifecycle faults name them.
const (
	KindServer       = "server"
	KindVolume       = "volume"
	KindSnapshot     = "snapshot"
	KindLoadBalancer = "loadbalancer"
)

// Deleted is the to-status of a transition that removes the object.
const Deleted = "DELETED"

// Transition is one row of the transition table: an object of Kind in
// status From moves to status To on its own, Delay after the request that
// put it in From. In DefaultTransitions a Delay of 0 is the world's default
// delay (Options.Transition); SetTransitionDelay gives a row its own, where
// 0 is no delay: the change has happened by the next request (Advance).
type Transition struct {
	Kind  string
	From  string
	To    string
	Delay time.Duration
	// Note says when the outcome differs from To.
	Note string
}

// DefaultTransitions is the table of the simulated cloud's asynchronous
// status changes, as Nova, Cinder and Octavia make them.
func DefaultTransitions() []Transition {
	return []Transition{
		{Kind: KindServer, From: "BUILD", To: "ACTIVE", Note: "servers booted by --boot qemu follow their machine instead"},
		{Kind: KindVolume, From: "creating", To: "available"},
		{Kind: KindVolume, From: "attaching", To: "in-use"},
		{Kind: KindVolume, From: "detaching", To: "available", Note: "in-use while other attachments remain"},
		{Kind: KindVolume, From: "extending", To: "available", Note: "back to in-use when attached"},
		{Kind: KindVolume, From: "deleting", To: Deleted},
		{Kind: KindSnapshot, From: "creating", To: "available"},
		{Kind: KindSnapshot, From: "deleting", To: Deleted},
		{Kind: KindLoadBalancer, From: StatusPendingCreate, To: StatusActive, Note: "with its listeners, pools, members and monitors"},
		{Kind: KindLoadBalancer, From: StatusPendingUpdate, To: StatusActive},
		{Kind: KindLoadBalancer, From: StatusPendingDelete, To: Deleted, Note: "with its children and VIP port"},
	}
}

// LifecycleFault breaks transitions of the table: objects of Kind (only
// Object, when set) in status From do not make their transition. Without
// To they stay in From ("volume X stuck in attaching", "servers stuck in
// BUILD") until the fault is removed, when the held transitions resume;
// with To they go to that status instead ("load balancers go ERROR").
type LifecycleFault struct {
	// ID names the fault; AddLifecycleFault sets it.
	ID     string
	Kind   string
	Object string
	From   string
	To     string
	// Count is how many transitions the fault hits; 0 hits every one.
	Count int
	// Hits counts the transitions it hit.
	Hits int
}

// pendingChange is a transition waiting for its time, or held by a fault.
type pendingChange struct {
	kind, id, from string
	apply          func()
	// timer makes the change at due (the real clock); a change without
	// delay has none and happens at the next Advance (or Settle).
	timer  *time.Timer
	due    time.Time
	heldBy string
}

func (p *pendingChange) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}

// Transitions returns the table with each row's delay in effect.
func (w *World) Transitions() []Transition {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]Transition, len(w.table))
	for i, t := range w.table {
		t.Delay = w.delay(i)
		out[i] = t
	}
	return out
}

// SetTransitionDelay gives one row of the table a delay of its own, e.g. to
// make attaching slow while the rest is fast. A delay of 0 is none: the
// change has happened by the next request, while the answer of the request
// that started it still shows the from-status, as a fast Cinder backend
// answers a create "creating" and shows the volume "available" on the next
// GET.
func (w *World) SetTransitionDelay(kind, from string, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d < 0 {
		return &ErrBadRequest{fmt.Sprintf("delay %s is negative", d)}
	}
	i, err := w.row(kind, from)
	if err != nil {
		return err
	}
	if w.rowDelays == nil {
		w.rowDelays = map[int]time.Duration{}
	}
	w.rowDelays[i] = d
	return nil
}

// ResetTransitionDelay puts a row back on its default delay.
func (w *World) ResetTransitionDelay(kind, from string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	i, err := w.row(kind, from)
	if err != nil {
		return err
	}
	delete(w.rowDelays, i)
	return nil
}

// delay is the delay of row i in effect: its own, else the table's, else
// the world's default. Callers hold the lock.
func (w *World) delay(i int) time.Duration {
	if d, ok := w.rowDelays[i]; ok {
		return d
	}
	if w.table[i].Delay > 0 {
		return w.table[i].Delay
	}
	return w.transition
}

// row finds the table's row of a transition. Callers hold the lock.
func (w *World) row(kind, from string) (int, error) {
	var known []string
	for i, t := range w.table {
		if t.Kind == kind && t.From == from {
			return i, nil
		}
		known = append(known, t.Kind+" "+t.From)
	}
	return 0, &ErrBadRequest{fmt.Sprintf("no transition of a %s from %q; the table has: %s", kind, from, strings.Join(known, ", "))}
}

// AddLifecycleFault adds a fault to the transitions; it must name a row of
// the table.
func (w *World) AddLifecycleFault(f LifecycleFault) (LifecycleFault, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.row(f.Kind, f.From); err != nil {
		return LifecycleFault{}, err
	}
	if f.Count < 0 {
		return LifecycleFault{}, &ErrBadRequest{fmt.Sprintf("count %d is negative", f.Count)}
	}
	f.Hits = 0
	f.ID = fmt.Sprintf("lifecycle-%d", w.nextSeq())
	w.lifecycleFaults = append(w.lifecycleFaults, &f)
	return f, nil
}

// LifecycleFaults lists the faults with their hits.
func (w *World) LifecycleFaults() []LifecycleFault {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]LifecycleFault, len(w.lifecycleFaults))
	for i, f := range w.lifecycleFaults {
		out[i] = *f
	}
	return out
}

// RemoveLifecycleFault removes a fault; the transitions it held resume,
// each after its delay. It reports whether the fault existed.
func (w *World) RemoveLifecycleFault(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	found := false
	for i, f := range w.lifecycleFaults {
		if f.ID == id {
			w.lifecycleFaults = append(w.lifecycleFaults[:i], w.lifecycleFaults[i+1:]...)
			found = true
			break
		}
	}
	if !found {
		return false
	}
	for seq, p := range w.held {
		if p.heldBy == id {
			delete(w.held, seq)
			p.heldBy = ""
			w.schedule(p)
		}
	}
	return true
}

// HeldTransition is a transition a lifecycle fault holds.
type HeldTransition struct {
	Fault  string
	Kind   string
	Object string
	From   string
}

// Held lists the transitions faults hold.
func (w *World) Held() []HeldTransition {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]HeldTransition, 0, len(w.held))
	for _, p := range w.held {
		out = append(out, HeldTransition{Fault: p.heldBy, Kind: p.kind, Object: p.id, From: p.from})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Fault+out[i].Kind+out[i].Object < out[j].Fault+out[j].Kind+out[j].Object
	})
	return out
}

// transit starts the transition of an object that was just put in status
// from: after the row's delay, apply makes the change the table says,
// unless a lifecycle fault holds the object in from or sends it to another
// status. apply runs under the lock and must check that the object is
// still there and in from. Callers hold the lock.
func (w *World) transit(kind, id, from string, apply func()) {
	if _, err := w.row(kind, from); err != nil {
		panic(fmt.Sprintf("viosim: a transition not in the table: %v", err)) // a programming error
	}
	w.schedule(&pendingChange{kind: kind, id: id, from: from, apply: apply})
}

// schedule arms a pending change's timer (none without delay: the change
// is due at once and happens at the next Advance). Callers hold the lock.
func (w *World) schedule(p *pendingChange) {
	if w.closed {
		return
	}
	seq := w.nextSeq()
	w.pending[seq] = p
	delay := w.transition
	if i, err := w.row(p.kind, p.from); err == nil {
		delay = w.delay(i)
	}
	p.due = time.Now().Add(delay)
	if due := p.due.UnixNano(); due < w.nextDue.Load() {
		w.nextDue.Store(due)
	}
	if delay == 0 {
		return
	}
	p.timer = time.AfterFunc(delay, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if _, ok := w.pending[seq]; ok && !w.closed {
			delete(w.pending, seq)
			w.fire(seq, p)
		}
	})
}

// Advance makes every transition whose time has come happen now, in the
// order they were asked for, instead of whenever its timer's goroutine gets
// to run. viosim's servers call it before they serve a request, so that no
// request sees an object in a status it was due to have left when the
// request came: a row without delay has happened by the next request.
// (A timer alone does not promise that: a client's next request over a
// kept-alive loopback connection comes within a fraction of a millisecond,
// before a timer of a millisecond expires, and may be served before an
// expired timer's goroutine has run.)
func (w *World) Advance() {
	if time.Now().UnixNano() < w.nextDue.Load() {
		return // nothing due: no lock taken
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		now := time.Now()
		var due []int64
		next := int64(math.MaxInt64)
		for seq, p := range w.pending {
			if !p.due.After(now) {
				due = append(due, seq)
			} else if n := p.due.UnixNano(); n < next {
				next = n
			}
		}
		if len(due) == 0 {
			w.nextDue.Store(next)
			return
		}
		sort.Slice(due, func(i, j int) bool { return due[i] < due[j] })
		for _, seq := range due {
			p, ok := w.pending[seq]
			if !ok {
				continue
			}
			delete(w.pending, seq)
			p.stop()
			w.fire(seq, p)
		}
	}
}

// fire makes a due transition happen, as the faults allow. Callers hold
// the lock.
func (w *World) fire(seq int64, p *pendingChange) {
	for _, f := range w.lifecycleFaults {
		if f.Kind != p.kind || f.From != p.from || (f.Object != "" && f.Object != p.id) || (f.Count > 0 && f.Hits >= f.Count) {
			continue
		}
		if !w.inStatus(p.kind, p.id, p.from) {
			return // gone or changed meanwhile: nothing to break
		}
		f.Hits++
		if f.To == "" {
			p.heldBy = f.ID
			w.held[seq] = p
			return
		}
		w.setStatus(p.kind, p.id, f.To, fmt.Sprintf("viosim lifecycle fault %s: %s %s went %s instead of leaving %s", f.ID, p.kind, p.id, f.To, p.from))
		return
	}
	p.apply()
}

// inStatus reports whether an object exists in a status. Callers hold the
// lock.
func (w *World) inStatus(kind, id, status string) bool {
	switch kind {
	case KindServer:
		s, ok := w.servers.get(id)
		return ok && s.Status == status
	case KindVolume:
		v, ok := w.volumes.get(id)
		return ok && v.Status == status
	case KindSnapshot:
		s, ok := w.snapshots.get(id)
		return ok && s.Status == status
	case KindLoadBalancer:
		lb, ok := w.loadBalancers.get(id)
		return ok && lb.ProvisioningStatus == status
	}
	return false
}

// setStatus puts an object in a status a fault chose. Callers hold the
// lock.
func (w *World) setStatus(kind, id, status, reason string) {
	now := w.now().UTC()
	switch kind {
	case KindServer:
		if s, ok := w.servers.get(id); ok {
			s.Status, s.UpdatedAt = status, now
			if status == "ERROR" {
				s.Fault = reason
			}
		}
	case KindVolume:
		if v, ok := w.volumes.get(id); ok {
			v.Status, v.UpdatedAt = status, now
		}
	case KindSnapshot:
		if s, ok := w.snapshots.get(id); ok {
			s.Status, s.UpdatedAt = status, now
		}
	case KindLoadBalancer:
		lb, ok := w.loadBalancers.get(id)
		if !ok {
			return
		}
		operating := lb.OperatingStatus
		if status == "ERROR" {
			operating = "ERROR"
		}
		lb.ProvisioningStatus, lb.OperatingStatus, lb.UpdatedAt = status, operating, now
		w.eachChild(id, func(prov, op *string) {
			if strings.HasPrefix(*prov, "PENDING_") {
				*prov, *op = status, operating
			}
		})
	}
	w.changed(kind, id)
}

// Settle makes every pending transition happen now, in the order they were
// asked for (faults still apply: held ones stay held): volumes become
// available, load balancers ACTIVE. Tests use it with a long transition
// delay to step the world deterministically.
func (w *World) Settle() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.pending) > 0 {
		seqs := make([]int64, 0, len(w.pending))
		for seq := range w.pending {
			seqs = append(seqs, seq)
		}
		sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
		for _, seq := range seqs {
			p := w.pending[seq]
			delete(w.pending, seq)
			p.stop()
			w.fire(seq, p)
		}
	}
}
