// Package localcluster runs a real Kubernetes control plane on loopback for
// tests and the demo: etcd, kube-apiserver (RBAC, service-account issuer),
// kube-controller-manager and kube-scheduler built from the pinned modules,
// and kwok simulating the nodes and the pods that run on them, so that
// Deployments and DaemonSets become Available without a container runtime.
//
// Every process listens on 127.0.0.1 only, logs to its own file and records
// its pid; Stop ends them by those pids. Started from a test, the processes
// die with the test process even when it is killed.
package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/epks/epks/pkg/nodename"
	"github.com/epks/epks/test/proc"
	"github.com/epks/epks/test/toolbin"
)

// Options configure a local cluster.
type Options struct {
	// Dir holds certificates, kubeconfigs, data, logs and pid files. It is
	// created when missing.
	Dir string
	// ClusterName derives the node names [k8scluster].
	ClusterName string
	// ControlPlaneNodes [1] and WorkerNodes [2] are the fake nodes.
	ControlPlaneNodes int
	WorkerNodes       int
	// NodeNames name the nodes, the ControlPlaneNodes control-plane nodes
	// first, such as the servers a cloud has for them (WorkerNodes is then
	// the rest) [nodename.All of ClusterName and the counts].
	NodeNames []string
	// UninitializedNodes creates the nodes as kubelet does with an external
	// cloud provider: tainted node.cloudprovider.kubernetes.io/uninitialized,
	// without provider ID or addresses, for a cloud controller manager to
	// initialize.
	UninitializedNodes bool
	// PodNetworkGate starts the pods that are not on the host network (gives
	// them an IP and makes them Running) only once they carry
	// PodNetworkAnnotation=ready, as a CNI plugin wires a pod only when it
	// can; host-network pods start at once.
	PodNetworkGate bool
	// ServiceCIDR [10.96.0.0/12].
	ServiceCIDR string
	// Detached processes outlive the calling process (the CLI's `up`); they
	// are stopped with StopDir.
	Detached bool
	// StartTimeout bounds the start of each component [2m].
	StartTimeout time.Duration
}

func (o *Options) defaults() {
	if o.ClusterName == "" {
		o.ClusterName = "k8scluster"
	}
	if len(o.NodeNames) > 0 {
		o.WorkerNodes = len(o.NodeNames) - o.ControlPlaneNodes
	}
	if o.ControlPlaneNodes == 0 && o.WorkerNodes == 0 {
		o.ControlPlaneNodes, o.WorkerNodes = 1, 2
	}
	if o.ServiceCIDR == "" {
		o.ServiceCIDR = "10.96.0.0/12"
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 2 * time.Minute
	}
}

// Cluster is a running local cluster.
type Cluster struct {
	opts      Options
	pki       *pki
	procs     []*proc.Process
	apiServer string
	nodes     []string
}

// State is what a detached cluster records in Dir/state.json, for Status
// and StopDir.
type State struct {
	Kubeconfig string         `json:"kubeconfig"`
	APIServer  string         `json:"apiServer"`
	Nodes      []string       `json:"nodes"`
	Processes  []ProcessState `json:"processes"`
}

// ProcessState is one process of a detached cluster.
type ProcessState struct {
	Name string `json:"name"`
	Pid  int    `json:"pid"`
	Log  string `json:"log"`
}

// component is one process to start, in order.
type component struct {
	name  string
	bin   string
	args  []string
	ready func(ctx context.Context) error
}

// Start runs a cluster and waits until its API server serves, its
// controllers are healthy and every node is Ready. On error, whatever was
// started is stopped.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	opts.defaults()
	if opts.Dir == "" {
		return nil, errors.New("localcluster: Options.Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	bins := map[string]string{}
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		p, err := toolbin.Path(name)
		if err != nil {
			return nil, err
		}
		bins[name] = p
	}
	for _, d := range []string{dir, filepath.Join(dir, "etcd")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	c := &Cluster{opts: opts, nodes: opts.NodeNames}
	if len(c.nodes) == 0 {
		c.nodes = nodename.All(opts.ClusterName, opts.ControlPlaneNodes, opts.WorkerNodes)
	}
	if opts.WorkerNodes < 0 {
		return nil, fmt.Errorf("localcluster: %d node names for %d control-plane nodes", len(opts.NodeNames), opts.ControlPlaneNodes)
	}
	if err := c.setup(); err != nil {
		return nil, err
	}
	// The ports are free when chosen, not reserved: another process may
	// take one before a component binds it. A component that exits with
	// "address already in use" starts the control plane again on other
	// ports.
	for attempt := 1; ; attempt++ {
		err := c.startComponents(ctx, bins)
		if err == nil {
			break
		}
		c.Stop(context.WithoutCancel(ctx))
		c.procs = nil
		if !errors.Is(err, proc.ErrAddrInUse) || attempt == 3 {
			return nil, err
		}
		if err := os.RemoveAll(filepath.Join(dir, "etcd")); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Join(dir, "etcd"), 0o700); err != nil {
			return nil, err
		}
	}
	if err := c.createNodes(ctx); err != nil {
		c.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	if opts.Detached {
		if err := c.writeState(); err != nil {
			c.Stop(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	return c, nil
}

// startComponents starts etcd, the API server, the controller manager,
// the scheduler and kwok on free loopback ports and waits until each is
// ready.
func (c *Cluster) startComponents(ctx context.Context, bins map[string]string) error {
	dir, opts := c.opts.Dir, c.opts
	ports, err := freePorts(6)
	if err != nil {
		return err
	}
	etcdPort, peerPort, apiPort, kcmPort, schedPort, kwokPort := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	c.apiServer = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	if err := c.writeKubeconfigs(); err != nil {
		return err
	}

	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	p := c.pki.path
	components := []component{
		{name: "etcd", bin: bins["etcd"], args: []string{
			"--name=local", "--data-dir=" + filepath.Join(dir, "etcd"),
			"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
			"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=local=" + peerURL, "--unsafe-no-fsync", "--log-level=warn",
		}, ready: httpReady(etcdURL+"/health", nil)},
		{name: "kube-apiserver", bin: bins["kube-apiserver"], args: []string{
			"--etcd-servers=" + etcdURL,
			"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(apiPort),
			"--tls-cert-file=" + p("apiserver.crt"), "--tls-private-key-file=" + p("apiserver.key"),
			"--client-ca-file=" + p("ca.crt"),
			// Request headers from the front proxy, as kubeadm sets them up:
			// the API server publishes this CA in kube-system's
			// extension-apiserver-authentication ConfigMap, where the
			// delegated authentication of controller managers reads it.
			"--requestheader-client-ca-file=" + p("front-proxy-ca.crt"),
			"--requestheader-allowed-names=front-proxy-client",
			"--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
			"--requestheader-extra-headers-prefix=X-Remote-Extra-",
			"--proxy-client-cert-file=" + p("front-proxy-client.crt"), "--proxy-client-key-file=" + p("front-proxy-client.key"),
			"--authorization-mode=Node,RBAC",
			"--service-account-issuer=" + c.apiServer,
			"--service-account-key-file=" + p("sa.pub"), "--service-account-signing-key-file=" + p("sa.key"),
			"--service-cluster-ip-range=" + opts.ServiceCIDR,
			"--allow-privileged=true",
			// Endpoints may not hold loopback addresses, so the kubernetes
			// Service gets none; nothing in the cluster dials it.
			"--endpoint-reconciler-type=none",
			"--profiling=false",
		}, ready: httpReady(c.apiServer+"/readyz", c.adminTLS)},
		{name: "kube-controller-manager", bin: bins["kube-controller-manager"], args: []string{
			"--kubeconfig=" + filepath.Join(dir, "kube-controller-manager.kubeconfig"),
			"--authentication-kubeconfig=" + filepath.Join(dir, "kube-controller-manager.kubeconfig"),
			"--authorization-kubeconfig=" + filepath.Join(dir, "kube-controller-manager.kubeconfig"),
			"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(kcmPort),
			"--service-account-private-key-file=" + p("sa.key"), "--root-ca-file=" + p("ca.crt"),
			"--use-service-account-credentials=true",
			"--cluster-signing-cert-file=" + p("ca.crt"), "--cluster-signing-key-file=" + p("ca.key"),
			"--service-cluster-ip-range=" + opts.ServiceCIDR,
			"--controllers=*,-service-lb-controller,-cloud-node-lifecycle-controller,-node-route-controller,-node-ipam-controller",
			"--leader-elect=false", "--profiling=false",
		}, ready: httpReady("https://127.0.0.1:"+strconv.Itoa(kcmPort)+"/healthz", insecureTLS)},
		{name: "kube-scheduler", bin: bins["kube-scheduler"], args: []string{
			"--kubeconfig=" + filepath.Join(dir, "kube-scheduler.kubeconfig"),
			"--authentication-kubeconfig=" + filepath.Join(dir, "kube-scheduler.kubeconfig"),
			"--authorization-kubeconfig=" + filepath.Join(dir, "kube-scheduler.kubeconfig"),
			"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(schedPort),
			"--leader-elect=false", "--profiling=false",
		}, ready: httpReady("https://127.0.0.1:"+strconv.Itoa(schedPort)+"/healthz", insecureTLS)},
		{name: "kwok", bin: bins["kwok"], args: []string{
			"--kubeconfig=" + filepath.Join(dir, "kwok.kubeconfig"),
			"--config=" + filepath.Join(dir, "kwok-stages.yaml"),
			"--manage-nodes-with-annotation-selector=" + kwokAnnotation + "=fake",
			"--server-address=127.0.0.1:" + strconv.Itoa(kwokPort),
			"--node-ip=127.0.0.1",
			"--cidr=10.244.0.0/16",
			"--node-lease-duration-seconds=40",
		}, ready: httpReady("http://127.0.0.1:"+strconv.Itoa(kwokPort)+"/healthz", nil)},
	}
	for _, comp := range components {
		if err := c.start(ctx, comp); err != nil {
			return err
		}
	}
	return nil
}

// setup writes the PKI and the kwok stages.
func (c *Cluster) setup() error {
	pk, err := newPKI(filepath.Join(c.opts.Dir, "pki"))
	if err != nil {
		return fmt.Errorf("creating certificates: %w", err)
	}
	c.pki = pk
	svcIP, err := firstServiceIP(c.opts.ServiceCIDR)
	if err != nil {
		return err
	}
	if err := pk.serving("apiserver", []net.IP{net.ParseIP("127.0.0.1"), svcIP},
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}); err != nil {
		return err
	}
	for _, cl := range []struct{ name, cn, group string }{
		{"admin", "epks-local-admin", "system:masters"},
		{"kube-controller-manager", "system:kube-controller-manager", ""},
		{"kube-scheduler", "system:kube-scheduler", ""},
		// kwok acts as every node's kubelet; the Node authorizer would allow a
		// kubelet only its own node, so it has the admin group.
		{"kwok", "kwok", "system:masters"},
	} {
		var groups []string
		if cl.group != "" {
			groups = []string{cl.group}
		}
		if err := pk.client(pk.ca, cl.name, cl.cn, groups...); err != nil {
			return err
		}
	}
	if err := pk.client(pk.frontProxy, "front-proxy-client", "front-proxy-client"); err != nil {
		return err
	}
	if err := pk.serviceAccountKey(); err != nil {
		return err
	}
	return writeStages(filepath.Join(c.opts.Dir, "kwok-stages.yaml"), c.opts.PodNetworkGate)
}

// start runs one component and waits until it is ready or exits.
func (c *Cluster) start(ctx context.Context, comp component) error {
	p, err := proc.Start(proc.Spec{Name: comp.name, Dir: c.opts.Dir, Path: comp.bin, Args: comp.args, Detached: c.opts.Detached})
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	ctx, cancel := context.WithTimeout(ctx, c.opts.StartTimeout)
	defer cancel()
	for {
		if p.Exited() {
			return p.CrashError()
		}
		err := comp.ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (%v); last lines of %s:\n%s",
				comp.name, c.opts.StartTimeout, err, p.LogPath, proc.LogTail(p.LogPath, 30))
		case <-p.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop ends every process, last started first, by its pid.
func (c *Cluster) Stop(ctx context.Context) error {
	var errs []error
	for i := len(c.procs) - 1; i >= 0; i-- {
		if err := c.procs[i].Stop(10 * time.Second); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", c.procs[i].Name, err))
		}
	}
	return errors.Join(errs...)
}

// Pids returns the process ids of the components, by name.
func (c *Cluster) Pids() map[string]int {
	out := map[string]int{}
	for _, p := range c.procs {
		out[p.Name] = p.Pid()
	}
	return out
}

// Crashed returns an error with the log tail of every component that
// exited, or nil when all run.
func (c *Cluster) Crashed() error {
	var errs []error
	for _, p := range c.procs {
		if p.Exited() {
			errs = append(errs, p.CrashError())
		}
	}
	return errors.Join(errs...)
}

// Kubeconfig is the path of the admin kubeconfig.
func (c *Cluster) Kubeconfig() string { return filepath.Join(c.opts.Dir, "admin.kubeconfig") }

// Dir is the cluster's directory.
func (c *Cluster) Dir() string { return c.opts.Dir }

// Nodes are the names of the fake nodes, control plane first.
func (c *Cluster) Nodes() []string { return append([]string(nil), c.nodes...) }

// APIServer is the URL of the API server.
func (c *Cluster) APIServer() string { return c.apiServer }

// RESTConfig is an admin client configuration.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
}

func (c *Cluster) writeState() error {
	st := State{Kubeconfig: c.Kubeconfig(), APIServer: c.apiServer, Nodes: c.nodes}
	for _, p := range c.procs {
		st.Processes = append(st.Processes, ProcessState{Name: p.Name, Pid: p.Pid(), Log: p.LogPath})
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.opts.Dir, "state.json"), data, 0o600)
}

// ReadState reads the state of a detached cluster in dir.
func ReadState(dir string) (*State, error) {
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, fmt.Errorf("no local cluster in %s: %w", dir, err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("reading %s/state.json: %w", dir, err)
	}
	return &st, nil
}

// ProcessStatus is a recorded process and whether it still runs.
type ProcessStatus struct {
	ProcessState
	Running bool
	// LogTail is the end of the log of a process that does not run.
	LogTail string
}

// StatusDir reports the processes of a detached cluster.
func StatusDir(dir string) ([]ProcessStatus, error) {
	st, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	var out []ProcessStatus
	for _, p := range st.Processes {
		ps := ProcessStatus{ProcessState: p, Running: proc.Alive(p.Pid)}
		if !ps.Running {
			ps.LogTail = proc.LogTail(p.Log, 20)
		}
		out = append(out, ps)
	}
	return out, nil
}

// StopDir stops the processes of a detached cluster by their recorded pids,
// last started first, and removes dir.
func StopDir(dir string) error {
	st, err := ReadState(dir)
	if err != nil {
		return err
	}
	var errs []error
	for i := len(st.Processes) - 1; i >= 0; i-- {
		p := st.Processes[i]
		if err := proc.StopPid(p.Pid, 10*time.Second); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s (pid %d): %w", p.Name, p.Pid, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return os.RemoveAll(dir)
}

// httpReady returns a check that GETs url and wants 200.
func httpReady(url string, tlsConfig func() (*tls.Config, error)) func(context.Context) error {
	return func(ctx context.Context) error {
		tr := &http.Transport{}
		if tlsConfig != nil {
			cfg, err := tlsConfig()
			if err != nil {
				return err
			}
			tr.TLSClientConfig = cfg
		}
		defer tr.CloseIdleConnections()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		return nil
	}
}

// adminTLS trusts the cluster CA and presents the admin certificate.
func (c *Cluster) adminTLS() (*tls.Config, error) {
	pool := x509.NewCertPool()
	pool.AddCert(c.pki.ca.cert)
	cert, err := tls.LoadX509KeyPair(c.pki.path("admin.crt"), c.pki.path("admin.key"))
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// insecureTLS is for the health endpoints of the controller manager and the
// scheduler, which serve with certificates they make themselves at start.
func insecureTLS() (*tls.Config, error) {
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, nil //nolint:gosec // health probe on loopback
}

// freePorts reserves n free loopback ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func firstServiceIP(cidr string) (net.IP, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("service CIDR %q: %w", cidr, err)
	}
	ip := append(net.IP(nil), n.IP...)
	ip[len(ip)-1]++
	return ip, nil
}
