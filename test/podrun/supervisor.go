package podrun

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
)

// Supervisor runs the pods of a namespace that match a selector as they
// are scheduled and have their network (the host's, or an IP), and stops
// them when they are deleted, as kubelet does for
// the pods of its node. A pod whose start fails (its Secret is not there
// yet, say) is tried again.
type Supervisor struct {
	Runner    *Runner
	Namespace string
	// Selector picks the pods to run, e.g.
	// "app.kubernetes.io/component in (occm, port-tagger)".
	Selector string
	// Interval is how often the pods are compared with what runs [500ms].
	Interval time.Duration

	mu      sync.Mutex
	running map[types.UID]*Pod
	failed  map[string]error
}

// Run supervises until ctx ends, then stops every pod it started.
func (s *Supervisor) Run(ctx context.Context) error {
	sel, err := labels.Parse(s.Selector)
	if err != nil {
		return fmt.Errorf("selector %q: %w", s.Selector, err)
	}
	interval := s.Interval
	if interval == 0 {
		interval = 500 * time.Millisecond
	}
	s.mu.Lock()
	s.running, s.failed = map[types.UID]*Pod{}, map[string]error{}
	s.mu.Unlock()
	factory := informers.NewSharedInformerFactoryWithOptions(s.Runner.Client, 0,
		informers.WithNamespace(s.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel.String() }))
	lister := factory.Core().V1().Pods().Lister()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	defer s.stopAll()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		pods, err := lister.Pods(s.Namespace).List(sel)
		if err == nil {
			s.sync(ctx, pods)
		}
		select {
		case <-ctx.Done():
			factory.Shutdown()
			return nil
		case <-tick.C:
		}
	}
}

// sync starts the pods that should run and stops the ones that should not.
func (s *Supervisor) sync(ctx context.Context, pods []*corev1.Pod) {
	want := map[types.UID]*corev1.Pod{}
	for _, p := range pods {
		// As kubelet: a pod's containers start once its sandbox has its
		// network, the node's or an IP of the pod network.
		hasNetwork := p.Spec.HostNetwork || p.Status.PodIP != ""
		if p.Spec.NodeName != "" && hasNetwork && p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			want[p.UID] = p
		}
	}
	s.mu.Lock()
	var stop []*Pod
	for uid, rp := range s.running {
		if _, ok := want[uid]; !ok {
			stop = append(stop, rp)
			delete(s.running, uid)
		}
	}
	var start []*corev1.Pod
	for uid, p := range want {
		if _, ok := s.running[uid]; !ok {
			start = append(start, p)
		}
	}
	s.mu.Unlock()
	for _, rp := range stop {
		s.Runner.logf("stopping %s: the pod is gone", rp)
		rp.Stop()
	}
	for _, p := range start {
		rp, err := s.Runner.Start(ctx, p.DeepCopy())
		s.mu.Lock()
		key := p.Namespace + "/" + p.Name
		if err != nil {
			s.failed[key] = err
		} else {
			delete(s.failed, key)
			s.running[p.UID] = rp
		}
		s.mu.Unlock()
		if err != nil {
			s.Runner.logf("cannot run %s yet: %v", key, err)
		}
	}
}

func (s *Supervisor) stopAll() {
	s.mu.Lock()
	pods := s.running
	s.running = map[types.UID]*Pod{}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range pods {
		wg.Add(1)
		go func() { defer wg.Done(); p.Stop() }()
	}
	wg.Wait()
}

// Pods returns the pods that run now, by name.
func (s *Supervisor) Pods() []*Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Pod, 0, len(s.running))
	for _, p := range s.running {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Failures returns the pods that could not be started, with why.
func (s *Supervisor) Failures() map[string]error {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]error, len(s.failed))
	for k, v := range s.failed {
		out[k] = v
	}
	return out
}
