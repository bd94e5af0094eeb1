package install

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

func TestDeploymentReadiness(t *testing.T) {
	deploy := func(gen, observed int64, replicas, updated, total, available int32, conds ...appsv1.DeploymentCondition) *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Generation: gen},
			Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
			Status: appsv1.DeploymentStatus{
				ObservedGeneration: observed, UpdatedReplicas: updated, Replicas: total,
				AvailableReplicas: available, Conditions: conds,
			},
		}
	}
	tests := []struct {
		name       string
		d          *appsv1.Deployment
		ready      bool
		failed     bool
		summaryHas string
	}{
		{"all available", deploy(2, 2, 2, 2, 2, 2), true, false, "2/2 available"},
		{"generation not observed", deploy(3, 2, 2, 2, 2, 2), false, false, "new spec"},
		{"rolling out", deploy(2, 2, 2, 1, 2, 2), false, false, "1/2 updated"},
		{"old replicas left", deploy(2, 2, 2, 2, 3, 2), false, false, "1 old replicas"},
		{"not available", deploy(2, 2, 2, 2, 2, 1), false, false, "1/2 available"},
		{"deadline exceeded", deploy(2, 2, 2, 2, 2, 0, appsv1.DeploymentCondition{
			Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
			Reason: "ProgressDeadlineExceeded", Message: "ReplicaSet x has timed out"}), false, true, "timed out"},
		{"nil replicas means one", &appsv1.Deployment{Status: appsv1.DeploymentStatus{UpdatedReplicas: 1, Replicas: 1, AvailableReplicas: 1}}, true, false, "1/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := deploymentReadiness(tt.d)
			if r.Ready != tt.ready || r.Failed != tt.failed {
				t.Fatalf("got ready=%v failed=%v (%q), want ready=%v failed=%v", r.Ready, r.Failed, r.Summary, tt.ready, tt.failed)
			}
			if !contains(r.Summary, tt.summaryHas) {
				t.Errorf("summary %q does not contain %q", r.Summary, tt.summaryHas)
			}
		})
	}
}

func TestDaemonSetReadiness(t *testing.T) {
	ds := func(gen, observed int64, desired, updated, available int32) *appsv1.DaemonSet {
		return &appsv1.DaemonSet{
			ObjectMeta: metav1.ObjectMeta{Generation: gen},
			Status: appsv1.DaemonSetStatus{ObservedGeneration: observed, DesiredNumberScheduled: desired,
				UpdatedNumberScheduled: updated, NumberAvailable: available},
		}
	}
	tests := []struct {
		name  string
		ds    *appsv1.DaemonSet
		ready bool
		has   string
	}{
		{"every node", ds(1, 1, 3, 3, 3), true, "3/3 nodes available"},
		{"not observed", ds(2, 1, 3, 3, 3), false, "new spec"},
		{"updating", ds(1, 1, 3, 2, 3), false, "2/3 nodes updated"},
		{"unavailable", ds(1, 1, 3, 3, 1), false, "1/3 nodes available"},
		{"no node wants it", ds(1, 1, 0, 0, 0), true, "0/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := daemonSetReadiness(tt.ds)
			if r.Ready != tt.ready || !contains(r.Summary, tt.has) {
				t.Fatalf("got %+v, want ready=%v and %q", r, tt.ready, tt.has)
			}
		})
	}
}

func TestStatefulSetReadiness(t *testing.T) {
	ss := &appsv1.StatefulSet{
		Spec:   appsv1.StatefulSetSpec{Replicas: ptr.To(int32(2))},
		Status: appsv1.StatefulSetStatus{UpdatedReplicas: 2, ReadyReplicas: 2, CurrentRevision: "a", UpdateRevision: "a"},
	}
	if r := statefulSetReadiness(ss); !r.Ready {
		t.Fatalf("want ready, got %+v", r)
	}
	ss.Status.UpdateRevision = "b"
	if r := statefulSetReadiness(ss); r.Ready {
		t.Fatalf("revision mismatch must not be ready, got %+v", r)
	}
	ss.Status.UpdateRevision, ss.Status.ReadyReplicas = "a", 1
	if r := statefulSetReadiness(ss); r.Ready || r.Summary != "1/2 ready" {
		t.Fatalf("want 1/2 ready, got %+v", r)
	}
}

func TestJobReadiness(t *testing.T) {
	job := func(t batchv1.JobConditionType, s corev1.ConditionStatus) *batchv1.Job {
		return &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: t, Status: s, Message: "BackoffLimitExceeded"}}}}
	}
	if r := jobReadiness(job(batchv1.JobComplete, corev1.ConditionTrue)); !r.Ready {
		t.Errorf("complete job not ready: %+v", r)
	}
	if r := jobReadiness(job(batchv1.JobFailed, corev1.ConditionTrue)); r.Ready || !r.Failed {
		t.Errorf("failed job: %+v", r)
	}
	if r := jobReadiness(job(batchv1.JobComplete, corev1.ConditionFalse)); r.Ready || r.Failed {
		t.Errorf("running job: %+v", r)
	}
}

func TestCRDReadiness(t *testing.T) {
	crd := func(conds ...map[string]any) *unstructured.Unstructured {
		var cs []any
		for _, c := range conds {
			cs = append(cs, c)
		}
		return &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": cs}}}
	}
	if r := crdReadiness(crd()); r.Ready {
		t.Errorf("no conditions must not be ready")
	}
	if r := crdReadiness(crd(map[string]any{"type": "Established", "status": "True"})); !r.Ready {
		t.Errorf("established CRD not ready: %+v", r)
	}
	if r := crdReadiness(crd(map[string]any{"type": "NamesAccepted", "status": "False", "message": "conflict"})); !r.Failed {
		t.Errorf("name conflict must fail: %+v", r)
	}
}

func contains(s, sub string) bool {
	return strings.Contains(s, sub)
}
