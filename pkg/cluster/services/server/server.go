// Package server reconciles the cluster's Nova servers: created on their
// ports with the node's user data, then waited for together, listing the
// cluster's servers once per round with backoff instead of polling each.
package server

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/epks/epks/pkg/cluster/scope"
)

// Metadata keys of the cluster's servers.
const (
	ClusterKey = "epks-cluster"
	RoleKey    = "epks-role"
)

// Spec is one server.
type Spec struct {
	Name          string
	Role          string
	ImageID       string
	FlavorID      string
	KeyName       string
	PortIDs       []string // empty entries when planned
	ServerGroupID string
	// UserData returns the node's user data; it is called only when the
	// server is created.
	UserData func() ([]byte, error)
}

// Status of a server.
type Status struct {
	ID     string
	Status string
	// Created is true when this run created it.
	Created bool
}

// List returns the servers whose names match the regular expression.
func List(ctx context.Context, s *scope.Scope, nameRE string) ([]servers.Server, error) {
	pages, err := servers.List(s.Compute, servers.ListOpts{Name: nameRE}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing servers: %w", err)
	}
	return servers.ExtractServers(pages)
}

// Reconcile makes the server exist, given the server found by its name
// (nil: none). A server in ERROR is replaced.
func Reconcile(ctx context.Context, s *scope.Scope, spec Spec, sv *servers.Server) (Status, error) {
	if sv != nil && sv.Status == "ERROR" {
		if s.DryRun {
			s.Record(scope.Action{Kind: "server", Name: spec.Name, Verb: scope.Update, ID: sv.ID, Detail: "in ERROR: replace"})
			return Status{}, nil
		}
		if err := servers.Delete(ctx, s.Compute, sv.ID).ExtractErr(); err != nil && !scope.NotFound(err) {
			return Status{}, fmt.Errorf("deleting server %s in ERROR: %w", spec.Name, err)
		}
		if err := WaitGone(ctx, s, map[string]string{sv.ID: spec.Name}); err != nil {
			return Status{}, err
		}
		sv = nil
	}
	if sv != nil {
		return Status{ID: sv.ID, Status: sv.Status}, nil
	}
	if s.DryRun {
		s.Record(scope.Action{Kind: "server", Name: spec.Name, Verb: scope.Create, Detail: spec.Role})
		return Status{}, nil
	}
	userData, err := spec.UserData()
	if err != nil {
		return Status{}, fmt.Errorf("rendering the user data of %s: %w", spec.Name, err)
	}
	nets := make([]servers.Network, len(spec.PortIDs))
	for i, id := range spec.PortIDs {
		nets[i] = servers.Network{Port: id}
	}
	drive := true
	opts := keypairs.CreateOptsExt{CreateOptsBuilder: servers.CreateOpts{
		Name: spec.Name, ImageRef: spec.ImageID, FlavorRef: spec.FlavorID, Networks: nets,
		UserData: userData, ConfigDrive: &drive,
		Metadata: map[string]string{ClusterKey: s.Cluster, RoleKey: spec.Role},
	}, KeyName: spec.KeyName}
	var hints servers.SchedulerHintOptsBuilder
	if spec.ServerGroupID != "" {
		hints = servers.SchedulerHintOpts{Group: spec.ServerGroupID}
	}
	sv, err = servers.Create(ctx, s.Compute, opts, hints).Extract()
	if err != nil {
		return Status{}, fmt.Errorf("creating server %s: %w", spec.Name, err)
	}
	return Status{ID: sv.ID, Status: "BUILD", Created: true}, nil
}

// WaitActive waits until every server of pending (ID → name) is ACTIVE,
// recording each as it becomes so; one in ERROR fails the wait with its
// fault. It lists the cluster's servers once per round.
func WaitActive(ctx context.Context, s *scope.Scope, pending map[string]string, created map[string]bool) error {
	w := s.Waiter()
	for len(pending) > 0 {
		list, err := List(ctx, s, "^"+regexp.QuoteMeta(s.Cluster)+"-")
		if err != nil {
			return err
		}
		var failed []error
		for _, sv := range list {
			name, ok := pending[sv.ID]
			if !ok {
				continue
			}
			switch sv.Status {
			case "ACTIVE":
				verb := scope.Unchanged
				if created[sv.ID] {
					verb = scope.Create
				}
				s.Record(scope.Action{Kind: "server", Name: name, Verb: verb, ID: sv.ID, Detail: "ACTIVE"})
				delete(pending, sv.ID)
			case "ERROR":
				failed = append(failed, fmt.Errorf("server %s is in ERROR: %s (the next run replaces it)", name, sv.Fault.Message))
				delete(pending, sv.ID)
			}
		}
		if len(failed) > 0 {
			return fmt.Errorf("%w", failed[0])
		}
		if len(pending) == 0 {
			break
		}
		if err := w.Sleep(ctx); err != nil {
			return fmt.Errorf("waiting for servers to become ACTIVE, still not: %s: %w", pendingNames(list, pending), err)
		}
	}
	return nil
}

// Delete deletes servers (ID → name), all at once, and waits until they
// are gone.
func Delete(ctx context.Context, s *scope.Scope, victims map[string]string) error {
	var problems scope.Problems
	left := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for id, name := range victims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if !s.DryRun {
				if err = servers.Delete(ctx, s.Compute, id).ExtractErr(); err != nil && !scope.NotFound(err) {
					err = fmt.Errorf("deleting server %s: %w", name, err)
				} else {
					err = nil
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				problems.Add(err)
				return
			}
			left[id] = name
		}()
	}
	wg.Wait()
	if !s.DryRun {
		problems.Add(WaitGone(ctx, s, left))
	}
	for id, name := range left {
		s.Record(scope.Action{Kind: "server", Name: name, Verb: scope.Delete, ID: id})
	}
	return problems.Err()
}

// WaitGone waits until no server of pending is listed any more.
func WaitGone(ctx context.Context, s *scope.Scope, pending map[string]string) error {
	if len(pending) == 0 {
		return nil
	}
	w := s.Waiter()
	for {
		list, err := List(ctx, s, "^"+regexp.QuoteMeta(s.Cluster)+"-")
		if err != nil {
			return err
		}
		left := map[string]string{}
		for _, sv := range list {
			if name, ok := pending[sv.ID]; ok {
				left[sv.ID] = name
			}
		}
		if len(left) == 0 {
			return nil
		}
		if err := w.Sleep(ctx); err != nil {
			return fmt.Errorf("waiting for servers to be deleted, still there: %s: %w", pendingNames(list, left), err)
		}
	}
}

// pendingNames says which servers of pending (ID → name) a wait still
// waits for and their status in list, sorted by name, e.g.
// "k8scluster-minion-0 (BUILD), k8scluster-minion-1 (BUILD)".
func pendingNames(list []servers.Server, pending map[string]string) string {
	status := map[string]string{}
	for _, sv := range list {
		status[sv.ID] = sv.Status
	}
	var out []string
	for id, name := range pending {
		if st := status[id]; st != "" {
			name += " (" + st + ")"
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
