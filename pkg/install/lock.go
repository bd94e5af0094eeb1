package install

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const (
	// lockSuffix names the Lease that serializes epks runs on one release:
	// <release>-lock in the release namespace.
	lockSuffix = "-lock"
	// leaseDuration is how long a lock lasts without renewal: a killed run
	// frees it after this long.
	leaseDuration = 30 * time.Second
	// renewInterval is how often the holder renews its lock.
	renewInterval = 10 * time.Second
	// DefaultLockTimeout is how long a run waits for another run's lock.
	DefaultLockTimeout = 5 * time.Minute
)

// LockedError is returned when another run held the release's lock for the
// whole lock timeout.
type LockedError struct {
	// Lease is namespace/name of the lock.
	Lease string
	// Holder identifies the other run (host/pid/nonce).
	Holder string
	// Since is when the other run took the lock.
	Since time.Time
	// Waited is how long this run waited.
	Waited time.Duration
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("another epks run holds the lock of the release (Lease %s, holder %s, since %s); waited %s: "+
		"wait for it to finish and run again, or give a longer --lock-timeout. Nothing was changed",
		e.Lease, e.Holder, e.Since.UTC().Format(time.RFC3339), e.Waited.Round(time.Second))
}

// ErrLockLost is the cause of the context cancellation when the lock could
// not be renewed.
var ErrLockLost = errors.New("the release lock was lost (could not renew the Lease)")

// releaseLock is a held Lease.
type releaseLock struct {
	s      *session
	name   string
	holder string
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// newRunID returns a random identity of one run, usable as a label value.
func newRunID() string {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	return hex.EncodeToString(nonce[:])
}

// holderOf names a run as a Lease holder: host, pid and its run ID, so that
// two runs on one host never share an identity.
func holderOf(runID string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("epks@%s/pid-%d/%s", host, os.Getpid(), runID)
}

// lock takes the release's Lease, waiting up to opts.LockTimeout while another
// run holds it and has renewed it within leaseDuration. The returned context is
// cancelled (cause ErrLockLost) if the lock cannot be renewed; unlock releases
// it.
func (s *session) lock(ctx context.Context) (context.Context, func(), error) {
	name := s.opts.ReleaseName + lockSuffix
	leases := s.clients.Kube.CoordinationV1().Leases(s.opts.Namespace)
	holder := holderOf(s.runID)
	start := time.Now()
	deadline := start.Add(s.opts.LockTimeout)
	waiting := ""
	for {
		now := time.Now()
		l, err := leases.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: s.opts.Namespace,
				Labels: map[string]string{managedByLabel: managedByValue},
			}}
			fillLease(l, holder, now, true)
			_, err = leases.Create(ctx, l, metav1.CreateOptions{})
			if err == nil {
				return s.held(ctx, name, holder, waiting)
			}
			if !apierrors.IsAlreadyExists(err) {
				return nil, nil, fmt.Errorf("taking the lock (Lease %s/%s): %w", s.opts.Namespace, name, err)
			}
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("reading the lock (Lease %s/%s): %w", s.opts.Namespace, name, err)
		}
		other := ptrValue(l.Spec.HolderIdentity)
		if other == "" || leaseExpired(l, now) {
			fillLease(l, holder, now, true)
			_, err := leases.Update(ctx, l, metav1.UpdateOptions{})
			if err == nil {
				return s.held(ctx, name, holder, waiting)
			}
			if !apierrors.IsConflict(err) {
				return nil, nil, fmt.Errorf("taking the lock (Lease %s/%s): %w", s.opts.Namespace, name, err)
			}
			continue
		}
		if other != waiting {
			if waiting != "" {
				s.opts.Progress.StepDone(nil)
			}
			waiting = other
			s.opts.Progress.Step(fmt.Sprintf("Waiting for another epks run to finish: %s holds the lock (Lease %s/%s) since %s",
				other, s.opts.Namespace, name, leaseSince(l).UTC().Format(time.RFC3339)))
		}
		if !now.Before(deadline) {
			lerr := &LockedError{Lease: s.opts.Namespace + "/" + name, Holder: other, Since: leaseSince(l), Waited: now.Sub(start)}
			s.opts.Progress.StepDone(lerr)
			return nil, nil, lerr
		}
		select {
		case <-ctx.Done():
			s.opts.Progress.StepDone(ctx.Err())
			return nil, nil, ctx.Err()
		case <-time.After(min(s.opts.PollInterval, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// held starts the renewal of a taken lock.
func (s *session) held(ctx context.Context, name, holder, waited string) (context.Context, func(), error) {
	if waited != "" {
		s.opts.Progress.StepDone(nil)
	}
	lctx, cancel := context.WithCancelCause(ctx)
	l := &releaseLock{s: s, name: name, holder: holder, cancel: cancel, done: make(chan struct{})}
	go l.renew(lctx)
	return lctx, l.unlock, nil
}

// renew renews the Lease until ctx ends; a Lease taken over by another holder,
// or not renewed for leaseDuration, cancels ctx.
func (l *releaseLock) renew(ctx context.Context) {
	defer close(l.done)
	leases := l.s.clients.Kube.CoordinationV1().Leases(l.s.opts.Namespace)
	lastRenew := time.Now()
	t := time.NewTicker(renewInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := func() error {
			rctx, cancel := context.WithTimeout(ctx, renewInterval)
			defer cancel()
			cur, err := leases.Get(rctx, l.name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if ptrValue(cur.Spec.HolderIdentity) != l.holder {
				return fmt.Errorf("%w: taken over by %s", ErrLockLost, ptrValue(cur.Spec.HolderIdentity))
			}
			fillLease(cur, l.holder, time.Now(), false)
			_, err = leases.Update(rctx, cur, metav1.UpdateOptions{})
			return err
		}()
		switch {
		case err == nil:
			lastRenew = time.Now()
		case errors.Is(err, ErrLockLost):
			l.cancel(err)
			return
		case time.Since(lastRenew) >= leaseDuration:
			l.cancel(fmt.Errorf("%w: %v", ErrLockLost, err))
			return
		default:
			l.s.log.V(1).Info("renewing the lock failed; retrying", "lease", l.name, "error", err.Error())
		}
	}
}

// unlock stops the renewal and deletes the Lease if this run still holds it.
func (l *releaseLock) unlock() {
	l.cancel(nil)
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leases := l.s.clients.Kube.CoordinationV1().Leases(l.s.opts.Namespace)
	cur, err := leases.Get(ctx, l.name, metav1.GetOptions{})
	if err != nil || ptrValue(cur.Spec.HolderIdentity) != l.holder {
		return
	}
	uid, rv := cur.UID, cur.ResourceVersion
	err = leases.Delete(ctx, l.name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: (*types.UID)(&uid), ResourceVersion: &rv}})
	if err != nil && !apierrors.IsNotFound(err) {
		l.s.log.V(1).Info("releasing the lock failed; it expires", "lease", l.name, "error", err.Error())
	}
}

func fillLease(l *coordinationv1.Lease, holder string, now time.Time, acquire bool) {
	secs := int32(leaseDuration / time.Second)
	t := metav1.NewMicroTime(now)
	l.Spec.HolderIdentity = &holder
	l.Spec.LeaseDurationSeconds = &secs
	l.Spec.RenewTime = &t
	if acquire {
		l.Spec.AcquireTime = &t
	}
}

// leaseExpired tells whether the holder stopped renewing l: its last renewal
// (or acquisition) is older than its duration.
func leaseExpired(l *coordinationv1.Lease, now time.Time) bool {
	last := l.Spec.RenewTime
	if last == nil {
		last = l.Spec.AcquireTime
	}
	if last == nil || l.Spec.LeaseDurationSeconds == nil {
		return true
	}
	return now.After(last.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second))
}

func leaseSince(l *coordinationv1.Lease) time.Time {
	if l.Spec.AcquireTime != nil {
		return l.Spec.AcquireTime.Time
	}
	return time.Time{}
}

func ptrValue(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
