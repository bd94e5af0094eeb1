// Package model is viosim's world: one registry of every object the
// simulated VIO cloud and NSX-T Manager hold, shared by all their APIs, so
// that effects across services are single writes (a server creates its
// Neutron ports, each Neutron port its NSX logical port), as govmomi's
// simulator keeps one registry for vSphere.
//
// Every method locks the world; objects returned are copies, safe to read
// without the lock.
package model

import (
	"crypto/rand"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// World is the state of the simulated cloud.
type World struct {
	mu sync.RWMutex

	// Region is the Keystone region of every endpoint.
	Region string
	// Transition is how long asynchronous status changes take (a volume
	// from creating to available, a load balancer to ACTIVE).
	transition time.Duration

	seq int64
	now func() time.Time

	projects      store[Project]
	users         store[User]
	appCreds      store[ApplicationCredential]
	tokens        map[string]*Token
	flavors       store[Flavor]
	networks      store[Network]
	subnets       store[Subnet]
	ports         store[Port]
	floatingIPs   store[FloatingIP]
	routers       store[Router]
	secGroups     store[SecurityGroup]
	secGroupRules store[SecurityGroupRule]
	servers       store[Server]
	images        store[Image]
	keyPairs      store[KeyPair] // by user id + "/" + name
	serverGroups  store[ServerGroup]
	volumes       store[Volume]
	snapshots     store[Snapshot]
	loadBalancers store[LoadBalancer]
	listeners     store[Listener]
	pools         store[Pool]
	members       store[Member]
	monitors      store[HealthMonitor]
	switches      store[LogicalSwitch]
	nsxPorts      store[LogicalPort]
	segmentPorts  store[LogicalPort]

	// Indexes for the lookups clients make at scale.
	portsByDevice   map[string][]string // server id -> port ids
	nsxPortByAttach map[string]string   // attachment (Neutron port) id -> NSX port id
	switchByNetwork map[string]string   // Neutron network id -> logical switch id
	allocatedIPs    map[string]map[string]bool
	nextHostIndex   map[string]int
	defaultPools    map[string]bool           // subnet id -> pools are Neutron's default
	defaultSGs      map[string]string         // project id -> its "default" security group
	quotas          map[string]map[string]int // project id -> resource -> limit (-1 none)
	closed          bool
	changeListeners []func(kind, id string)

	// The transition table, the rows' own delays, the transitions waiting
	// for their time (and the earliest time one is due, UnixNano, read
	// without the lock by Advance), those lifecycle faults hold, and the
	// faults.
	table           []Transition
	rowDelays       map[int]time.Duration
	pending         map[int64]*pendingChange
	nextDue         atomic.Int64
	held            map[int64]*pendingChange
	lifecycleFaults []*LifecycleFault
}

// Options configure a new World.
type Options struct {
	// Region [RegionOne].
	Region string
	// Transition is the delay of asynchronous status changes [100ms].
	Transition time.Duration
	// Now is the clock [time.Now].
	Now func() time.Time
}

// New returns an empty world.
func New(opts Options) *World {
	if opts.Region == "" {
		opts.Region = "RegionOne"
	}
	if opts.Transition == 0 {
		opts.Transition = 100 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &World{
		Region:          opts.Region,
		transition:      opts.Transition,
		now:             opts.Now,
		tokens:          map[string]*Token{},
		portsByDevice:   map[string][]string{},
		nsxPortByAttach: map[string]string{},
		switchByNetwork: map[string]string{},
		allocatedIPs:    map[string]map[string]bool{},
		nextHostIndex:   map[string]int{},
		defaultPools:    map[string]bool{},
		defaultSGs:      map[string]string{},
		quotas:          map[string]map[string]int{},
		table:           DefaultTransitions(),
		pending:         map[int64]*pendingChange{},
		held:            map[int64]*pendingChange{},
	}
	w.nextDue.Store(math.MaxInt64)
	return w
}

// Now is the world's clock.
func (w *World) Now() time.Time { return w.now() }

// SetTransition changes the default delay of asynchronous status changes
// (the rows of the transition table without a delay of their own), e.g. to
// simulate a slow cloud.
func (w *World) SetTransition(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.transition = d
}

// Transition is the delay of asynchronous status changes.
func (w *World) Transition() time.Duration {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.transition
}

// Close stops asynchronous changes: those still pending never happen.
func (w *World) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for seq, p := range w.pending {
		p.stop()
		delete(w.pending, seq)
	}
}

// NewID returns a random UUID (version 4), as OpenStack and NSX make them.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// NewHexID returns 32 hex characters, the form of Keystone project and user IDs.
func NewHexID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return fmt.Sprintf("%x", b)
}

// ErrNotFound is returned for a missing object.
type ErrNotFound struct{ Kind, ID string }

func (e *ErrNotFound) Error() string { return fmt.Sprintf("%s %s could not be found", e.Kind, e.ID) }

// ErrConflict is returned when an object is in a state that forbids the
// change, e.g. deleting an attached volume.
type ErrConflict struct{ Message string }

func (e *ErrConflict) Error() string { return e.Message }

// ErrBadRequest is returned for a request that cannot be right.
type ErrBadRequest struct{ Message string }

func (e *ErrBadRequest) Error() string { return e.Message }

// store keeps objects by id with their creation order.
type store[T any] struct {
	items map[string]*T
	order map[string]int64
}

func (s *store[T]) put(id string, seq int64, v *T) {
	if s.items == nil {
		s.items, s.order = map[string]*T{}, map[string]int64{}
	}
	if _, ok := s.items[id]; !ok {
		s.order[id] = seq
	}
	s.items[id] = v
}

func (s *store[T]) get(id string) (*T, bool) {
	v, ok := s.items[id]
	return v, ok
}

func (s *store[T]) del(id string) {
	delete(s.items, id)
	delete(s.order, id)
}

func (s *store[T]) len() int { return len(s.items) }

// list returns the objects in creation order that keep returns true for.
func (s *store[T]) list(keep func(*T) bool) []*T {
	ids := make([]string, 0, len(s.items))
	for id, v := range s.items {
		if keep == nil || keep(v) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return s.order[ids[i]] < s.order[ids[j]] })
	out := make([]*T, len(ids))
	for i, id := range ids {
		out[i] = s.items[id]
	}
	return out
}

func (w *World) nextSeq() int64 {
	w.seq++
	return w.seq
}

// OnChange registers fn to be called (under the world's lock, so it must not
// call the world) whenever an object of a kind is created, changed or
// deleted. Tests and the control API use it to wait for transitions.
func (w *World) OnChange(fn func(kind, id string)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.changeListeners = append(w.changeListeners, fn)
}

func (w *World) changed(kind, id string) {
	for _, fn := range w.changeListeners {
		fn(kind, id)
	}
}

// copyOf returns a shallow copy of v.
func copyOf[T any](v *T) *T {
	c := *v
	return &c
}

func copyAll[T any](list []*T, cp func(*T) *T) []*T {
	out := make([]*T, len(list))
	for i, v := range list {
		out[i] = cp(v)
	}
	return out
}
