package install

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// maxEvents bounds how many events a diagnosis shows per workload.
const maxEvents = 5

// Diagnose explains why a workload is not ready: its pods that are not
// ready, with the reason of each waiting or failed container, and the
// newest warning events of the workload and of those pods. It returns lines
// for a person to read; an API error while diagnosing becomes a line too, so
// a diagnosis never hides the original failure.
func (c Clients) Diagnose(ctx context.Context, w Workload) []string {
	var lines []string
	selector, err := c.selectorOf(ctx, w)
	if err != nil {
		return []string{"cannot read " + w.String() + ": " + err.Error()}
	}
	involved := []string{w.Name}
	if selector != "" {
		pods, err := c.Kube.CoreV1().Pods(w.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			lines = append(lines, "cannot list pods: "+err.Error())
		} else {
			if len(pods.Items) == 0 {
				lines = append(lines, "no pods were created")
			}
			for i := range pods.Items {
				p := &pods.Items[i]
				if why := podProblem(p); why != "" {
					lines = append(lines, "pod "+p.Name+": "+why)
					involved = append(involved, p.Name)
				}
			}
		}
	}
	events, err := c.warningEvents(ctx, w.Namespace, involved)
	if err != nil {
		lines = append(lines, "cannot list events: "+err.Error())
	}
	return append(lines, events...)
}

// selectorOf returns the label selector of a workload's pods, or "" for kinds
// without pods.
func (c Clients) selectorOf(ctx context.Context, w Workload) (string, error) {
	get := metav1.GetOptions{}
	var sel *metav1.LabelSelector
	switch w.Kind {
	case "Deployment":
		d, err := c.Kube.AppsV1().Deployments(w.Namespace).Get(ctx, w.Name, get)
		if err != nil {
			return "", err
		}
		sel = d.Spec.Selector
	case "DaemonSet":
		ds, err := c.Kube.AppsV1().DaemonSets(w.Namespace).Get(ctx, w.Name, get)
		if err != nil {
			return "", err
		}
		sel = ds.Spec.Selector
	case "StatefulSet":
		s, err := c.Kube.AppsV1().StatefulSets(w.Namespace).Get(ctx, w.Name, get)
		if err != nil {
			return "", err
		}
		sel = s.Spec.Selector
	case "Job":
		j, err := c.Kube.BatchV1().Jobs(w.Namespace).Get(ctx, w.Name, get)
		if err != nil {
			return "", err
		}
		sel = j.Spec.Selector
	default:
		return "", nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return "", err
	}
	return s.String(), nil
}

// podProblem says why a pod is not ready, or "" when it is.
func podProblem(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "terminating"
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return ""
		}
	}
	if p.Spec.NodeName == "" {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return "not scheduled: " + c.Message
			}
		}
		return "not scheduled yet"
	}
	var why []string
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, cs := range statuses {
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			why = append(why, fmt.Sprintf("container %s waiting: %s %s", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message))
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
			why = append(why, fmt.Sprintf("container %s exited %d: %s", cs.Name, cs.State.Terminated.ExitCode, cs.State.Terminated.Reason))
		case !cs.Ready && cs.State.Running != nil:
			why = append(why, fmt.Sprintf("container %s running but not ready (restarts: %d)", cs.Name, cs.RestartCount))
		}
	}
	if len(why) == 0 {
		return fmt.Sprintf("phase %s, not ready", p.Status.Phase)
	}
	return strings.TrimSpace(strings.Join(why, "; "))
}

// warningEvents returns the newest warning events about the named objects.
func (c Clients) warningEvents(ctx context.Context, namespace string, names []string) ([]string, error) {
	list, err := c.Kube.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("type", corev1.EventTypeWarning).String(),
	})
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	for _, n := range names {
		wanted[n] = true
	}
	var evs []corev1.Event
	for _, e := range list.Items {
		if wanted[e.InvolvedObject.Name] || involvesReplicaSetOf(e, names[0]) {
			evs = append(evs, e)
		}
	}
	sort.Slice(evs, func(i, j int) bool { return eventTime(evs[i]).After(eventTime(evs[j]).Time) })
	if len(evs) > maxEvents {
		evs = evs[:maxEvents]
	}
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("event %s %s/%s: %s", e.Reason, strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, strings.TrimSpace(e.Message)))
	}
	return out, nil
}

// involvesReplicaSetOf reports whether an event is about a ReplicaSet of the
// named Deployment (their names are the Deployment's plus a hash), where
// quota and admission failures are reported.
func involvesReplicaSetOf(e corev1.Event, deployment string) bool {
	return e.InvolvedObject.Kind == "ReplicaSet" && strings.HasPrefix(e.InvolvedObject.Name, deployment+"-")
}

func eventTime(e corev1.Event) metav1.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp
	case !e.EventTime.IsZero():
		return metav1.Time{Time: e.EventTime.Time}
	}
	return e.CreationTimestamp
}
