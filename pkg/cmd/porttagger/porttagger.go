// Package porttagger is the epks-port-tagger command line: flags, the
// controller-runtime manager with leader election, metrics and health
// probes, and the tagger's controller.
package porttagger

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/epks/epks/pkg/logging"
	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/pkg/tagger"
)

type flags struct {
	config, cloudConfig, kubeconfig string
	leaderElect                     bool
	leaderNamespace, leaderID       string
	leaderIdentity                  string
	leaseDuration, renewDeadline    time.Duration
	retryPeriod                     time.Duration
	metricsAddress, probeAddress    string
	pprofAddress                    string
	version                         bool
}

// Main runs the tagger until ctx ends. It returns 2 for bad flags or
// configuration, 1 when it fails.
func Main(ctx context.Context, args []string, errOut io.Writer) int {
	fs := flag.NewFlagSet("epks-port-tagger", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var f flags
	fs.StringVar(&f.config, "config", "/etc/epks-port-tagger/config.yaml", "configuration file (cluster name, NSX managers, pod network)")
	fs.StringVar(&f.cloudConfig, "cloud-config", "/etc/config/cloud.conf", "cloud.conf with the OpenStack credentials")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig; empty: in-cluster configuration")
	fs.BoolVar(&f.leaderElect, "leader-elect", true, "elect a leader, so that one of several replicas tags at a time")
	fs.StringVar(&f.leaderNamespace, "leader-election-namespace", "", "namespace of the leader election Lease [the pod's namespace]")
	fs.StringVar(&f.leaderID, "leader-election-id", "epks-port-tagger", "name of the leader election Lease")
	fs.StringVar(&f.leaderIdentity, "leader-election-identity", "", "holder identity written in the Lease, unique per replica (the chart: the pod name) [<hostname>_<random>]")
	fs.DurationVar(&f.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long a leader's lease lasts without renewal")
	fs.DurationVar(&f.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader tries to renew before giving up")
	fs.DurationVar(&f.retryPeriod, "leader-elect-retry-period", 2*time.Second, "how often candidates try to become leader")
	fs.StringVar(&f.metricsAddress, "metrics-bind-address", ":10271", "address of the Prometheus metrics endpoint (0 disables); on the node's network in the chart")
	fs.StringVar(&f.probeAddress, "health-probe-bind-address", ":10272", "address of /healthz and /readyz")
	fs.StringVar(&f.pprofAddress, "pprof-bind-address", "", "address of Go's /debug/pprof profiles; empty: off")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	logOpts := logging.Options{Format: logging.JSON}
	logOpts.AddGoFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(errOut, `epks-port-tagger tags the NSX port of each node's pod NIC with ncp/node_name=<node> and
ncp/cluster=<cluster>, so that NCP finds the nodes' container networks. It reads its
configuration from the epks-addons chart's ConfigMap, NSX credentials from the NSX Secret and
OpenStack credentials from cloud.conf.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if f.version {
		fmt.Fprintln(errOut, "epks-port-tagger", names.Version)
		return 0
	}
	logger, err := logging.New(errOut, logOpts)
	if err != nil {
		fmt.Fprintln(errOut, "Error:", err)
		return 2
	}
	ctrl.SetLogger(logger)
	ctx = logr.NewContext(ctx, logger)
	cfg, err := tagger.LoadConfig(f.config)
	if err != nil {
		fmt.Fprintln(errOut, "Error:", err)
		return 2
	}
	if err := run(ctx, f, cfg); err != nil {
		logger.Error(err, "epks-port-tagger failed")
		return 1
	}
	return 0
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		return rest.InClusterConfig()
	}
	return clientcmd.BuildConfigFromFlags("", kubeconfig)
}

// leaseLock is controller-runtime's Lease lock with an identity of ours:
// the Lease then names the replica that leads.
func leaseLock(rc *rest.Config, f flags) (resourcelock.Interface, error) {
	ns := f.leaderNamespace
	if ns == "" {
		data, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
		if err != nil {
			return nil, fmt.Errorf("--leader-election-namespace is not set and the pod's namespace is unknown: %w", err)
		}
		ns = strings.TrimSpace(string(data))
	}
	lc := rest.AddUserAgent(rest.CopyConfig(rc), "leader-election")
	// One hung request must not outlast the renew deadline.
	lc.Timeout = max(f.renewDeadline/2, time.Second)
	cs, err := kubernetes.NewForConfig(lc)
	if err != nil {
		return nil, err
	}
	return resourcelock.New(resourcelock.LeasesResourceLock, ns, f.leaderID, cs.CoreV1(), cs.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: f.leaderIdentity})
}

func run(ctx context.Context, f flags, cfg *tagger.Config) error {
	rc, err := restConfig(f.kubeconfig)
	if err != nil {
		return fmt.Errorf("Kubernetes client configuration: %w", err)
	}
	rc.UserAgent = "epks-port-tagger/" + names.Version
	var lock resourcelock.Interface
	if f.leaderElect && f.leaderIdentity != "" {
		if lock, err = leaseLock(rc, f); err != nil {
			return err
		}
	}
	mgr, err := ctrl.NewManager(rc, ctrl.Options{
		LeaderElectionResourceLockInterface: lock,
		LeaderElection:                      f.leaderElect,
		LeaderElectionID:                    f.leaderID,
		LeaderElectionNamespace:             f.leaderNamespace,
		LeaderElectionReleaseOnCancel:       true,
		LeaseDuration:                       &f.leaseDuration,
		RenewDeadline:                       &f.renewDeadline,
		RetryPeriod:                         &f.retryPeriod,
		Metrics:                             metricsserver.Options{BindAddress: f.metricsAddress},
		HealthProbeBindAddress:              f.probeAddress,
		PprofBindAddress:                    f.pprofAddress,
		// Managed fields and node status (images, conditions, addresses)
		// are large and unused: keep thousands of nodes small.
		Cache: cache.Options{
			DefaultTransform: cache.TransformStripManagedFields(),
			ByObject:         map[client.Object]cache.ByObject{&corev1.Node{}: {Transform: tagger.SlimNode}},
		},
	})
	if err != nil {
		return fmt.Errorf("creating the controller manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	// A standby replica is ready: it waits to lead. Readiness tells only
	// that the process serves.
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := tagger.Setup(ctx, mgr, tagger.Options{Config: cfg, CloudConfig: f.cloudConfig}); err != nil {
		return err
	}
	return mgr.Start(ctx)
}
