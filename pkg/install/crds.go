package install

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/epks/epks/pkg/render"
)

// chartCRDs returns the CustomResourceDefinitions in the chart's crds/.
func (s *session) chartCRDs() ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, f := range s.opts.Chart.CRDObjects() {
		objs, err := render.Objects(string(f.File.Data))
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", f.Filename, err)
		}
		for _, o := range objs {
			if o.GetKind() == "CustomResourceDefinition" {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// CRDReport tells what install found and did about CustomResourceDefinitions
// and the snapshot-controller.
type CRDReport struct {
	// Created are the CRDs this run created (marked as epks's).
	Created []string
	// Reused are CRDs that someone else installed and that serve every
	// version the chart's do; they are used as they are and never purged.
	Reused []string
	// SnapshotController is namespace/name of a snapshot-controller that is
	// not this release's; the chart's own is then not installed.
	SnapshotController string
}

// IncompatibleCRDError is returned when a CRD of the chart's exists, was not
// created by epks, and does not serve a version the chart's objects use.
type IncompatibleCRDError struct {
	Name    string
	Missing []string
	Served  []string
}

func (e *IncompatibleCRDError) Error() string {
	return fmt.Sprintf("CRD %s was installed by someone else and does not serve version(s) %s that the chart uses (it serves %s): "+
		"upgrade it to a release that serves them, or remove it; epks does not overwrite CRDs it did not create",
		e.Name, strings.Join(e.Missing, ", "), strings.Join(e.Served, ", "))
}

// ensureCRDs creates the chart's CRDs that the cluster lacks, marked with
// managedByLabel so that only they are purged. Helm creates them only on the
// first install; a chart upgrade that brings a new CRD needs this. CRDs that
// exist are left as they are: they may serve objects that other installations
// made; one that someone else created must serve every version ours serves.
// It then waits until every CRD is Established and refreshes discovery, so
// that objects of their kinds can be applied in this run.
func (s *session) ensureCRDs(ctx context.Context) (*CRDReport, error) {
	crds, err := s.chartCRDs()
	if err != nil {
		return nil, err
	}
	rep := &CRDReport{}
	client := s.clients.Dynamic.Resource(crdResource)
	for _, crd := range crds {
		existing, err := client.Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err == nil {
			if existing.GetLabels()[managedByLabel] != managedByValue {
				if missing, served := missingVersions(crd, existing); len(missing) > 0 {
					return rep, &IncompatibleCRDError{Name: crd.GetName(), Missing: missing, Served: served}
				}
				rep.Reused = append(rep.Reused, crd.GetName())
			}
			continue
		}
		if !apierrors.IsNotFound(err) {
			return rep, fmt.Errorf("reading CRD %s: %w", crd.GetName(), err)
		}
		crd = crd.DeepCopy()
		labels := crd.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[managedByLabel] = managedByValue
		crd.SetLabels(labels)
		if _, err := client.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			return rep, fmt.Errorf("creating CRD %s: %w", crd.GetName(), err)
		}
		rep.Created = append(rep.Created, crd.GetName())
	}
	if err := s.waitEstablished(ctx, crds); err != nil {
		return rep, err
	}
	return rep, s.refreshDiscovery()
}

// missingVersions returns the versions ours serves that existing does not,
// and the versions existing serves.
func missingVersions(ours, existing *unstructured.Unstructured) (missing, served []string) {
	has := map[string]bool{}
	for _, v := range servedVersions(existing) {
		has[v] = true
		served = append(served, v)
	}
	for _, v := range servedVersions(ours) {
		if !has[v] {
			missing = append(missing, v)
		}
	}
	return missing, served
}

func servedVersions(crd *unstructured.Unstructured) []string {
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var out []string
	for _, v := range versions {
		vm, _ := v.(map[string]any)
		name, _, _ := unstructured.NestedString(vm, "name")
		if served, _, _ := unstructured.NestedBool(vm, "served"); served && name != "" {
			out = append(out, name)
		}
	}
	return out
}

// waitEstablished waits until the API server serves every CRD.
func (s *session) waitEstablished(ctx context.Context, crds []*unstructured.Unstructured) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	client := s.clients.Dynamic.Resource(crdResource)
	for _, crd := range crds {
		for {
			got, err := client.Get(ctx, crd.GetName(), metav1.GetOptions{})
			if err == nil && crdReadiness(got).Ready {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("CRD %s is not Established: %w", crd.GetName(), ctx.Err())
			case <-time.After(s.opts.PollInterval):
			}
		}
	}
	return nil
}

// refreshDiscovery forgets what discovery and the REST mapper cached, so that
// kinds of CRDs created since are found: a mapper that read discovery before
// they existed answers "no matches for kind".
func (s *session) refreshDiscovery() error {
	dc, err := s.opts.Getter.ToDiscoveryClient()
	if err != nil {
		return fmt.Errorf("refreshing discovery: %w", err)
	}
	dc.Invalidate()
	if _, err := dc.ServerGroups(); err != nil {
		return fmt.Errorf("refreshing discovery: %w", err)
	}
	mapper, err := s.opts.Getter.ToRESTMapper()
	if err != nil {
		return fmt.Errorf("refreshing discovery: %w", err)
	}
	if r, ok := mapper.(meta.ResettableRESTMapper); ok {
		r.Reset()
	}
	return nil
}

// snapshotControllerImage is the last path element of the upstream
// snapshot-controller image.
const snapshotControllerImage = "snapshot-controller"

// foreignSnapshotController returns namespace/name of a Deployment that runs
// a snapshot-controller and is not this release's, or "".
func (s *session) foreignSnapshotController(ctx context.Context) (string, error) {
	list, err := s.clients.Kube.AppsV1().Deployments(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("looking for a snapshot-controller: %w", err)
	}
	for _, d := range list.Items {
		if d.Namespace == s.opts.Namespace && d.Labels["app.kubernetes.io/instance"] == s.opts.ReleaseName {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if imageName(c.Image) == snapshotControllerImage {
				return d.Namespace + "/" + d.Name, nil
			}
		}
	}
	return "", nil
}

// imageName returns the last path element of an image reference, without
// tag or digest.
func imageName(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		ref = ref[i+1:]
	}
	if i := strings.Index(ref, ":"); i >= 0 {
		ref = ref[:i]
	}
	return ref
}

// withoutSnapshotController returns a copy of values with
// snapshotController.enabled false.
func withoutSnapshotController(values map[string]any) map[string]any {
	out := make(map[string]any, len(values)+1)
	for k, v := range values {
		out[k] = v
	}
	sc := map[string]any{}
	if m, ok := values["snapshotController"].(map[string]any); ok {
		for k, v := range m {
			sc[k] = v
		}
	}
	sc["enabled"] = false
	out["snapshotController"] = sc
	return out
}

// deleteCRDs deletes the chart's CRDs that epks created (marked with
// managedByLabel), and with them every object of their kinds. CRDs that
// someone else created are kept and returned in kept.
func (s *session) deleteCRDs(ctx context.Context) (deleted, kept []string, err error) {
	crds, err := s.chartCRDs()
	if err != nil {
		return nil, nil, err
	}
	client := s.clients.Dynamic.Resource(crdResource)
	for _, crd := range crds {
		existing, err := client.Get(ctx, crd.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return deleted, kept, fmt.Errorf("reading CRD %s: %w", crd.GetName(), err)
		}
		if existing.GetLabels()[managedByLabel] != managedByValue {
			kept = append(kept, crd.GetName())
			continue
		}
		uid, rv := existing.GetUID(), existing.GetResourceVersion()
		err = client.Delete(ctx, crd.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return deleted, kept, fmt.Errorf("deleting CRD %s: %w", crd.GetName(), err)
		}
		deleted = append(deleted, crd.GetName())
	}
	// A CRD goes once the API server removed every object of its kind.
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	for _, name := range deleted {
		for {
			_, err := client.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			select {
			case <-ctx.Done():
				return deleted, kept, fmt.Errorf("CRD %s still terminating: %w", name, ctx.Err())
			case <-time.After(s.opts.PollInterval):
			}
		}
	}
	return deleted, kept, nil
}
