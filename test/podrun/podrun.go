// Package podrun runs the containers of Kubernetes pods as processes on this
// machine, for clusters whose nodes run no containers (kwok's). It keeps
// what the pod says, so that the pod's own configuration is what runs:
//
//   - each container's command, args and env, with $(VAR) references
//     expanded as kubelet expands them, and env from fields, Secrets and
//     ConfigMaps;
//   - the pod's Secret, ConfigMap, projected and emptyDir volumes, written
//     under a directory of the pod; every mount path is remapped to its
//     directory in args, env and the mounted files themselves (cloud.conf
//     names /etc/config/ca.crt, say), so emptyDir sockets shared by the
//     containers of a pod connect;
//   - with Runner.Names, the pod's names: each process sees the pod's own
//     /etc/hosts (hostAliases) and /etc/resolv.conf (per dnsPolicy), in a
//     private mount namespace;
//   - the pod's ServiceAccount: each process gets a kubeconfig with a token
//     the TokenRequest API issued for that ServiceAccount, bound to the pod,
//     so it has exactly the RBAC the chart gave it, no more.
//
// An image is mapped to a locally built binary by its repository
// (registry.k8s.io/sig-storage/csi-provisioner:v6.4.0 is
// "sig-storage/csi-provisioner"), and the binary must report (--version) the
// version the image's tag names. What the host cannot share is adapted and
// said so: listen addresses become free loopback ports, and a binary may get
// extra host-specific arguments. Containers restart when they exit, with
// backoff, as with restartPolicy Always.
package podrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/epks/epks/test/proc"
)

// Binary says how to run the containers of one image.
type Binary struct {
	// Path is the executable that stands for the image's entrypoint.
	Path string
	// KubeconfigFlags are the flags that give the binary a kubeconfig, e.g.
	// "--kubeconfig" (and a cloud controller manager's
	// "--authentication-kubeconfig" for its secure port): each gets the
	// pod's. In a pod they fall back to the in-cluster configuration, which a
	// process here has not. None for binaries that do not talk to
	// Kubernetes.
	KubeconfigFlags []string
	// ListenFlags are flags whose values are host:port addresses to listen
	// on. Each gets a free port on 127.0.0.1, whether the pod set it or not,
	// so that pods sharing this host do not collide and nothing listens
	// beyond loopback.
	ListenFlags []string
	// PortFlags are flags whose values are bare port numbers to listen on
	// (e.g. --secure-port); each gets a free port.
	PortFlags []string
	// ExtraArgs are added after the pod's arguments.
	ExtraArgs []string
}

// Runner runs pods.
type Runner struct {
	// Client reads Secrets and ConfigMaps and requests tokens, as kubelet
	// does.
	Client kubernetes.Interface
	// Config says where the processes reach the API server (host and CA).
	Config *rest.Config
	// Binaries maps image repositories to binaries.
	Binaries map[string]Binary
	// Skip maps image repositories of containers not to run to the reason
	// (e.g. a liveness probe sidecar). Any other unmapped image is an error.
	Skip map[string]string
	// Dir holds a directory per pod. Keep it short: CSI sockets live there
	// and a unix socket path has at most 107 bytes.
	Dir string
	// TokenTTL is the lifetime of the ServiceAccount tokens [1h].
	TokenTTL time.Duration
	// Logf reports what the runner does [discarded].
	Logf func(format string, args ...any)
	// Names, when set, give each pod's processes the pod's own /etc/hosts
	// and resolver (needs root); nil: they resolve as this host does.
	Names *Names

	// versions are the versions the binaries report, by path and
	// modification time.
	versionsMu sync.Mutex
	versions   map[string]string
}

// Pod is a pod whose containers run as processes.
type Pod struct {
	Namespace, Name string
	// Dir holds the pod's volumes, kubeconfig and logs.
	Dir string
	// Containers are the containers that run.
	Containers []*Container
	// Skipped are the containers that do not run, with the reason.
	Skipped map[string]string

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Container is one container of a running pod.
type Container struct {
	Name  string
	Image string
	// Path and Args are what runs.
	Path string
	Args []string
	// Env is the process environment.
	Env []string
	// Listen maps each listen flag to the address it got. A run that could
	// not bind one (another process took the port after it was chosen) is
	// restarted on new ports: read it under no other goroutine's restart
	// (Addresses does).
	Listen map[string]string
	// LogPath is the container's log, across restarts.
	LogPath string
	// BindFiles are the pod's /etc/hosts and /etc/resolv.conf, when
	// Runner.Names is set.
	BindFiles map[string]string

	// bin and baseArgs give the listen flags new ports on a restart.
	bin      Binary
	baseArgs []string

	mu       sync.Mutex
	restarts int
	lastExit error
	current  *proc.Process
}

// Addresses returns a copy of Listen.
func (c *Container) Addresses() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.Listen))
	for k, v := range c.Listen {
		out[k] = v
	}
	return out
}

// Restarts is how often the container was started again after it exited,
// and how it last exited.
func (c *Container) Restarts() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restarts, c.lastExit
}

// Pid is the process id of the current run, 0 between runs.
func (c *Container) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current == nil || c.current.Exited() {
		return 0
	}
	return c.current.Pid()
}

// Log returns the container's log so far.
func (c *Container) Log() string {
	data, _ := os.ReadFile(c.LogPath)
	return string(data)
}

// Container returns the running container of that name, or nil.
func (p *Pod) Container(name string) *Container {
	for _, c := range p.Containers {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Repository returns the repository of an image reference without its
// registry, tag or digest: registry.k8s.io/sig-storage/csi-attacher:v4 is
// sig-storage/csi-attacher.
func Repository(image string) (string, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", image, err)
	}
	return reference.Path(named), nil
}

// Start runs the containers of a pod. Init containers are not run. The
// processes run until Stop or until ctx ends.
func (r *Runner) Start(ctx context.Context, pod *corev1.Pod) (*Pod, error) {
	logf := r.logf
	dir := filepath.Join(r.Dir, shortName(pod))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &Pod{Namespace: pod.Namespace, Name: pod.Name, Dir: dir, Skipped: map[string]string{}}

	var plans []*Container
	var bins []Binary
	var errs []error
	for _, c := range pod.Spec.Containers {
		repo, err := Repository(c.Image)
		if err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", c.Name, err))
			continue
		}
		if why, ok := r.Skip[repo]; ok {
			p.Skipped[c.Name] = why
			continue
		}
		bin, ok := r.Binaries[repo]
		if !ok {
			errs = append(errs, fmt.Errorf("container %s: no binary for image %s", c.Name, repo))
			continue
		}
		// The binary must be what the image is: a stale cache or a bumped
		// tag would run other code than the pod names.
		if err := r.checkVersion(ctx, c.Image, bin); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", c.Name, err))
			continue
		}
		plans = append(plans, &Container{Name: c.Name, Image: c.Image, Path: bin.Path})
		bins = append(bins, bin)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}

	vols, err := r.writeVolumes(ctx, pod, dir)
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	var binds map[string]string
	if r.Names != nil {
		if binds, err = r.Names.writeNames(pod, dir); err != nil {
			return nil, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
	}
	kubeconfig := ""
	for _, b := range bins {
		if len(b.KubeconfigFlags) > 0 {
			if kubeconfig, err = r.writeKubeconfig(ctx, pod, dir); err != nil {
				return nil, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
			}
			break
		}
	}

	for i, plan := range plans {
		spec := containerSpec(pod, plan.Name)
		env, err := r.environment(ctx, pod, spec)
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s container %s: %w", pod.Namespace, pod.Name, plan.Name, err)
		}
		mounts, err := vols.mountsOf(spec)
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s container %s: %w", pod.Namespace, pod.Name, plan.Name, err)
		}
		args := commandLine(spec, env)
		for j := range args {
			args[j] = mounts.remap(args[j])
		}
		for j := range env {
			env[j].value = mounts.remap(env[j].value)
		}
		plan.bin, plan.baseArgs = bins[i], append([]string(nil), args...)
		if args, plan.Listen, err = assignListeners(args, bins[i]); err != nil {
			return nil, fmt.Errorf("pod %s/%s container %s: %w", pod.Namespace, pod.Name, plan.Name, err)
		}
		for _, f := range bins[i].KubeconfigFlags {
			args = append(args, f+"="+kubeconfig)
		}
		plan.Args = append(args, bins[i].ExtraArgs...)
		plan.Env = processEnv(env, dir)
		plan.LogPath = filepath.Join(dir, plan.Name+".log")
		plan.BindFiles = binds
	}

	runCtx, cancel := context.WithCancel(ctx)
	p.cancel = cancel
	for _, c := range plans {
		first, err := proc.Start(proc.Spec{Name: c.Name, Dir: dir, Path: c.Path, Args: c.Args, Env: c.Env, BindFiles: c.BindFiles})
		if err != nil {
			p.Stop()
			return nil, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		c.current = first
		p.Containers = append(p.Containers, c)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			c.supervise(runCtx, dir, logf)
		}()
		logf("started %s/%s container %s (pid %d): %s", pod.Namespace, pod.Name, c.Name, first.Pid(), filepath.Base(c.Path))
	}
	return p, nil
}

func (r *Runner) logf(format string, args ...any) {
	if r.Logf != nil {
		r.Logf(format, args...)
	}
}

// Stop ends every container of the pod by its pid and waits for them.
func (p *Pod) Stop() {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	for _, c := range p.Containers {
		c.mu.Lock()
		cur := c.current
		c.mu.Unlock()
		if cur != nil {
			_ = cur.Stop(5 * time.Second)
		}
	}
}

// supervise restarts the container when it exits, with backoff (1s doubling
// to 30s, as kubelet's CrashLoopBackOff but shorter), until ctx ends; then
// it stops the current process.
func (c *Container) supervise(ctx context.Context, dir string, logf func(string, ...any)) {
	backoff := time.Second
	for {
		c.mu.Lock()
		cur := c.current
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			_ = cur.Stop(5 * time.Second)
			return
		case <-cur.Done():
		}
		c.mu.Lock()
		c.lastExit = cur.Err()
		if c.lastExit == nil {
			c.lastExit = errors.New("exited with status 0")
		}
		c.mu.Unlock()
		logf("container %s exited (%v); restarting in %s", c.Name, c.lastExit, backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
		if errors.Is(cur.CrashError(), proc.ErrAddrInUse) && (len(c.bin.ListenFlags) > 0 || len(c.bin.PortFlags) > 0) {
			if err := c.newPorts(); err != nil {
				logf("container %s cannot get new ports: %v", c.Name, err)
				return
			}
			logf("container %s could not bind a port; restarting on %v", c.Name, c.Addresses())
		}
		next, err := proc.Start(proc.Spec{Name: c.Name, Dir: dir, Path: c.Path, Args: c.Args, Env: c.Env, AppendLog: true, BindFiles: c.BindFiles})
		if err != nil {
			logf("container %s cannot restart: %v", c.Name, err)
			return
		}
		c.mu.Lock()
		c.current = next
		c.restarts++
		c.mu.Unlock()
	}
}

// newPorts gives the container's listen flags other free ports, keeping
// the arguments that follow them (kubeconfig flags, extra arguments).
func (c *Container) newPorts() error {
	args, listen, err := assignListeners(c.baseArgs, c.bin)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// assignListeners gives arguments of the same length on every call.
	c.Args = append(args, c.Args[len(args):]...)
	c.Listen = listen
	return nil
}

// shortName names a pod's directory: short, because sockets live there.
func shortName(pod *corev1.Pod) string {
	name := pod.Name
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return name
}

func containerSpec(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

// commandLine is the container's command (without the entrypoint, which the
// binary stands for) and args, with $(VAR) expanded from the environment.
func commandLine(c *corev1.Container, env []envVar) []string {
	vars := map[string]string{}
	for _, e := range env {
		vars[e.name] = e.value
	}
	var out []string
	if len(c.Command) > 1 {
		out = append(out, c.Command[1:]...)
	}
	out = append(out, c.Args...)
	for i := range out {
		out[i] = expand(out[i], vars)
	}
	return out
}

// processEnv is the container's environment, with PATH and HOME so that
// the binaries find a shell-less world as in a minimal image.
func processEnv(env []envVar, home string) []string {
	out := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home}
	for _, e := range env {
		out = append(out, e.name+"="+e.value)
	}
	return out
}

// writeKubeconfig requests a token for the pod's ServiceAccount, bound to
// the pod, and writes a kubeconfig with it.
func (r *Runner) writeKubeconfig(ctx context.Context, pod *corev1.Pod, dir string) (string, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	ttl := r.TokenTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	seconds := int64(ttl.Seconds())
	tr, err := r.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: &seconds,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s: %w", sa, err)
	}
	ca := r.Config.CAData
	if len(ca) == 0 && r.Config.CAFile != "" {
		if ca, err = os.ReadFile(r.Config.CAFile); err != nil {
			return "", err
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cluster"] = &clientcmdapi.Cluster{Server: r.Config.Host, CertificateAuthorityData: ca}
	cfg.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["pod"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: sa, Namespace: pod.Namespace}
	cfg.CurrentContext = "pod"
	path := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", err
	}
	return path, os.Chmod(path, 0o600)
}

// Names of the containers that run, sorted, for messages.
func (p *Pod) names() []string {
	var out []string
	for _, c := range p.Containers {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return out
}

// String describes the pod for messages.
func (p *Pod) String() string {
	s := fmt.Sprintf("%s/%s [%s]", p.Namespace, p.Name, strings.Join(p.names(), " "))
	if len(p.Skipped) > 0 {
		var skipped []string
		for name := range p.Skipped {
			skipped = append(skipped, name)
		}
		sort.Strings(skipped)
		s += fmt.Sprintf(" (not run: %s)", strings.Join(skipped, " "))
	}
	return s
}
