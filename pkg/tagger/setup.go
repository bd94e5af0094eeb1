package tagger

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

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
	osClient, err := openstack.FromCloudConf(o.CloudConfig, m.observer("openstack"))
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
	r := &Reconciler{
		Client: mgr.GetClient(), OpenStack: osClient, Ports: ports, Cluster: cfg.ClusterName,
		NetworkID: networkID, Scope: scope, Recorder: mgr.GetEventRecorderFor("epks-port-tagger"),
		Metrics: m, cache: newPortCache(),
	}
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
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Complete(r)
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
			Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion,
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
