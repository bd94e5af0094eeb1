package install

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/epks/epks/pkg/render"
)

const testManifest = `---
# Source: epks-addons/templates/occm/daemonset.yaml
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: r-occm
  labels:
    app.kubernetes.io/component: occm
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: r-ncp-config
  labels:
    app.kubernetes.io/component: ncp
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: r-ncp
  namespace: other
  labels:
    app.kubernetes.io/component: ncp
---
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: unlabelled
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: volumesnapshots.snapshot.storage.k8s.io
`

func TestWorkloadsOf(t *testing.T) {
	objs, err := render.Objects(testManifest)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 5 {
		t.Fatalf("parsed %d objects, want 5 (empty documents dropped)", len(objs))
	}
	got := WorkloadsOf(objs, "epks-system")
	want := []Workload{
		{Kind: "CustomResourceDefinition", Name: "volumesnapshots.snapshot.storage.k8s.io", Component: "crds"},
		{Kind: "Deployment", Namespace: "epks-system", Name: "unlabelled", Component: "deployment/unlabelled"},
		{Kind: "Deployment", Namespace: "other", Name: "r-ncp", Component: "ncp"},
		{Kind: "DaemonSet", Namespace: "epks-system", Name: "r-occm", Component: "occm"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("workloads:\n got %+v\nwant %+v", got, want)
	}
	if c := Components(got); !reflect.DeepEqual(c, []string{"crds", "deployment/unlabelled", "ncp", "occm"}) {
		t.Errorf("components %v", c)
	}
}

func TestPodProblem(t *testing.T) {
	ready := corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
	tests := []struct {
		name string
		pod  corev1.Pod
		want string
	}{
		{"ready", corev1.Pod{Spec: corev1.PodSpec{NodeName: "n"}, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{ready}}}, ""},
		{"unschedulable", corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Message: "0/3 nodes are available"}}}}, "not scheduled: 0/3 nodes are available"},
		{"image pull", corev1.Pod{Spec: corev1.PodSpec{NodeName: "n"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "ncp", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "not found"}}}}}},
			"container ncp waiting: ImagePullBackOff not found"},
		{"crashed", corev1.Pod{Spec: corev1.PodSpec{NodeName: "n"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "occm", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}}}}}},
			"container occm exited 2: Error"},
		{"terminating", corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &metav1.Time{}}}, "terminating"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := podProblem(&tt.pod); got != tt.want {
				t.Errorf("podProblem = %q, want %q", got, tt.want)
			}
		})
	}
}
