// Package scope is what every service of pkg/cluster/services shares: the
// cluster's name, the OpenStack clients, and the recorder that reports each
// resource as it becomes ready (or, in a plan, what would happen to it).
package scope

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// Clients are the OpenStack service clients of one project.
type Clients struct {
	Compute      *gophercloud.ServiceClient
	Network      *gophercloud.ServiceClient
	Image        *gophercloud.ServiceClient
	BlockStorage *gophercloud.ServiceClient
	// LoadBalancer is nil when the catalog has no Octavia.
	LoadBalancer *gophercloud.ServiceClient
	ProjectID    string
}

// Verb is what happens, or would happen, to a resource.
type Verb string

// The verbs.
const (
	Create    Verb = "create"
	Update    Verb = "update"
	Delete    Verb = "delete"
	Unchanged Verb = "unchanged"
)

// Action is one resource's outcome.
type Action struct {
	Kind   string // network, subnet, router, ...
	Name   string
	Verb   Verb
	ID     string
	Detail string
}

func (a Action) String() string {
	s := fmt.Sprintf("%-15s %-40s", a.Kind, a.Name)
	if a.ID != "" {
		s += " " + a.ID
	}
	if a.Detail != "" {
		s += " (" + a.Detail + ")"
	}
	return s
}

// Scope is one run over one cluster.
type Scope struct {
	// Cluster is the cluster's name: every resource is named after it and
	// described (tagged) with it.
	Cluster string
	Clients
	// DryRun changes nothing: services look up what exists and record
	// what they would do.
	DryRun bool
	// Out gets a line per resource as it becomes ready; nil: silent.
	Out io.Writer
	// Poll spaces the rounds of waits [DefaultBackoff].
	Poll Backoff

	mu      sync.Mutex
	actions []Action
}

// Tag is the tag (and description) that marks a resource as the cluster's.
func (s *Scope) Tag() string { return "epks-cluster=" + s.Cluster }

// Description is the description of the cluster's Neutron resources.
func (s *Scope) Description() string { return "epks cluster " + s.Cluster }

// Record notes an action and prints its line.
func (s *Scope) Record(a Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actions = append(s.actions, a)
	if s.Out == nil {
		return
	}
	verb := map[Verb]string{Create: "created", Update: "updated", Delete: "deleted", Unchanged: "ready"}[a.Verb]
	if s.DryRun {
		verb = map[Verb]string{Create: "+ create", Update: "~ update", Delete: "- delete", Unchanged: "  unchanged"}[a.Verb]
	}
	fmt.Fprintf(s.Out, "%-11s %s\n", verb, a)
}

// Actions returns what was recorded, in order.
func (s *Scope) Actions() []Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Action(nil), s.actions...)
}

// Count returns how many actions of each verb and kind were recorded, such
// as "create network" → 3.
func (s *Scope) Count() map[string]int {
	out := map[string]int{}
	for _, a := range s.Actions() {
		out[string(a.Verb)+" "+a.Kind]++
	}
	return out
}

// Changes returns the actions other than Unchanged.
func (s *Scope) Changes() []Action {
	var out []Action
	for _, a := range s.Actions() {
		if a.Verb != Unchanged {
			out = append(out, a)
		}
	}
	return out
}

// Summary is a one-line count of the actions, e.g. "3 to create, 1 to update".
func Summary(actions []Action) string {
	n := map[Verb]int{}
	for _, a := range actions {
		n[a.Verb]++
	}
	var parts []string
	for _, v := range []Verb{Create, Update, Delete, Unchanged} {
		if n[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[v], v))
		}
	}
	sort.Strings(parts[:0])
	return strings.Join(parts, ", ")
}

// Planned is the ID a dry run gives a resource it would create: dependents
// know it does not exist yet.
const Planned = ""

// Backoff is how waits space their rounds.
type Backoff struct {
	Initial, Max time.Duration
	Factor       float64
}

// DefaultBackoff starts at 1s and grows to 5s: a wait costs one request
// per round however many resources it waits for, and overshoots the last
// change by at most 5s.
var DefaultBackoff = Backoff{Initial: time.Second, Max: 5 * time.Second, Factor: 1.5}

// Waiter returns the rounds of one wait.
func (s *Scope) Waiter() *Waiter {
	b := s.Poll
	if b.Initial == 0 {
		b = DefaultBackoff
	}
	return &Waiter{b: b, d: b.Initial}
}

// Waiter sleeps between the rounds of one wait, longer each time.
type Waiter struct {
	b Backoff
	d time.Duration
}

// Sleep waits for the next round or for ctx.
func (w *Waiter) Sleep(ctx context.Context) error {
	t := time.NewTimer(w.d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	w.d = min(time.Duration(float64(w.d)*w.b.Factor), w.b.Max)
	return nil
}
