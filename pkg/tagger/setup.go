package tagger

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/pkg/nsx"
	"github.com/epks/epks/pkg/openstack"
)

// Options are what Setup needs besides the configuration file.
type Options struct {
	Config *Config
	// CloudConfig is the path of cloud.conf.
	CloudConfig string
	// Metrics [NewMetrics(nil)].
	Metrics *Metrics
}

// Setup connects to OpenStack and NSX, finds the pod network and its NSX
// switch or segment, and adds the controller and the resync job to mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) error {
	cfg := o.Config
	m := o.Metrics
	if m == nil {
		m = NewMetrics(nil)
	}
	osClient, err := openstack.FromCloudConf(ctx, o.CloudConfig, "epks-port-tagger/"+names.Version, m.observer("openstack"))
	if err != nil {
		return err
	}
	nsxCfg, err := cfg.NSXConfig()
	if err != nil {
		return err
	}
	nsxCfg.Observe = m.observer("nsx")
	nsxClient, err := nsx.New(nsxCfg)
	if err != nil {
		return err
	}
	ports, err := nsx.NewPorts(nsxClient, cfg.NSX.APIMode)
	if err != nil {
		return err
	}
	networkID, err := osClient.ResolveNetwork(ctx, cfg.PodNetwork, cfg.PodNetworkCIDR)
	if err != nil {
		return fmt.Errorf("finding the pod network: %w", err)
	}
	scope, err := ports.Scope(ctx, networkID)
	if err != nil {
		return fmt.Errorf("finding the pod network's NSX %s: %w", map[string]string{nsx.ManagerMode: "logical switch", nsx.PolicyMode: "segment"}[cfg.NSX.APIMode], err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &corev1.Node{}, ServerIDField, IndexServerID); err != nil {
		return fmt.Errorf("indexing nodes by server: %w", err)
	}
	r := NewReconciler(mgr.GetClient(), osClient, ports, ReconcilerOptions{
		Cluster: cfg.ClusterName, NetworkID: networkID, Scope: scope,
		Recorder: mgr.GetEventRecorderFor("epks-port-tagger"), Metrics: m, //nolint:staticcheck // the events.k8s.io recorder needs more RBAC for the same events
	})
	events := make(chan event.GenericEvent, 1024)
	if err := mgr.Add(&resync{r: r, period: cfg.ResyncPeriod.Duration, events: events}); err != nil {
		return err
	}
	concurrency := cfg.NSX.MaxConcurrency
	if concurrency <= 0 {
		concurrency = 20
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("node-ports").
		For(&corev1.Node{}, builder.WithPredicates(relevantNodeChanges)).
		WatchesRawSource(source.Channel(events, &handler.EnqueueRequestForObject{})).
		// A deleted node may leave its server to another node that names it.
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(r.sameServer), builder.WithPredicates(deletions)).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Complete(r)
}

// sameServer maps a node to the other nodes whose provider ID names its
// server.
func (r *Reconciler) sameServer(ctx context.Context, obj client.Object) []reconcile.Request {
	id := IndexServerID(obj)
	if len(id) != 1 {
		return nil
	}
	var nodes corev1.NodeList
	if err := r.Client.List(ctx, &nodes, client.MatchingFields{ServerIDField: id[0]}, client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range nodes.Items {
		if nodes.Items[i].Name != obj.GetName() {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: nodes.Items[i].Name}})
		}
	}
	return out
}

// deletions keeps only delete events.
var deletions = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	UpdateFunc:  func(event.UpdateEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// SlimNode is a cache transform that keeps of a Node only what the tagger
// reads: its identity, provider ID and deletion. Status (images,
// conditions, addresses) and managed fields make most of a node's size.
func SlimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	return &corev1.Node{
		TypeMeta: n.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion, CreationTimestamp: n.CreationTimestamp,
			DeletionTimestamp: n.DeletionTimestamp, Finalizers: n.Finalizers,
		},
		Spec: corev1.NodeSpec{ProviderID: n.Spec.ProviderID},
	}, nil
}

// relevantNodeChanges keeps the events that can change a node's tags:
// creation, deletion and a new provider ID, not status heartbeats.
var relevantNodeChanges = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		oldNode, ok1 := e.ObjectOld.(*corev1.Node)
		newNode, ok2 := e.ObjectNew.(*corev1.Node)
		return !ok1 || !ok2 || oldNode.Spec.ProviderID != newNode.Spec.ProviderID ||
			(oldNode.DeletionTimestamp == nil) != (newNode.DeletionTimestamp == nil)
	},
}
