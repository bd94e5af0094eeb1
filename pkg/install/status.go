package install

import (
	"context"
	"errors"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// ErrNotInstalled is returned by Status when the release does not exist.
var ErrNotInstalled = errors.New("release is not installed")

// ReleaseStatus is what Status reports.
type ReleaseStatus struct {
	Name         string
	Namespace    string
	Revision     int
	State        release.Status
	ChartVersion string
	Updated      time.Time
	Components   []ComponentStatus
}

// Healthy reports whether the release is deployed and every component ready.
func (r *ReleaseStatus) Healthy() bool {
	if r.State != release.StatusDeployed {
		return false
	}
	for _, c := range r.Components {
		if !c.Ready {
			return false
		}
	}
	return true
}

// Status reads the release and the readiness of each of its components. It
// writes nothing. opts.Chart is not needed.
func Status(ctx context.Context, opts Options) (*ReleaseStatus, error) {
	s, err := newSession(ctx, opts)
	if err != nil {
		return nil, err
	}
	rel, err := s.cfg.Releases.Last(s.opts.ReleaseName)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, fmt.Errorf("%s in namespace %s: %w", s.opts.ReleaseName, s.opts.Namespace, ErrNotInstalled)
	}
	if err != nil {
		return nil, fmt.Errorf("reading release %s: %w", s.opts.ReleaseName, err)
	}
	st := &ReleaseStatus{Name: rel.Name, Namespace: rel.Namespace, Revision: rel.Version}
	if rel.Info != nil {
		st.State = rel.Info.Status
		st.Updated = rel.Info.LastDeployed.Time
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		st.ChartVersion = rel.Chart.Metadata.Version
	}
	workloads, err := releaseWorkloads(rel, s.opts.Namespace)
	if err != nil {
		return nil, err
	}
	st.Components, err = s.clients.CheckAll(ctx, workloads)
	if err != nil {
		return nil, err
	}
	return st, nil
}
