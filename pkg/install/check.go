package install

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// Clients are the API clients that checks and diagnostics use.
type Clients struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
}

// Check reads a workload from the API server and tells its readiness. A
// workload that does not exist is not ready.
func (c Clients) Check(ctx context.Context, w Workload) (Readiness, error) {
	get := metav1.GetOptions{}
	var (
		r   Readiness
		err error
	)
	switch w.Kind {
	case "Deployment":
		d, e := c.Kube.AppsV1().Deployments(w.Namespace).Get(ctx, w.Name, get)
		if err = e; e == nil {
			r = deploymentReadiness(d)
		}
	case "DaemonSet":
		ds, e := c.Kube.AppsV1().DaemonSets(w.Namespace).Get(ctx, w.Name, get)
		if err = e; e == nil {
			r = daemonSetReadiness(ds)
		}
	case "StatefulSet":
		s, e := c.Kube.AppsV1().StatefulSets(w.Namespace).Get(ctx, w.Name, get)
		if err = e; e == nil {
			r = statefulSetReadiness(s)
		}
	case "Job":
		j, e := c.Kube.BatchV1().Jobs(w.Namespace).Get(ctx, w.Name, get)
		if err = e; e == nil {
			r = jobReadiness(j)
		}
	case "CustomResourceDefinition":
		crd, e := c.Dynamic.Resource(crdResource).Get(ctx, w.Name, get)
		if err = e; e == nil {
			r = crdReadiness(crd)
		}
	default:
		return Readiness{}, fmt.Errorf("no readiness check for kind %s", w.Kind)
	}
	if apierrors.IsNotFound(err) {
		return Readiness{Summary: "not found"}, nil
	}
	if err != nil {
		return Readiness{}, fmt.Errorf("reading %s %s/%s: %w", w.Kind, w.Namespace, w.Name, err)
	}
	return r, nil
}

// ComponentStatus is the readiness of one component: all of its workloads.
type ComponentStatus struct {
	Name      string
	Ready     bool
	Failed    bool
	Workloads []WorkloadStatus
}

// WorkloadStatus is one workload with its readiness.
type WorkloadStatus struct {
	Workload
	Readiness
}

// Summary joins the workloads' summaries, e.g. "Deployment x: 1/1
// available"; workloads of one kind that read the same are counted instead
// of listed, e.g. "8 CustomResourceDefinitions: established".
func (c ComponentStatus) Summary() string {
	var parts []string
	for i := 0; i < len(c.Workloads); {
		w := c.Workloads[i]
		j := i + 1
		for j < len(c.Workloads) && c.Workloads[j].Kind == w.Kind && c.Workloads[j].Readiness.Summary == w.Readiness.Summary {
			j++
		}
		if j-i > 1 {
			parts = append(parts, fmt.Sprintf("%d %ss: %s", j-i, w.Kind, w.Readiness.Summary))
		} else {
			parts = append(parts, w.Kind+" "+w.Name+": "+w.Readiness.Summary)
		}
		i = j
	}
	return strings.Join(parts, "; ")
}

// CheckAll reads every workload and groups the results by component, in the
// order of workloads.
func (c Clients) CheckAll(ctx context.Context, ws []Workload) ([]ComponentStatus, error) {
	var out []ComponentStatus
	index := map[string]int{}
	for _, w := range ws {
		r, err := c.Check(ctx, w)
		if err != nil {
			return nil, err
		}
		i, ok := index[w.Component]
		if !ok {
			i = len(out)
			index[w.Component] = i
			out = append(out, ComponentStatus{Name: w.Component, Ready: true})
		}
		cs := &out[i]
		cs.Workloads = append(cs.Workloads, WorkloadStatus{Workload: w, Readiness: r})
		cs.Ready = cs.Ready && r.Ready
		cs.Failed = cs.Failed || r.Failed
	}
	return out, nil
}
