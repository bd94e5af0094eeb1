package install

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Readiness is what one workload looks like at one moment.
type Readiness struct {
	// Ready is true when the workload does what it is for: every replica
	// updated and available, the Job complete, the CRD established.
	Ready bool
	// Summary is a short human text such as "2/2 available".
	Summary string
	// Failed is true when the workload cannot become ready without a change
	// (a Job that exhausted its retries, a Deployment past its progress deadline).
	Failed bool
}

// deploymentReadiness follows what `kubectl rollout status` checks: the
// controller saw the newest generation, every replica runs the newest pod
// template, and all of them are available.
func deploymentReadiness(d *appsv1.Deployment) Readiness {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	summary := fmt.Sprintf("%d/%d available", st.AvailableReplicas, want)
	if st.ObservedGeneration < d.Generation {
		return Readiness{Summary: "waiting for the controller to see the new spec"}
	}
	for _, c := range st.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return Readiness{Summary: summary + ": " + c.Message, Failed: true}
		}
	}
	switch {
	case st.UpdatedReplicas < want:
		return Readiness{Summary: fmt.Sprintf("%d/%d updated", st.UpdatedReplicas, want)}
	case st.Replicas > st.UpdatedReplicas:
		return Readiness{Summary: fmt.Sprintf("%d old replicas terminating", st.Replicas-st.UpdatedReplicas)}
	case st.AvailableReplicas < want:
		return Readiness{Summary: summary}
	}
	return Readiness{Ready: true, Summary: summary}
}

// daemonSetReadiness is ready when every node that should run the pod runs
// the newest template and it is available there.
func daemonSetReadiness(ds *appsv1.DaemonSet) Readiness {
	st := ds.Status
	summary := fmt.Sprintf("%d/%d nodes available", st.NumberAvailable, st.DesiredNumberScheduled)
	if st.ObservedGeneration < ds.Generation {
		return Readiness{Summary: "waiting for the controller to see the new spec"}
	}
	switch {
	case st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
		return Readiness{Summary: fmt.Sprintf("%d/%d nodes updated", st.UpdatedNumberScheduled, st.DesiredNumberScheduled)}
	case st.NumberAvailable < st.DesiredNumberScheduled:
		return Readiness{Summary: summary}
	}
	return Readiness{Ready: true, Summary: summary}
}

// statefulSetReadiness is ready when every replica is ready on the current revision.
func statefulSetReadiness(s *appsv1.StatefulSet) Readiness {
	want := int32(1)
	if s.Spec.Replicas != nil {
		want = *s.Spec.Replicas
	}
	st := s.Status
	summary := fmt.Sprintf("%d/%d ready", st.ReadyReplicas, want)
	if st.ObservedGeneration < s.Generation {
		return Readiness{Summary: "waiting for the controller to see the new spec"}
	}
	if st.UpdatedReplicas < want || (st.UpdateRevision != "" && st.CurrentRevision != st.UpdateRevision) {
		return Readiness{Summary: fmt.Sprintf("%d/%d updated", st.UpdatedReplicas, want)}
	}
	if st.ReadyReplicas < want {
		return Readiness{Summary: summary}
	}
	return Readiness{Ready: true, Summary: summary}
}

// jobReadiness is ready when the Job completed and failed when it gave up.
func jobReadiness(j *batchv1.Job) Readiness {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return Readiness{Ready: true, Summary: "complete"}
		case batchv1.JobFailed:
			return Readiness{Failed: true, Summary: "failed: " + c.Message}
		}
	}
	return Readiness{Summary: fmt.Sprintf("%d active, %d succeeded", j.Status.Active, j.Status.Succeeded)}
}

// crdReadiness is ready when the API server established the CRD's names.
func crdReadiness(crd *unstructured.Unstructured) Readiness {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, raw := range conds {
		c, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		if c["type"] == "NamesAccepted" && c["status"] == "False" {
			return Readiness{Failed: true, Summary: fmt.Sprintf("names not accepted: %v", c["message"])}
		}
		if c["type"] == "Established" && c["status"] == "True" {
			return Readiness{Ready: true, Summary: "established"}
		}
	}
	return Readiness{Summary: "not established yet"}
}
