// Package testbed brings up a whole epks cluster on this machine, for the
// e2e suite and the demo: viosim for the cloud with what a VIO project has
// before the cluster, `epks cluster create` building the cluster's
// networks, routers, ports, floating IPs and servers from the parameters
// file, the local control plane whose nodes are those servers, created
// uninitialized (as kubelet creates them with an external cloud provider),
// the add-ons installed by epks from the same parameters file, and the
// pods of the components that talk to the cloud run as real processes
// from their upstream binaries: the
// OpenStack cloud controller manager, the cinder CSI controller with its
// sidecars, the snapshot-controller and the port tagger. Their commands,
// configuration, Secrets and RBAC are the chart's (see test/podrun).
//
// The cinder CSI node plugin is not run (kwok nodes mount nothing); the
// testbed registers the driver on each node as the node plugin would
// (a CSINode with the server's id, the zone label).
package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/inputs"
	"github.com/epks/epks/pkg/install"
	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/values"
	"github.com/epks/epks/test/localcluster"
	"github.com/epks/epks/test/nodedns"
	"github.com/epks/epks/test/podrun"
	"github.com/epks/epks/test/proc"
	"github.com/epks/epks/test/toolbin"
)

const (
	// ClusterName is the testbed's cluster: node and server names derive
	// from it.
	ClusterName = "k8scluster"
	// Namespace and Release are where epks installs the add-ons.
	Namespace = names.Namespace
	Release   = names.Release
	// CSIDriver is the cinder CSI driver's name.
	CSIDriver = "cinder.csi.openstack.org"
	// ZoneLabel is the topology label the cinder CSI node plugin reports.
	ZoneLabel = "topology.cinder.csi.openstack.org/zone"
	// ClusterDNS is the cluster DNS address of ClusterFirst pods: a
	// loopback address where nothing answers, as no cluster DNS runs
	// before NCP and the OCCM (and none runs here at all).
	ClusterDNS = "127.0.10.53"
)

// Components are the chart components whose pods run as processes.
var Components = []string{"occm", "cinder-csi-controller", "snapshot-controller", "port-tagger"}

// Options configure a testbed.
type Options struct {
	// Dir holds everything: the cluster, viosim's files, the pods' files
	// and logs. Keep it short: CSI sockets live under it.
	Dir string
	// Workers are the worker nodes besides one control-plane node [2].
	Workers int
	// LoadBalancerProvider is the parameters' load_balancer_provider
	// [octavia: the OCCM serves LoadBalancers through viosim's Octavia;
	// NCP, which would serve them with nsx, is not public].
	LoadBalancerProvider string
	// Values are chart values applied over the parameters'.
	Values map[string]any
	// PortTagger is the epks-port-tagger binary [built from this module].
	PortTagger string
	// EPKS is the epks binary that runs epks cluster create and delete
	// [built from this module].
	EPKS string
	// IPAccess reaches VIO's endpoints by IP, as VIO's "IP access" mode.
	// False (the default): viosim serves its catalog and certificate under
	// host names (sim.VIOHostnames), which the pods resolve only through
	// their hostAliases (Keystone, Nova, Cinder, Neutron) and the nodes'
	// name server (Octavia's), never through a cluster DNS.
	IPAccess bool
	// Out receives progress [discarded].
	Out io.Writer
}

// Testbed is a running cluster with its simulated cloud.
type Testbed struct {
	Sim     *sim.Server
	Cluster *localcluster.Cluster
	Config  *rest.Config
	Client  kubernetes.Interface
	// ParamsFile is the parameters file epks cluster create built the
	// cluster from and epks installed from.
	ParamsFile string
	// Created is what epks cluster create made.
	Created Created
	// Params are the checked parameters.
	Params *params.Params
	// Pods runs the components' pods.
	Pods *podrun.Supervisor

	// DNS is the nodes' name server.
	DNS *nodedns.Server

	opts     Options
	out      io.Writer
	podsDir  string
	cancel   context.CancelFunc
	done     chan struct{}
	gateDone chan struct{}
	once     sync.Once

	// beforeCreate is viosim's topology before epks cluster create.
	beforeCreate []string
	// epks is the epks binary.
	epks string
}

// Start brings a testbed up and waits until the add-ons are installed and
// ready and every node is initialized and registered with the CSI driver.
// On error, whatever started is stopped.
func Start(ctx context.Context, opts Options) (tb *Testbed, err error) {
	if opts.Dir == "" {
		return nil, errors.New("testbed: Options.Dir is required")
	}
	if opts.Workers == 0 {
		opts.Workers = 2
	}
	if opts.LoadBalancerProvider == "" {
		opts.LoadBalancerProvider = params.LBProviderOctavia
	}
	tb = &Testbed{opts: opts, out: opts.Out, done: make(chan struct{})}
	if tb.out == nil {
		tb.out = io.Discard
	}
	defer func() {
		if err != nil {
			tb.Stop()
			tb = nil
		}
	}()
	binaries, err := Binaries(ctx, opts.PortTagger, filepath.Join(opts.Dir, "bin"))
	if err != nil {
		return tb, err
	}
	if tb.epks = opts.EPKS; tb.epks == "" {
		if tb.epks, err = BuildEPKS(ctx, filepath.Join(opts.Dir, "bin")); err != nil {
			return tb, err
		}
	}

	seed := cloudSeed()
	simOpts := sim.Options{Seed: &seed, Transition: 200 * time.Millisecond}
	paramsOpts := sim.ParamsOptions{ClusterName: ClusterName, LoadBalancerProvider: opts.LoadBalancerProvider}
	if !opts.IPAccess {
		simOpts.Hostnames = sim.VIOHostnames()
		// The site's DNS knows Octavia's name; the parameters alias the
		// others.
		paramsOpts.NodeResolved = []string{sim.Octavia}
	}
	if tb.Sim, err = sim.New(simOpts); err != nil {
		return tb, err
	}
	if err := tb.Sim.Start(); err != nil {
		return tb, err
	}
	tb.step("viosim serves Keystone at %s and the NSX Manager at %s", tb.Sim.URL(sim.Keystone), tb.Sim.NSXAddress())
	nodeRecords := map[string]string{}
	for _, svc := range paramsOpts.NodeResolved {
		nodeRecords[tb.Sim.Hostname(svc)] = tb.Sim.Address()
	}
	if tb.DNS, err = nodedns.Start(nodeRecords); err != nil {
		return tb, err
	}
	if err := tb.prepareCloud(); err != nil {
		return tb, err
	}
	if tb.ParamsFile, err = tb.writeParams(filepath.Join(opts.Dir, "viosim"), paramsOpts); err != nil {
		return tb, err
	}
	in, err := tb.inputs(nil)
	if err != nil {
		return tb, fmt.Errorf("epks refuses the testbed's parameters file: %w", err)
	}
	tb.Params = in.Params

	tb.beforeCreate = Topology(tb.Sim)
	if tb.Created, err = tb.createCluster(ctx); err != nil {
		return tb, err
	}
	var nodeNames []string
	controlPlanes := 0
	for _, sv := range tb.Created.Servers {
		nodeNames = append(nodeNames, sv.Name)
		if sv.Metadata["epks-role"] != "worker" {
			controlPlanes++
		}
	}
	tb.step("epks cluster create: %d resources (%s); log in %s (%s)", tb.Created.Total(), tb.Created.Summary(),
		filepath.Join(opts.Dir, "cluster-create.log"), tb.Created.Took.Round(100*time.Millisecond))

	start := time.Now()
	if tb.Cluster, err = localcluster.Start(ctx, localcluster.Options{
		Dir: filepath.Join(opts.Dir, "cluster"), ClusterName: ClusterName, ControlPlaneNodes: controlPlanes, NodeNames: nodeNames,
		UninitializedNodes: true, PodNetworkGate: true,
	}); err != nil {
		return tb, err
	}
	if tb.Config, err = tb.Cluster.RESTConfig(); err != nil {
		return tb, err
	}
	if tb.Client, err = kubernetes.NewForConfig(tb.Config); err != nil {
		return tb, err
	}
	tb.step("local control plane at %s with %d uninitialized nodes, named as the servers (%s)", tb.Cluster.APIServer(), len(tb.Cluster.Nodes()), since(start))

	podsDir, err := podsDir(opts.Dir)
	if err != nil {
		return tb, err
	}
	tb.podsDir = podsDir
	tb.Pods = &podrun.Supervisor{
		Runner: &podrun.Runner{
			Client: tb.Client, Config: tb.Config, Dir: podsDir, Binaries: binaries,
			Skip: map[string]string{"sig-storage/livenessprobe": "a probe sidecar; kubelet's probes do not run here"},
			Logf: func(format string, args ...any) { fmt.Fprintf(tb.out, "   pods: "+format+"\n", args...) },
			Names: &podrun.Names{
				NodeHosts:      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
				NodeResolvConf: "nameserver " + tb.DNS.Address() + "\n",
				ClusterDNS:     ClusterDNS,
			},
		},
		Namespace: Namespace,
		Selector:  fmt.Sprintf("app.kubernetes.io/instance=%s,app.kubernetes.io/component in (%s)", Release, strings.Join(Components, ",")),
	}
	runCtx, cancel := context.WithCancel(context.Background())
	tb.cancel = cancel
	tb.gateDone = make(chan struct{})
	go func() {
		defer close(tb.done)
		_ = tb.Pods.Run(runCtx)
	}()
	go func() {
		defer close(tb.gateDone)
		tb.podNetwork(runCtx)
	}()

	if err := tb.Install(ctx, nil); err != nil {
		return tb, err
	}
	if err := tb.registerCSINodes(ctx); err != nil {
		return tb, err
	}
	return tb, nil
}

// Install installs or upgrades the add-ons from the testbed's parameters,
// with Options.Values and then extra over them, and waits until every
// component is ready.
func (tb *Testbed) Install(ctx context.Context, extra map[string]any) error {
	return tb.install(ctx, extra, false, true)
}

// InstallUnchecked installs as Install does but without epks install's
// endpoint preflight, as helm would: to see how the components fail with a
// broken configuration (a wrong password fails the preflight's Keystone
// login).
func (tb *Testbed) InstallUnchecked(ctx context.Context, extra map[string]any) error {
	return tb.install(ctx, extra, false, false)
}

// Repair upgrades the release to the parameters' values even when nothing
// changed, which puts back objects edited in the cluster, as `epks install
// --reapply` does.
func (tb *Testbed) Repair(ctx context.Context) error {
	return tb.install(ctx, nil, true, true)
}

func (tb *Testbed) install(ctx context.Context, extra map[string]any, reapply, preflight bool) error {
	ch, err := charts.LoadAddons()
	if err != nil {
		return err
	}
	in, err := tb.inputs(extra)
	if err != nil {
		return err
	}
	v := in.Values
	// As epks install: every endpoint the pods will call must resolve for
	// them, through their hostAliases or the nodes' name server.
	if preflight {
		if err := install.CheckEndpoints(ctx, install.EndpointCheck{Values: v, Resolver: tb.NodeResolver()}); err != nil {
			return fmt.Errorf("epks install: %w", err)
		}
	}
	kubeconfig, namespace := tb.Cluster.Kubeconfig(), Namespace
	start := time.Now()
	res, err := install.Install(ctx, install.Options{
		Getter:    &genericclioptions.ConfigFlags{KubeConfig: &kubeconfig, Namespace: &namespace},
		Namespace: in.Namespace, ReleaseName: Release, Chart: ch, Values: v, PostRenderer: in.PostRenderer,
		Timeout: 5 * time.Minute, PollInterval: 500 * time.Millisecond, Reapply: reapply,
		Progress: install.NewPrinter(indent{tb.out}),
	})
	if err != nil {
		return fmt.Errorf("epks install: %w\n%s", err, tb.PodLogs(20))
	}
	tb.step("epks install: release %s revision %d, %d components ready (%s)", Release, res.Revision, len(res.Components), since(start))
	return nil
}

// inputs are the testbed's parameters file with Options.Values and then
// extra over its values, loaded as epks install loads its inputs.
func (tb *Testbed) inputs(extra map[string]any) (*inputs.Inputs, error) {
	over := map[string]any{}
	values.Merge(over, tb.opts.Values)
	values.Merge(over, extra)
	return inputs.Load(inputs.Options{ParamsFile: tb.ParamsFile, Namespace: Namespace, Values: over})
}

// registerCSINodes waits until the cloud controller manager initialized
// every node, then registers the cinder CSI driver on each as its node
// plugin would: a CSINode with the server id as node id and the zone as
// topology, and the zone label on the node.
func (tb *Testbed) registerCSINodes(ctx context.Context) error {
	start := time.Now()
	for _, name := range tb.Cluster.Nodes() {
		var node *corev1.Node
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			n, err := tb.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			node = n
			return n.Spec.ProviderID != "" && !hasTaint(n, localcluster.UninitializedTaint), nil
		})
		if err != nil {
			return fmt.Errorf("node %s was not initialized by the cloud controller manager: %w\n%s", name, err, tb.PodLogs(20))
		}
		srv, ok := tb.Sim.ServerByName(name)
		if !ok {
			return fmt.Errorf("viosim has no server %s", name)
		}
		zone := srv.AvailabilityZone
		csiNode := &storagev1.CSINode{
			ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: name, UID: node.UID}}},
			Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{
				Name: CSIDriver, NodeID: srv.ID, TopologyKeys: []string{ZoneLabel},
			}}},
		}
		if _, err := tb.Client.StorageV1().CSINodes().Create(ctx, csiNode, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("registering the CSI driver on %s: %w", name, err)
		}
		patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q},"annotations":{"csi.volume.kubernetes.io/nodeid":%q}}}`,
			ZoneLabel, zone, fmt.Sprintf(`{%q:%q}`, CSIDriver, srv.ID))
		if _, err := tb.Client.CoreV1().Nodes().Patch(ctx, name, "application/strategic-merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("labelling %s with its zone: %w", name, err)
		}
	}
	tb.step("the cloud controller manager initialized %d nodes; the CSI driver is registered on each (%s)", len(tb.Cluster.Nodes()), since(start))
	return nil
}

func hasTaint(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

// Stop ends the component processes, the control plane and viosim, each by
// its own pid.
func (tb *Testbed) Stop() {
	tb.once.Do(func() {
		if tb.cancel != nil {
			tb.cancel()
			<-tb.done
			<-tb.gateDone
		}
		if tb.DNS != nil {
			tb.DNS.Close()
		}
		if tb.Cluster != nil {
			if err := tb.Cluster.Stop(context.Background()); err != nil {
				fmt.Fprintf(tb.out, "stopping the local control plane: %v\n", err)
			}
		}
		if tb.Sim != nil {
			tb.Sim.Close()
		}
		if tb.podsDir != "" && !strings.HasPrefix(tb.podsDir, tb.opts.Dir) {
			_ = os.RemoveAll(tb.podsDir)
		}
	})
}

// Dir is the testbed's directory.
func (tb *Testbed) Dir() string { return tb.opts.Dir }

// Container returns the running container of a component's pods (the
// first pod by name), or nil.
func (tb *Testbed) Container(component, container string) *podrun.Container {
	for _, p := range tb.Pods.Pods() {
		if strings.HasPrefix(p.Name, Release+"-"+component+"-") {
			if c := p.Container(container); c != nil {
				return c
			}
		}
	}
	return nil
}

// PodLogs returns the last lines of every component container's log and
// the pods that could not start, for failure messages.
func (tb *Testbed) PodLogs(lines int) string {
	if tb.Pods == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range tb.Pods.Pods() {
		for _, c := range p.Containers {
			n, last := c.Restarts()
			fmt.Fprintf(&b, "--- %s/%s (restarts %d, last exit %v):\n%s\n", p.Name, c.Name, n, last, proc.LogTail(c.LogPath, lines))
		}
	}
	for pod, err := range tb.Pods.Failures() {
		fmt.Fprintf(&b, "--- %s could not start: %v\n", pod, err)
	}
	return b.String()
}

// maxSocketDir is the longest pods directory that leaves room for a pod's
// socket path (pod name, volume, socket name) in a unix socket address,
// which has at most 107 bytes.
const maxSocketDir = 40

// podsDir is dir/pods, or a temporary directory when that path is too long
// for the pods' sockets.
func podsDir(dir string) (string, error) {
	d := filepath.Join(dir, "pods")
	if len(d) > maxSocketDir {
		return os.MkdirTemp("", "epks-pods-")
	}
	return d, os.MkdirAll(d, 0o700)
}

// AllLogs returns the log of every container that ran, stopped pods'
// included, by path.
func (tb *Testbed) AllLogs() (map[string]string, error) {
	paths, err := filepath.Glob(filepath.Join(tb.podsDir, "*", "*.log"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out[p] = string(data)
	}
	return out, nil
}

// Binaries maps the chart's images to the binaries that stand for them:
// the upstream ones from the cache (make tools) and the port tagger, built
// into dir unless given.
func Binaries(ctx context.Context, portTagger, dir string) (map[string]podrun.Binary, error) {
	if portTagger == "" {
		portTagger = filepath.Join(dir, "epks-port-tagger")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-o", portTagger, "github.com/epks/epks/cmd/epks-port-tagger")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building epks-port-tagger: %v\n%s", err, out)
		}
	}
	kubeconfig := []string{"--kubeconfig"}
	out := map[string]podrun.Binary{names.PortTaggerRepository: {
		Path: portTagger, KubeconfigFlags: kubeconfig, ListenFlags: []string{"--metrics-bind-address", "--health-probe-bind-address"},
	}}
	var errs []error
	for repo, b := range map[string]struct {
		name string
		bin  podrun.Binary
	}{
		// The OCCM serves /healthz on a secure port that authenticates and
		// authorizes through the API server; in a pod it is the node's
		// (hostNetwork), here it must not collide.
		"provider-os/openstack-cloud-controller-manager": {"openstack-cloud-controller-manager", podrun.Binary{
			KubeconfigFlags: []string{"--kubeconfig", "--authentication-kubeconfig", "--authorization-kubeconfig"},
			PortFlags:       []string{"--secure-port"},
		}},
		"provider-os/cinder-csi-plugin":   {"cinder-csi-plugin", podrun.Binary{}},
		"sig-storage/csi-provisioner":     {"csi-provisioner", podrun.Binary{KubeconfigFlags: kubeconfig}},
		"sig-storage/csi-attacher":        {"csi-attacher", podrun.Binary{KubeconfigFlags: kubeconfig}},
		"sig-storage/csi-snapshotter":     {"csi-snapshotter", podrun.Binary{KubeconfigFlags: kubeconfig}},
		"sig-storage/csi-resizer":         {"csi-resizer", podrun.Binary{KubeconfigFlags: kubeconfig}},
		"sig-storage/snapshot-controller": {"snapshot-controller", podrun.Binary{KubeconfigFlags: kubeconfig}},
	} {
		p, err := toolbin.Path(b.name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b.bin.Path = p
		out[repo] = b.bin
	}
	return out, errors.Join(errs...)
}

// step prints a finished step.
func (tb *Testbed) step(format string, args ...any) {
	fmt.Fprintf(tb.out, " ✓ "+format+"\n", args...)
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// indent prefixes every line written through it.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	lines := strings.SplitAfter(string(p), "\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		if _, err := io.WriteString(i.w, "   "+l); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
