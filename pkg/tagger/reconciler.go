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
//   - Every resync period the cache is re-read and every node reconciled,
//     which restores tags someone changed behind our back.
package tagger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
	OpenStack *openstack.Client
	Ports     nsx.Ports
	Cluster   string
	// NetworkID is the pod network; Scope its NSX switch or segment.
	NetworkID string
	Scope     string
	Recorder  record.EventRecorder
	Metrics   *Metrics

	cache *portCache
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
		changed, err := r.write(ctx, *port, func(tags []nsx.Tag) ([]nsx.Tag, bool) {
			return nsx.SetScopes(tags, want, ScopeNodeName, ScopeCluster)
		})
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
		if v, _ := nsx.Value(p.Tags, ScopeCluster); v != r.Cluster {
			continue // another cluster's port
		}
		changed, err := r.write(ctx, p, func(tags []nsx.Tag) ([]nsx.Tag, bool) {
			if v, _ := nsx.Value(tags, ScopeNodeName); v != name {
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
