//go:build integration

package podrun_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/epks/epks/test/localcluster"
	"github.com/epks/epks/test/localcluster/clustertest"
	"github.com/epks/epks/test/podrun"
	"github.com/epks/epks/test/proc"
)

// TestMain lets the test binary stand for the images of the test pods:
// with PROBE_MODE set it is a container, not a test run.
// probeVersion is what this program reports with --version, as podrun asks
// it: the tag of the probe pod's images.
const probeVersion = "v1.0.0"

func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println("podrun-probe", probeVersion)
		os.Exit(0)
	}
	if mode := os.Getenv("PROBE_MODE"); mode != "" {
		os.Exit(probe(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// probe is the containers' program. "server" listens on --socket and
// answers each line with "pong <line>". "client" reports, one line each,
// what a container sees: its args, a mounted file, an env var from a
// Secret, who the API server says it is, what it may read, and the answer
// of the server container through the shared socket.
func probe(mode string, args []string) int {
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	socket := fs.String("socket", "", "unix socket")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig")
	conf := fs.String("conf", "", "a mounted file to print")
	listen := fs.String("listen", "", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *listen != "" {
		l, err := net.Listen("tcp", *listen)
		if err != nil {
			fmt.Println("listen:", err)
			return 1
		}
		defer l.Close()
		fmt.Println("listening on", l.Addr())
	}
	switch mode {
	case "server":
		l, err := net.Listen("unix", *socket)
		if err != nil {
			fmt.Println("server:", err)
			return 1
		}
		fmt.Println("serving", *socket)
		for {
			c, err := l.Accept()
			if err != nil {
				return 1
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			fmt.Fprintf(c, "pong %s", line)
			c.Close()
		}
	case "client":
		fmt.Println("args:", strings.Join(args, " "))
		data, err := os.ReadFile(*conf)
		fmt.Printf("conf: %q %v\n", data, err)
		fmt.Println("password-env:", os.Getenv("PASSWORD") == "s3cret")
		fmt.Println("node-env:", os.Getenv("NODE"))
		cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
		if err != nil {
			fmt.Println("kubeconfig:", err)
			return 1
		}
		cs := kubernetes.NewForConfigOrDie(cfg)
		ctx := context.Background()
		review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			fmt.Println("whoami:", err)
		} else {
			fmt.Println("whoami:", review.Status.UserInfo.Username)
		}
		_, err = cs.CoreV1().ConfigMaps("podrun").Get(ctx, "allowed", metav1.GetOptions{})
		fmt.Println("configmap allowed:", err == nil)
		_, err = cs.CoreV1().Secrets("podrun").Get(ctx, "creds", metav1.GetOptions{})
		fmt.Println("secret forbidden:", apierrors.IsForbidden(err))
		var answer string
		for i := 0; i < 100; i++ {
			if c, err := net.Dial("unix", *socket); err == nil {
				fmt.Fprintln(c, "ping")
				answer, _ = bufio.NewReader(c).ReadString('\n')
				c.Close()
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		fmt.Printf("socket: %q\n", strings.TrimSpace(answer))
		time.Sleep(time.Hour) // a container keeps running
	}
	return 0
}

// fixture creates the namespace, ServiceAccount, RBAC, Secret and
// ConfigMap of the test pods.
func fixture(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	for _, err := range []error{
		create(cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "podrun"}}, metav1.CreateOptions{})),
		create(cs.CoreV1().ServiceAccounts("podrun").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}, metav1.CreateOptions{})),
		create(cs.RbacV1().Roles("podrun").Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "probe"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"allowed"}, Verbs: []string{"get"}}},
		}, metav1.CreateOptions{})),
		create(cs.RbacV1().RoleBindings("podrun").Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "probe"},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "probe"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "probe", Namespace: "podrun"}},
		}, metav1.CreateOptions{})),
		create(cs.CoreV1().Secrets("podrun").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "creds"},
			Data:       map[string][]byte{"password": []byte("s3cret"), "app.conf": []byte("ca-file = \"/etc/creds/ca.crt\"\nsocket = unix:///sock/s.sock\n")},
		}, metav1.CreateOptions{})),
		create(cs.CoreV1().ConfigMaps("podrun").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "allowed"}, Data: map[string]string{"a": "b"}}, metav1.CreateOptions{})),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The pods' kube-api-access volume needs the CA ConfigMap that the
	// controller manager publishes into each new namespace.
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ConfigMaps("podrun").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatal("no kube-root-ca.crt in namespace podrun")
	}
}

func create[T any](_ T, err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// probePod is a pod of two containers sharing a socket directory, one with
// the Secret mounted and an env var from it.
func probePod(name, node string) *corev1.Pod {
	env := func(mode string) []corev1.EnvVar {
		return []corev1.EnvVar{
			{Name: "PROBE_MODE", Value: mode},
			{Name: "SOCK_DIR", Value: "/sock"},
			{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "podrun", Labels: map[string]string{"app": "probe"}},
		Spec: corev1.PodSpec{
			NodeName:           node,
			ServiceAccountName: "probe",
			Tolerations:        []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{
				{Name: "server", Image: "example.com/podrun/server:" + probeVersion, Command: []string{"/server"}, Args: []string{"--socket=$(SOCK_DIR)/s.sock"}, Env: env("server"),
					VolumeMounts: []corev1.VolumeMount{{Name: "sock", MountPath: "/sock"}}},
				{Name: "client", Image: "example.com/podrun/client:" + probeVersion, Args: []string{"--socket=/sock/s.sock", "--conf=/etc/creds/app.conf", "--listen=:8080"}, Env: env("client"),
					VolumeMounts: []corev1.VolumeMount{{Name: "sock", MountPath: "/sock"}, {Name: "creds", MountPath: "/etc/creds", ReadOnly: true}}},
				{Name: "probe", Image: "registry.k8s.io/sig-storage/livenessprobe:v2.17.0"},
			},
			Volumes: []corev1.Volume{
				{Name: "sock", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
			},
		},
	}
}

func runner(t *testing.T, c *clustertest.Cluster) *podrun.Runner {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "podrun")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return &podrun.Runner{
		Client: c.Client, Config: c.Config, Dir: dir, Logf: t.Logf,
		Binaries: map[string]podrun.Binary{
			"podrun/server": {Path: self},
			"podrun/client": {Path: self, KubeconfigFlags: []string{"--kubeconfig"}, ListenFlags: []string{"--listen"}},
		},
		Skip: map[string]string{"sig-storage/livenessprobe": "probes are not run"},
	}
}

func waitLog(t *testing.T, c *podrun.Container, want string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return strings.Contains(c.Log(), want), nil
	})
	if err != nil {
		t.Fatalf("container %s never logged %q; log:\n%s", c.Name, want, c.Log())
	}
}

// TestRunPod runs a pod's containers as processes and checks, from inside
// them, what the pod said: args with $(VAR) expanded and mount paths
// remapped, mounted Secret files with paths remapped in their text, env
// from a Secret and the downward API, the ServiceAccount's identity and
// RBAC, a socket shared through an emptyDir, listen addresses on loopback.
func TestRunPod(t *testing.T) {
	c := clustertest.Start(t, localcluster.Options{})
	fixture(t, c.Client)
	node := c.Nodes()[1]
	pod, err := c.Client.CoreV1().Pods("podrun").Create(context.Background(), probePod("probe", node), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := runner(t, c)
	rp, err := r.Start(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Stop()
	if rp.Skipped["probe"] == "" || len(rp.Containers) != 2 {
		t.Fatalf("containers %v, skipped %v", rp, rp.Skipped)
	}
	client := rp.Container("client")
	waitLog(t, client, "socket:")
	log := client.Log()
	for _, want := range []string{
		"--socket=" + rp.Dir + "/v/sock/s.sock",
		"--conf=" + rp.Dir + "/v/creds/app.conf",
		`conf: "ca-file = \"` + rp.Dir + `/v/creds/ca.crt\"\nsocket = unix://` + rp.Dir + `/v/sock/s.sock\n"`,
		"password-env: true",
		"node-env: " + node,
		"whoami: system:serviceaccount:podrun:probe",
		"configmap allowed: true",
		"secret forbidden: true",
		`socket: "pong ping"`,
		"listening on 127.0.0.1:",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the client container did not see %q; log:\n%s", want, log)
		}
	}
	if strings.Contains(log, "s3cret") {
		t.Error("the test probe printed the secret")
	}
	if !strings.Contains(rp.Container("server").Log(), "serving "+rp.Dir+"/v/sock/s.sock") {
		t.Errorf("server args not expanded: %s", rp.Container("server").Log())
	}
	if addr := client.Listen["--listen"]; !strings.HasPrefix(addr, "127.0.0.1:") || !strings.Contains(log, addr) {
		t.Errorf("listen address %q not given to the process", addr)
	}
	pids := []int{rp.Container("server").Pid(), client.Pid()}
	rp.Stop()
	for _, pid := range pids {
		if pid == 0 || proc.Alive(pid) {
			t.Errorf("pid %d still runs after Stop", pid)
		}
	}
}

// TestRunPodRestartsAndRefuses restarts a container that exits, and
// refuses a pod with an image it cannot run.
func TestRunPodRestartsAndRefuses(t *testing.T) {
	c := clustertest.Start(t, localcluster.Options{})
	fixture(t, c.Client)
	r := runner(t, c)
	bad := probePod("unknown-image", c.Nodes()[1])
	bad.Spec.Containers[0].Image = "example.com/other/thing:v1"
	if _, err := r.Start(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "no binary for image other/thing") {
		t.Fatalf("an unmapped image: %v", err)
	}

	crash := probePod("crasher", c.Nodes()[1])
	crash.Spec.Containers = crash.Spec.Containers[:1]
	crash.Spec.Containers[0].Env[0].Value = "unknown-mode-exits"
	pod, err := c.Client.CoreV1().Pods("podrun").Create(context.Background(), crash, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rp, err := r.Start(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Stop()
	err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		n, _ := rp.Container("server").Restarts()
		return n >= 2, nil
	})
	if n, last := rp.Container("server").Restarts(); err != nil || last == nil {
		t.Fatalf("restarts %d, last exit %v", n, last)
	}
}

// TestSupervisor runs pods as they are scheduled and stops them when they
// are deleted.
func TestSupervisor(t *testing.T) {
	c := clustertest.Start(t, localcluster.Options{})
	fixture(t, c.Client)
	s := &podrun.Supervisor{Runner: runner(t, c), Namespace: "podrun", Selector: "app=probe", Interval: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	pod := probePod("supervised", c.Nodes()[2])
	if _, err := c.Client.CoreV1().Pods("podrun").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var running []*podrun.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		running = s.Pods()
		return len(running) == 1, nil
	})
	if err != nil {
		t.Fatalf("the pod did not start: %v %v", s.Pods(), s.Failures())
	}
	waitLog(t, running[0].Container("client"), `socket: "pong ping"`)
	pid := running[0].Container("client").Pid()
	if err := c.Client.CoreV1().Pods("podrun").Delete(ctx, "supervised", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return len(s.Pods()) == 0 && !proc.Alive(pid), nil
	})
	if err != nil {
		t.Fatalf("the deleted pod's processes still run: %v", s.Pods())
	}
}
