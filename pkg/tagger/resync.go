package tagger

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// resync is the leader's periodic job: re-read the port lists, untag ports
// of nodes that are gone, and reconcile every node (which restores tags
// changed behind our back).
type resync struct {
	r      *Reconciler
	period time.Duration
	events chan event.GenericEvent
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: only the
// leader writes.
func (s *resync) NeedLeaderElection() bool { return true }

// Start implements manager.Runnable.
func (s *resync) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("resync")
	for {
		start := time.Now()
		if err := s.once(ctx); err != nil {
			s.r.Metrics.Errors.WithLabelValues("resync_failed").Inc()
			logger.Error(err, "resync failed; trying again")
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(min(s.period, 10*time.Second)):
			}
			continue
		}
		logger.Info("resynced", "ports", s.r.cache.size(), "took", time.Since(start).String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.period):
		}
	}
}

func (s *resync) once(ctx context.Context) error {
	r := s.r
	if err := r.cache.refresh(ctx, r.OpenStack, r.Ports, r.NetworkID, r.Scope); err != nil {
		return err
	}
	r.Metrics.CachedPorts.Set(float64(r.cache.size()))
	// Ports tagged for a node that no longer exists.
	gone := map[string]bool{}
	for _, p := range r.cache.tagged(ScopeCluster, r.Cluster) {
		for _, t := range p.Tags {
			if t.Scope != ScopeNodeName || gone[t.Tag] {
				continue
			}
			var node corev1.Node
			if err := r.Client.Get(ctx, types.NamespacedName{Name: t.Tag}, &node); apierrors.IsNotFound(err) {
				gone[t.Tag] = true
			}
		}
	}
	for name := range gone {
		if err := r.untagNode(ctx, name); err != nil {
			return err
		}
	}
	// The cache's nodes, not copies: thousands of nodes would double the
	// memory. An event needs only the name.
	var nodes corev1.NodeList
	if err := r.Client.List(ctx, &nodes, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	for i := range nodes.Items {
		ev := event.GenericEvent{Object: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodes.Items[i].Name}}}
		select {
		case s.events <- ev:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}
