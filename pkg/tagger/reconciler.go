// Package tagger tags the NSX port of each node's pod NIC with
// ncp/node_name=<node> and ncp/cluster=<cluster>, which is how NCP finds a
// node's container network. It is a controller-runtime controller over
// Nodes:
//
//   - A node's server comes from its provider ID (openstack:///<id> or
//     openstack://<region>/<id>), or from its exact name before the cloud
//     controller manager set one. Its ports on the pod network and their NSX
//     ports come from a cache filled by bulk list pages, so N nodes cost about
//     N writes, and a resync of a tagged cluster writes nothing.
//   - Writes send the port back as NSX returned it, raw, with only the tags
//     changed, so no field is lost; a stale _revision is read again and
//     retried. Only our two scopes are touched: stale values are replaced and
//     duplicates removed; every other tag stays.
//   - A deleted node's tags come off its ports when the deletion is seen, and
//     a periodic sweep catches nodes deleted while no tagger ran. Nodes carry
//     no finalizer: a tagger that is down or uninstalled never blocks node
//     deletion, and the tagger needs no write access to Nodes.
//   - A port tagged ncp/cluster=<another cluster> is never taken over: it
//     is left as it is and reported (an event on the Node, the errors
//     metric, a log line). When several Nodes name one server in their
//     provider IDs, the oldest (then the first by name) owns its ports and
//     the others are reported, so the tags do not flip between them.
//   - Every resync period the cache is re-read and every node reconciled,
//     which restores tags someone changed behind our back.
package tagger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/epks/epks/pkg/nsx"
	"github.com/epks/epks/pkg/openstack"
)

// The tag scopes NCP reads.
const (
	ScopeNodeName = "ncp/node_name"
	ScopeCluster  = "ncp/cluster"
)

// maxWriteAttempts bounds the re-read and re-write of a port that keeps
// changing under us.
const maxWriteAttempts = 5

// Reconciler tags the ports of one node per call.
type Reconciler struct {
	Client    client.Client
	OpenStack openstack.API
	Ports     nsx.Ports
	Cluster   string
	// NetworkID is the pod network; Scope its NSX switch or segment.
	NetworkID string
	Scope     string
	Recorder  record.EventRecorder
	Metrics   *Metrics

	cache *portCache
}

// ReconcilerOptions are the settings of NewReconciler besides its clients.
type ReconcilerOptions struct {
	// Cluster is the value of the ncp/cluster tag.
	Cluster string
	// NetworkID is the pod network; Scope its NSX switch or segment.
	NetworkID, Scope string
	// Recorder tells on Nodes [events are dropped].
	Recorder record.EventRecorder
	// Metrics [new collectors, registered nowhere].
	Metrics *Metrics
}

// NewReconciler returns a Reconciler with an empty port cache. c must
// index Nodes by ServerIDField (IndexServerID); the port cache is filled
// by the first resync (Sweep).
func NewReconciler(c client.Client, os openstack.API, ports nsx.Ports, o ReconcilerOptions) *Reconciler {
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	if o.Recorder == nil {
		o.Recorder = &record.FakeRecorder{}
	}
	return &Reconciler{Client: c, OpenStack: os, Ports: ports, Cluster: o.Cluster, NetworkID: o.NetworkID, Scope: o.Scope,
		Recorder: o.Recorder, Metrics: o.Metrics, cache: newPortCache()}
}

// ServerIDField indexes Nodes by the server id of their provider ID.
const ServerIDField = "epks.spec.providerID.serverID"

// IndexServerID is the client.IndexerFunc of ServerIDField.
func IndexServerID(obj client.Object) []string {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return nil
	}
	if id, ok := ServerID(n.Spec.ProviderID); ok {
		return []string{id}
	}
	return nil
}

// ServerID parses a node's provider ID: openstack:///<id> or
// openstack://<region>/<id>.
func ServerID(providerID string) (string, bool) {
	rest, ok := strings.CutPrefix(providerID, "openstack://")
	if !ok {
		return "", false
	}
	i := strings.LastIndex(rest, "/")
	if i < 0 || i == len(rest)-1 {
		return "", false
	}
	return rest[i+1:], true
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx)
	if err := r.cache.waitReady(ctx); err != nil {
		return ctrl.Result{}, err
	}
	var node corev1.Node
	err := r.Client.Get(ctx, req.NamespacedName, &node)
	if apierrors.IsNotFound(err) {
		return ctrl.Result{}, r.untagNode(ctx, req.Name)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if node.DeletionTimestamp != nil {
		return ctrl.Result{}, r.untagNode(ctx, node.Name)
	}

	serverID, err := r.serverOf(ctx, &node)
	if err != nil {
		r.Metrics.Errors.WithLabelValues("server_not_found").Inc()
		r.Recorder.Eventf(&node, corev1.EventTypeWarning, "ServerNotFound", "Cannot find the server of this node to tag its NSX port: %v", err)
		return ctrl.Result{RequeueAfter: time.Minute}, nil
	}
	winner, err := r.claimant(ctx, &node, serverID)
	if err != nil {
		return ctrl.Result{}, err
	}
	if winner != node.Name {
		// Two Nodes name one server: one of them, always the same, owns
		// the port; tagging both would flip the tag at every resync.
		r.Metrics.Errors.WithLabelValues("duplicate_provider_id").Inc()
		logger.Info("another node has this node's server; leaving the server's NSX port to it", "server", serverID, "owner", winner)
		r.Recorder.Eventf(&node, corev1.EventTypeWarning, "DuplicateProviderID",
			"Node %s has the same server %s; its NSX port is tagged for %s (the oldest node, then the first name), not for this node", winner, serverID, winner)
		return ctrl.Result{}, nil
	}
	portIDs, err := r.podPorts(ctx, serverID)
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(portIDs) == 0 {
		r.Metrics.Errors.WithLabelValues("pod_port_not_found").Inc()
		r.Recorder.Eventf(&node, corev1.EventTypeWarning, "PodPortNotFound",
			"Server %s has no port on the pod network %s; NCP cannot use this node", serverID, r.NetworkID)
		return ctrl.Result{RequeueAfter: time.Minute}, nil
	}
	want := map[string]string{ScopeNodeName: node.Name, ScopeCluster: r.Cluster}
	wrote := 0
	for _, id := range portIDs {
		port, err := r.nsxPort(ctx, id)
		if err != nil {
			return ctrl.Result{}, err
		}
		if port == nil {
			r.Metrics.Errors.WithLabelValues("nsx_port_not_found").Inc()
			r.Recorder.Eventf(&node, corev1.EventTypeWarning, "NSXPortNotFound", "Neutron port %s has no NSX port", id)
			return ctrl.Result{RequeueAfter: time.Minute}, nil
		}
		foreign := ""
		changed, err := r.write(ctx, *port, func(tags []nsx.Tag) ([]nsx.Tag, bool) {
			if foreign = r.otherCluster(tags); foreign != "" {
				return tags, false
			}
			return nsx.SetScopes(tags, want, ScopeNodeName, ScopeCluster)
		})
		if err == nil && foreign != "" {
			// Never take over another cluster's port: a wrong provider ID or
			// a server moved between clusters must not steal its network.
			r.Metrics.Errors.WithLabelValues("port_of_another_cluster").Inc()
			logger.Info("leaving an NSX port tagged for another cluster", "port", port.ID, "cluster", foreign, "server", serverID)
			r.Recorder.Eventf(&node, corev1.EventTypeWarning, "PortOfAnotherCluster",
				"NSX port %s of server %s is tagged %s=%s, not %s: it is left as it is; untag it if this cluster should own it",
				port.ID, serverID, ScopeCluster, foreign, r.Cluster)
			continue
		}
		if err != nil {
			r.Metrics.Errors.WithLabelValues("tagging_failed").Inc()
			r.Recorder.Eventf(&node, corev1.EventTypeWarning, "TaggingFailed", "Tagging NSX port %s failed: %v", port.ID, err)
			return ctrl.Result{}, err
		}
		if changed {
			wrote++
			r.Metrics.PortsTagged.Inc()
		}
	}
	if wrote > 0 {
		logger.Info("tagged the node's NSX ports", "ports", wrote, "server", serverID)
		r.Recorder.Eventf(&node, corev1.EventTypeNormal, "Tagged", "Tagged %d NSX port(s) with %s=%s and %s=%s", wrote, ScopeNodeName, node.Name, ScopeCluster, r.Cluster)
	}
	return ctrl.Result{}, nil
}

// serverOf finds a node's server.
func (r *Reconciler) serverOf(ctx context.Context, node *corev1.Node) (string, error) {
	if id, ok := ServerID(node.Spec.ProviderID); ok {
		return id, nil
	}
	if node.Spec.ProviderID != "" {
		return "", fmt.Errorf("provider ID %q is not openstack://[region]/<server id>", node.Spec.ProviderID)
	}
	return r.OpenStack.ServerIDByName(ctx, node.Name)
}

// otherCluster returns the value of an ncp/cluster tag of another cluster,
// or "".
func (r *Reconciler) otherCluster(tags []nsx.Tag) string {
	for _, t := range tags {
		if t.Scope == ScopeCluster && t.Tag != "" && t.Tag != r.Cluster {
			return t.Tag
		}
	}
	return ""
}

// claimant returns the node that owns a server's ports among the nodes
// whose provider ID names it and node: the oldest, then the first name.
func (r *Reconciler) claimant(ctx context.Context, node *corev1.Node, serverID string) (string, error) {
	var nodes corev1.NodeList
	if err := r.Client.List(ctx, &nodes, client.MatchingFields{ServerIDField: serverID}, client.UnsafeDisableDeepCopy); err != nil {
		return "", fmt.Errorf("listing the nodes of server %s: %w", serverID, err)
	}
	winner := node
	for i := range nodes.Items {
		n := &nodes.Items[i]
		if n.DeletionTimestamp != nil {
			continue
		}
		if n.CreationTimestamp.Before(&winner.CreationTimestamp) ||
			(n.CreationTimestamp.Equal(&winner.CreationTimestamp) && n.Name < winner.Name) {
			winner = n
		}
	}
	return winner.Name, nil
}

// podPorts returns a server's Neutron ports on the pod network: from the
// cache, else (a server newer than the last list) from Neutron.
func (r *Reconciler) podPorts(ctx context.Context, serverID string) ([]string, error) {
	if ids, ok := r.cache.serverPorts(serverID); ok {
		return ids, nil
	}
	refs, err := r.OpenStack.ServerPorts(ctx, serverID, r.NetworkID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(refs))
	for i, p := range refs {
		ids[i] = p.ID
	}
	if len(ids) > 0 {
		r.cache.setServerPorts(serverID, ids)
	}
	return ids, nil
}

// nsxPort returns the NSX port of a Neutron port: from the cache, else
// looked up.
func (r *Reconciler) nsxPort(ctx context.Context, neutronPortID string) (*nsx.Port, error) {
	if p, ok := r.cache.nsxPort(neutronPortID); ok {
		return &p, nil
	}
	p, err := r.Ports.ByAttachment(ctx, r.Scope, neutronPortID)
	if err != nil {
		return nil, fmt.Errorf("finding the NSX port of Neutron port %s: %w", neutronPortID, err)
	}
	if p != nil {
		r.cache.put(*p)
	}
	return p, nil
}

// write applies edit to a port's tags and writes the port when they
// change. On a stale revision it reads the port again and re-applies edit,
// up to maxWriteAttempts times.
func (r *Reconciler) write(ctx context.Context, port nsx.Port, edit func([]nsx.Tag) ([]nsx.Tag, bool)) (bool, error) {
	for attempt := 1; ; attempt++ {
		tags, changed := edit(port.Tags)
		if !changed {
			r.cache.put(port)
			return false, nil
		}
		port.Tags = tags
		updated, err := r.Ports.Update(ctx, r.Scope, port)
		if err == nil {
			r.cache.put(updated)
			return true, nil
		}
		if !nsx.IsStaleRevision(err) || attempt >= maxWriteAttempts {
			return false, err
		}
		fresh, err := r.Ports.Get(ctx, r.Scope, port.ID)
		if err != nil {
			return false, fmt.Errorf("reading NSX port %s again after a stale revision: %w", port.ID, err)
		}
		port = fresh
	}
}

// untagNode removes our tags from the ports tagged for a node that is gone.
func (r *Reconciler) untagNode(ctx context.Context, name string) error {
	var errs []error
	for _, p := range r.cache.tagged(ScopeNodeName, name) {
		if v, _ := nsx.Value(p.Tags, ScopeCluster); v != r.Cluster || r.otherCluster(p.Tags) != "" {
			continue // another cluster's port
		}
		changed, err := r.write(ctx, p, func(tags []nsx.Tag) ([]nsx.Tag, bool) {
			if v, _ := nsx.Value(tags, ScopeNodeName); v != name || r.otherCluster(tags) != "" {
				return tags, false // re-tagged meanwhile
			}
			return nsx.RemoveScopes(tags, ScopeNodeName, ScopeCluster)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("untagging NSX port %s of deleted node %s: %w", p.ID, name, err))
			continue
		}
		if changed {
			r.Metrics.PortsUntagged.Inc()
			log.FromContext(ctx).Info("untagged the NSX port of a deleted node", "port", p.ID)
		}
	}
	return errors.Join(errs...)
}
