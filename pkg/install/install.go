// Package install installs, inspects and removes the epks-addons release in a
// cluster with the Helm v3 SDK (no helm binary), and waits for every component
// to become ready, reporting progress a person can follow.
//
// Install is an upgrade-or-install that is idempotent and atomic:
//   - when the rendered manifest, the values and the chart equal what the
//     deployed release holds, nothing is written to the cluster;
//   - when applying or waiting fails, the release goes back to its previous
//     revision (or is removed when there was none), after the failure was
//     diagnosed from the pods and events of the component that failed; a
//     revision that this run did not create is never rolled back or removed;
//   - one run at a time: a Lease <release>-lock in the release namespace,
//     renewed while the run lasts, serializes epks runs; a release left
//     pending by a run that was killed is rolled back to its last deployed
//     revision;
//   - the workloads that mount a Secret the upgrade changed are restarted, as
//     `kubectl rollout restart` does: no pod annotation is derived from a
//     secret.
package install

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/postrender"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/pkg/render"
)

const (
	// DefaultTimeout bounds how long Install waits for components.
	DefaultTimeout = 10 * time.Minute
	// maxHistory is how many release revisions Helm keeps.
	maxHistory = 10

	// managedByLabel marks a namespace that epks created, so that Uninstall
	// removes only namespaces it owns.
	managedByLabel = "app.kubernetes.io/managed-by"
	managedByValue = "epks"
)

// Options configure Install, Status and Uninstall.
type Options struct {
	// Getter gives the clients of the target cluster (kubeconfig, context).
	Getter genericclioptions.RESTClientGetter
	// Namespace of the release [names.Namespace].
	Namespace string
	// ReleaseName [names.Release].
	ReleaseName string
	// Chart and Values are what to install.
	Chart  *chart.Chart
	Values map[string]any
	// PostRenderer, when set, changes the rendered manifests (kustomize).
	PostRenderer postrender.PostRenderer
	// Timeout bounds the whole wait for readiness [DefaultTimeout].
	Timeout time.Duration
	// PollInterval is how often readiness is read [2s].
	PollInterval time.Duration
	// Reapply upgrades even when nothing changed, to repair drift.
	Reapply bool
	// LockTimeout is how long to wait while another run holds the release's
	// lock [0: fail at once when it is held]. DefaultLockTimeout is the CLI's.
	LockTimeout time.Duration
	// Progress receives progress [Discard].
	Progress Progress
}

func (o *Options) defaults() {
	if o.Namespace == "" {
		o.Namespace = names.Namespace
	}
	if o.ReleaseName == "" {
		o.ReleaseName = names.Release
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.PollInterval == 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.Progress == nil {
		o.Progress = Discard{}
	}
}

// Result tells what Install did.
type Result struct {
	// Revision is the release revision now deployed.
	Revision int
	// Changed is false when the cluster already held this release and
	// nothing was written.
	Changed bool
	// Components is the readiness of every component at the end.
	Components []ComponentStatus
	// Elapsed is how long the wait took.
	Elapsed time.Duration
	// CRDs tells which CRDs were created or reused, and whether another
	// snapshot-controller was found.
	CRDs *CRDReport
	// Recovered says how a release left pending by an interrupted run was
	// recovered, or is empty.
	Recovered string
	// Restarted are the workloads restarted because Secrets they mount changed.
	Restarted []Restart
}

// ComponentFailure describes one component that did not become ready.
type ComponentFailure struct {
	Component string
	Summary   string
	// Reasons are lines from the pods and events of the component.
	Reasons []string
}

// FailedError is returned when the release could not be applied or did not
// become ready. The release was restored before it is returned.
type FailedError struct {
	// Cause is what went wrong: an apply error, a timeout, or a failed workload.
	Cause error
	// Failures are the components that were not ready, with their reasons.
	Failures []ComponentFailure
	// Restored says what was done about it, e.g. "rolled back to revision 3".
	Restored string
}

func (e *FailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "install failed: %v", e.Cause)
	for _, f := range e.Failures {
		fmt.Fprintf(&b, "\n  component %s is not ready: %s", f.Component, f.Summary)
		for _, r := range f.Reasons {
			fmt.Fprintf(&b, "\n    %s", r)
		}
	}
	if e.Restored != "" {
		fmt.Fprintf(&b, "\n%s", e.Restored)
	}
	return b.String()
}

func (e *FailedError) Unwrap() error { return e.Cause }

// session is one Install, Status or Uninstall against a cluster.
type session struct {
	opts Options
	// log is the logger of the caller's context: Helm's debug log at
	// V(4) (names of objects, never values), retried errors at V(1).
	log     logr.Logger
	cfg     *action.Configuration
	clients Clients
	// runID names this run: the holder of the lock, and the runLabel of
	// the revisions it creates.
	runID string
}

// runLabel is the Helm release label (in the release record, not on
// objects) naming the run that created a revision: restore touches only
// revisions that carry its own runID.
const runLabel = "epks-run"

func newSession(ctx context.Context, opts Options) (*session, error) {
	opts.defaults()
	if opts.Getter == nil {
		return nil, errors.New("no cluster: a kubeconfig is required")
	}
	rc, err := opts.Getter.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("creating Kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("creating Kubernetes client: %w", err)
	}
	log := logr.FromContextOrDiscard(ctx)
	helmLog := log.WithName("helm").V(4)
	cfg := &action.Configuration{}
	err = cfg.Init(opts.Getter, opts.Namespace, "secret", func(format string, args ...any) {
		if helmLog.Enabled() {
			helmLog.Info(fmt.Sprintf(format, args...))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("initializing Helm: %w", err)
	}
	return &session{opts: opts, log: log, cfg: cfg, clients: Clients{Kube: kube, Dynamic: dyn}, runID: newRunID()}, nil
}

// Install applies the chart as release opts.ReleaseName (upgrade or install),
// then waits until every component is ready. See the package doc for its
// idempotence and atomicity.
func Install(ctx context.Context, opts Options) (*Result, error) {
	if opts.Chart == nil {
		return nil, errors.New("no chart to install")
	}
	s, err := newSession(ctx, opts)
	if err != nil {
		return nil, err
	}
	return s.install(ctx)
}

func (s *session) install(ctx context.Context) (*Result, error) {
	o := s.opts
	if err := s.step("Ensuring namespace "+o.Namespace, func() error { return s.ensureNamespace(ctx) }); err != nil {
		return nil, err
	}
	ctx, unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	res := &Result{}
	h, err := s.readHistory()
	if err != nil {
		return nil, err
	}
	if h.last != nil && h.last.Info != nil && h.last.Info.Status.IsPending() {
		if err := s.step(fmt.Sprintf("Recovering release %s: revision %d was left %s by a run that did not finish",
			o.ReleaseName, h.last.Version, h.last.Info.Status), func() (err error) {
			res.Recovered, err = s.recover(h)
			return err
		}); err != nil {
			return nil, err
		}
		if h, err = s.readHistory(); err != nil {
			return nil, err
		}
	}
	err = s.step("Ensuring CustomResourceDefinitions", func() (err error) {
		res.CRDs, err = s.ensureCRDs(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(res.CRDs.Reused) > 0 {
		o.Progress.Step(fmt.Sprintf("Reusing %d CRDs installed by someone else (they serve the versions the chart needs; never purged): %s",
			len(res.CRDs.Reused), strings.Join(res.CRDs.Reused, ", ")))
		o.Progress.StepDone(nil)
	}
	// The chart's default is enabled.
	if enabled, set := nestedBool(o.Values, "snapshotController", "enabled"); enabled || !set {
		if err := s.step("Looking for a snapshot-controller installed by someone else", func() (err error) {
			res.CRDs.SnapshotController, err = s.foreignSnapshotController(ctx)
			return err
		}); err != nil {
			return nil, err
		}
		if sc := res.CRDs.SnapshotController; sc != "" {
			o.Progress.Step("Found snapshot-controller Deployment " + sc + ", not this release's: not running a second one (snapshotController.enabled=false)")
			o.Progress.StepDone(nil)
			o.Values = withoutSnapshotController(o.Values)
			s.opts.Values = o.Values
		}
	}

	current := h.deployed
	if h.last != current {
		current = nil // the newest revision is failed or superseded: upgrade over it
	}
	var applied *release.Release
	changed := true
	if current != nil && !o.Reapply {
		var same bool
		if err := s.step("Comparing with release "+o.ReleaseName+" revision "+fmt.Sprint(current.Version), func() (err error) {
			same, err = s.sameAsDeployed(ctx, current)
			return err
		}); err != nil {
			return nil, err
		}
		if same {
			changed, applied = false, current
		}
	}
	if changed {
		verb := "Installing"
		if h.last != nil {
			verb = "Upgrading"
		}
		err := s.step(fmt.Sprintf("%s release %s in namespace %s", verb, o.ReleaseName, o.Namespace), func() (err error) {
			applied, err = s.apply(ctx, h.last)
			return err
		})
		if err != nil {
			return res, s.restore(ctx, h, err, nil)
		}
		if h.last != nil {
			res.Restarted, err = s.restartForSecrets(ctx, h.last.Manifest, applied.Manifest)
			if err != nil {
				return res, s.restore(ctx, h, err, nil)
			}
		}
	} else {
		o.Progress.Step("Release " + o.ReleaseName + " is up to date, nothing to change")
		o.Progress.StepDone(nil)
	}

	workloads, err := releaseWorkloads(applied, o.Namespace)
	if err != nil {
		return res, err
	}
	var statuses []ComponentStatus
	start := time.Now()
	err = s.step(fmt.Sprintf("Waiting for %d components", len(Components(workloads))), func() (err error) {
		statuses, err = s.wait(ctx, workloads)
		return err
	})
	res.Revision, res.Changed, res.Components, res.Elapsed = applied.Version, changed, statuses, time.Since(start)
	if err != nil {
		failures := s.diagnose(ctx, statuses)
		if !changed {
			// Nothing was written, so there is nothing to roll back.
			return res, &FailedError{Cause: err, Failures: failures}
		}
		return res, s.restore(ctx, h, err, failures)
	}
	return res, nil
}

// history is what the release storage held when this run took the lock.
type history struct {
	// last is the newest revision, nil when there is none (or it was
	// uninstalled).
	last *release.Release
	// lastVersion is the newest revision number, 0 when there is none.
	lastVersion int
	// deployed is the deployed revision, nil when none is.
	deployed *release.Release
}

func (s *session) readHistory() (history, error) {
	var h history
	last, err := s.cfg.Releases.Last(s.opts.ReleaseName)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("reading release %s: %w", s.opts.ReleaseName, err)
	}
	h.lastVersion = last.Version
	if last.Info != nil && last.Info.Status == release.StatusUninstalled {
		return h, nil
	}
	h.last = last
	if last.Info != nil && last.Info.Status == release.StatusDeployed {
		h.deployed = last
		return h, nil
	}
	deployed, err := s.cfg.Releases.Deployed(s.opts.ReleaseName)
	switch {
	case err == nil:
		h.deployed = deployed
	case !errors.Is(err, driver.ErrNoDeployedReleases) && !errors.Is(err, driver.ErrReleaseNotFound):
		return h, fmt.Errorf("reading release %s: %w", s.opts.ReleaseName, err)
	}
	return h, nil
}

// recover ends a pending revision that a killed run left: the release goes
// back to its last deployed revision. With none (a first install was
// killed), the pending revision is marked failed and the install goes on over
// it. The release is never uninstalled: that would tear down pod networking.
func (s *session) recover(h history) (string, error) {
	if h.deployed != nil {
		rb := action.NewRollback(s.cfg)
		rb.Version = h.deployed.Version
		rb.MaxHistory = maxHistory
		rb.Timeout = 2 * time.Minute
		if err := rb.Run(s.opts.ReleaseName); err != nil {
			return "", fmt.Errorf("rolling back to revision %d: %w", h.deployed.Version, err)
		}
		return fmt.Sprintf("revision %d was left %s by an interrupted run; rolled back to revision %d",
			h.last.Version, h.last.Info.Status, h.deployed.Version), nil
	}
	h.last.SetStatus(release.StatusFailed, "left "+string(h.last.Info.Status)+" by an interrupted run; marked failed by epks")
	if err := s.cfg.Releases.Update(h.last); err != nil {
		return "", fmt.Errorf("marking revision %d failed: %w", h.last.Version, err)
	}
	return fmt.Sprintf("revision %d was left %s by an interrupted run and no revision was deployed; marked it failed, installing over it",
		h.last.Version, release.StatusPendingInstall), nil
}

func nestedBool(m map[string]any, keys ...string) (bool, bool) {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return false, false
		}
		cur, ok = mm[k]
		if !ok {
			return false, false
		}
	}
	b, ok := cur.(bool)
	return b, ok
}

// step runs fn as one reported step.
func (s *session) step(msg string, fn func() error) error {
	s.opts.Progress.Step(msg)
	err := fn()
	s.opts.Progress.StepDone(err)
	return err
}

// ensureNamespace creates the release namespace, labelled as ours, when it
// does not exist.
func (s *session) ensureNamespace(ctx context.Context) error {
	nsClient := s.clients.Kube.CoreV1().Namespaces()
	_, err := nsClient.Get(ctx, s.opts.Namespace, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading namespace %s: %w", s.opts.Namespace, err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   s.opts.Namespace,
		Labels: map[string]string{managedByLabel: managedByValue},
	}}
	if _, err := nsClient.Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", s.opts.Namespace, err)
	}
	return nil
}

// sameAsDeployed renders the upgrade without applying it and compares it with
// the deployed release.
func (s *session) sameAsDeployed(ctx context.Context, current *release.Release) (bool, error) {
	if current.Info == nil || current.Info.Status != release.StatusDeployed {
		return false, nil
	}
	up := s.newUpgrade()
	up.DryRun = true
	dry, err := up.RunWithContext(ctx, s.opts.ReleaseName, s.opts.Chart, s.opts.Values)
	if err != nil {
		return false, fmt.Errorf("rendering release: %w", err)
	}
	return dry.Manifest == current.Manifest &&
		sameValues(dry.Config, current.Config) &&
		sameChart(dry.Chart, current.Chart), nil
}

// sameValues compares values as Helm stores them: JSON, where every number
// is a float64.
func sameValues(a, b map[string]any) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	na, errA := normalizeJSON(a)
	nb, errB := normalizeJSON(b)
	return errA == nil && errB == nil && reflect.DeepEqual(na, nb)
}

func normalizeJSON(v map[string]any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(data, &out)
	return out, err
}

func sameChart(a, b *chart.Chart) bool {
	if a == nil || b == nil || a.Metadata == nil || b.Metadata == nil {
		return a == b
	}
	return a.Metadata.Name == b.Metadata.Name && a.Metadata.Version == b.Metadata.Version
}

func (s *session) newUpgrade() *action.Upgrade {
	up := action.NewUpgrade(s.cfg)
	up.Namespace = s.opts.Namespace
	up.MaxHistory = maxHistory
	up.PostRenderer = s.opts.PostRenderer
	up.Timeout = s.opts.Timeout
	up.Labels = map[string]string{runLabel: s.runID}
	return up
}

// apply installs the release, or upgrades over last. It does not wait: the
// readiness wait is ours, with progress and diagnosis.
func (s *session) apply(ctx context.Context, last *release.Release) (*release.Release, error) {
	if last == nil {
		// No Replace: it would supersede a revision another run is creating.
		in := action.NewInstall(s.cfg)
		in.Namespace = s.opts.Namespace
		in.ReleaseName = s.opts.ReleaseName
		in.PostRenderer = s.opts.PostRenderer
		in.Timeout = s.opts.Timeout
		in.Labels = map[string]string{runLabel: s.runID}
		return in.RunWithContext(ctx, s.opts.Chart, s.opts.Values)
	}
	return s.newUpgrade().RunWithContext(ctx, s.opts.ReleaseName, s.opts.Chart, s.opts.Values)
}

// wait polls readiness until every component is ready, one failed for good,
// or the timeout passed.
func (s *session) wait(ctx context.Context, workloads []Workload) ([]ComponentStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	start := time.Now()
	tick := time.NewTicker(s.opts.PollInterval)
	defer tick.Stop()
	var last []ComponentStatus
	for {
		statuses, err := s.clients.CheckAll(ctx, workloads)
		if err == nil {
			last = statuses
			s.opts.Progress.Components(statuses, time.Since(start))
			ready := true
			for _, st := range statuses {
				if st.Failed {
					return last, fmt.Errorf("component %s failed: %s", st.Name, st.Summary())
				}
				ready = ready && st.Ready
			}
			if ready {
				return last, nil
			}
		} else if ctx.Err() == nil {
			s.log.V(1).Info("reading readiness failed; retrying", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return last, fmt.Errorf("components not ready after %s", s.opts.Timeout)
			}
			return last, ctx.Err()
		case <-tick.C:
		}
	}
}

// diagnose explains every component that is not ready.
func (s *session) diagnose(ctx context.Context, statuses []ComponentStatus) []ComponentFailure {
	// The caller's context may be what ended the wait; diagnosis gets its own.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var out []ComponentFailure
	for _, st := range statuses {
		if st.Ready {
			continue
		}
		f := ComponentFailure{Component: st.Name, Summary: st.Summary()}
		for _, w := range st.Workloads {
			if !w.Ready {
				f.Reasons = append(f.Reasons, s.clients.Diagnose(dctx, w.Workload)...)
			}
		}
		out = append(out, f)
	}
	return out
}

// restore puts the release back as it was before this Install, and only if
// this run created a revision: the deployed revision, or no release at all
// when there was none before this run. With neither, the failed revision is
// left for the next run.
func (s *session) restore(ctx context.Context, h history, cause error, failures []ComponentFailure) error {
	fe := &FailedError{Cause: cause, Failures: failures}
	newest, err := s.cfg.Releases.Last(s.opts.ReleaseName)
	if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		fe.Restored = fmt.Sprintf("reading the release to restore it failed: %v", err)
		return fe
	}
	if newest == nil || newest.Version <= h.lastVersion || newest.Labels[runLabel] != s.runID {
		fe.Restored = "this run created no revision of the release, so nothing was rolled back or removed"
		return fe
	}
	switch {
	case h.deployed != nil:
		err := s.step(fmt.Sprintf("Rolling back to revision %d", h.deployed.Version), func() error {
			rb := action.NewRollback(s.cfg)
			rb.Version = h.deployed.Version
			rb.MaxHistory = maxHistory
			rb.Timeout = 2 * time.Minute
			if err := rb.Run(s.opts.ReleaseName); err != nil {
				return err
			}
			// Secrets went back too: restart what mounts them, again.
			_, err := s.restartForSecrets(ctx, newest.Manifest, h.deployed.Manifest)
			return err
		})
		if err != nil {
			fe.Restored = fmt.Sprintf("rolling back to revision %d also failed: %v", h.deployed.Version, err)
		} else {
			fe.Restored = fmt.Sprintf("rolled back to revision %d", h.deployed.Version)
		}
	case h.lastVersion == 0:
		err := s.step("Removing the failed release "+s.opts.ReleaseName, func() error {
			un := action.NewUninstall(s.cfg)
			un.Wait = true
			un.Timeout = 2 * time.Minute
			un.IgnoreNotFound = true
			_, err := un.Run(s.opts.ReleaseName)
			return err
		})
		if err != nil {
			fe.Restored = fmt.Sprintf("removing the failed release also failed: %v", err)
		} else {
			fe.Restored = "the failed release was removed; nothing of it is left but the CRDs"
		}
	default:
		fe.Restored = fmt.Sprintf("no revision of the release was deployed before this run, so revision %d is left failed for the next run (it is not removed: revisions %d and older were not this run's)",
			newest.Version, h.lastVersion)
	}
	return fe
}

// releaseWorkloads returns the workloads of a release's manifest and of its
// chart's CRDs.
func releaseWorkloads(rel *release.Release, namespace string) ([]Workload, error) {
	objects, err := render.Objects(rel.Manifest)
	if err != nil {
		return nil, err
	}
	if rel.Chart != nil {
		for _, crd := range rel.Chart.CRDObjects() {
			objs, err := render.Objects(string(crd.File.Data))
			if err != nil {
				return nil, fmt.Errorf("parsing %s: %w", crd.Filename, err)
			}
			objects = append(objects, objs...)
		}
	}
	return WorkloadsOf(objects, namespace), nil
}
