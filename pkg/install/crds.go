package install

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// ensureCRDs creates the chart's CRDs that the cluster lacks. Helm creates
// them only on the first install; a chart upgrade that brings a new CRD needs
// this. Existing CRDs are left as they are: they may serve objects that other
// installations made.
func (s *session) ensureCRDs(ctx context.Context) error {
	crds, err := s.chartCRDs()
	if err != nil {
		return err
	}
	client := s.clients.Dynamic.Resource(crdResource)
	for _, crd := range crds {
		_, err := client.Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading CRD %s: %w", crd.GetName(), err)
		}
		if _, err := client.Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating CRD %s: %w", crd.GetName(), err)
		}
	}
	return nil
}

// deleteCRDs deletes the chart's CRDs, and with them every object of their kinds.
func (s *session) deleteCRDs(ctx context.Context) ([]string, error) {
	crds, err := s.chartCRDs()
	if err != nil {
		return nil, err
	}
	var deleted []string
	client := s.clients.Dynamic.Resource(crdResource)
	for _, crd := range crds {
		err := client.Delete(ctx, crd.GetName(), metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return deleted, fmt.Errorf("deleting CRD %s: %w", crd.GetName(), err)
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
				return deleted, fmt.Errorf("CRD %s still terminating: %w", name, ctx.Err())
			case <-time.After(s.opts.PollInterval):
			}
		}
	}
	return deleted, nil
}
