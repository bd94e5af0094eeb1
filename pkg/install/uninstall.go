package install

import (
	"context"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/action"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UninstallOptions says what Uninstall removes besides the release.
type UninstallOptions struct {
	// PurgeCRDs deletes the chart's CustomResourceDefinitions that epks
	// created, and so every VolumeSnapshot, VolumeSnapshotContent and
	// VolumeSnapshotClass. CRDs someone else created are kept.
	PurgeCRDs bool
}

// UninstallResult tells what Uninstall removed.
type UninstallResult struct {
	ReleaseRemoved   bool
	NamespaceRemoved bool
	CRDsRemoved      []string
	// CRDsKept are the chart's CRDs that epks did not create, left in place.
	CRDsKept []string
}

// Uninstall removes the release and waits until its objects are gone, then the
// namespace when epks created it, then, when asked, the chart's CRDs. It is
// not an error when the release is already gone. It takes the release's lock
// as Install does. opts.Chart is needed only for PurgeCRDs.
func Uninstall(ctx context.Context, opts Options, uo UninstallOptions) (*UninstallResult, error) {
	s, err := newSession(ctx, opts)
	if err != nil {
		return nil, err
	}
	res := &UninstallResult{}
	if err := s.removeRelease(ctx, res); err != nil {
		return res, err
	}
	removed, err := s.removeOwnNamespace(ctx)
	if err != nil {
		return res, err
	}
	res.NamespaceRemoved = removed
	if uo.PurgeCRDs {
		if s.opts.Chart == nil {
			return res, fmt.Errorf("purging CRDs needs the chart")
		}
		err := s.step("Removing CustomResourceDefinitions that epks created", func() (err error) {
			res.CRDsRemoved, res.CRDsKept, err = s.deleteCRDs(ctx)
			return err
		})
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// removeRelease uninstalls the release, under the release's lock, when it
// exists.
func (s *session) removeRelease(ctx context.Context, res *UninstallResult) error {
	if _, err := s.clients.Kube.CoreV1().Namespaces().Get(ctx, s.opts.Namespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return nil // no namespace, no release and no lock
	}
	ctx, unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := s.cfg.Releases.Last(s.opts.ReleaseName); err == nil {
		err := s.step("Removing release "+s.opts.ReleaseName, func() error {
			un := action.NewUninstall(s.cfg)
			un.Wait = true
			un.Timeout = s.opts.Timeout
			_, err := un.Run(s.opts.ReleaseName)
			return err
		})
		if err != nil {
			return fmt.Errorf("removing release %s: %w", s.opts.ReleaseName, err)
		}
		res.ReleaseRemoved = true
	}
	return ctx.Err()
}

// removeOwnNamespace deletes the release namespace when epks created it and
// waits until it is gone.
func (s *session) removeOwnNamespace(ctx context.Context) (bool, error) {
	nsClient := s.clients.Kube.CoreV1().Namespaces()
	ns, err := nsClient.Get(ctx, s.opts.Namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading namespace %s: %w", s.opts.Namespace, err)
	}
	if ns.Labels[managedByLabel] != managedByValue {
		return false, nil
	}
	err = s.step("Removing namespace "+s.opts.Namespace, func() error {
		if err := nsClient.Delete(ctx, s.opts.Namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
		defer cancel()
		for {
			_, err := nsClient.Get(ctx, s.opts.Namespace, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("namespace %s still terminating: %w", s.opts.Namespace, ctx.Err())
			case <-time.After(s.opts.PollInterval):
			}
		}
	})
	if err != nil {
		return false, fmt.Errorf("removing namespace %s: %w", s.opts.Namespace, err)
	}
	return true, nil
}
