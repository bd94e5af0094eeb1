//go:build integration

package localcluster_test

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/epks/epks/test/localcluster"
	"github.com/epks/epks/test/localcluster/clustertest"
)

func TestClusterRunsWorkloads(t *testing.T) {
	c := clustertest.Start(t, localcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 3 {
		t.Fatalf("%d nodes, want 3", len(nodes.Items))
	}
	controlPlanes := 0
	for _, n := range nodes.Items {
		if _, ok := n.Labels[localcluster.ControlPlaneLabel]; ok {
			controlPlanes++
		}
		if len(n.Status.Addresses) == 0 || n.Status.NodeInfo.KubeletVersion == "" {
			t.Errorf("node %s: addresses %v, kubelet %q", n.Name, n.Status.Addresses, n.Status.NodeInfo.KubeletVersion)
		}
	}
	if controlPlanes != 1 {
		t.Errorf("%d control-plane nodes, want 1", controlPlanes)
	}

	labels := map[string]string{"app": "probe"}
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			Containers:  []corev1.Container{{Name: "c", Image: "registry.local/none:v1"}},
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		},
	}
	ns := "default"
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "probe"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(int32(2)), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dsLabels := map[string]string{"app": "probe-ds"}
	template.Labels = dsLabels
	if _, err := c.Client.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "probe-ds"},
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: dsLabels}, Template: template},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "probe", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ds, err := c.Client.AppsV1().DaemonSets(ns).Get(ctx, "probe-ds", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return d.Status.AvailableReplicas == 2 && ds.Status.DesiredNumberScheduled == 3 && ds.Status.NumberAvailable == 3, nil
	})
	if err != nil {
		t.Fatalf("Deployment and DaemonSet not Available on the kwok nodes: %v", err)
	}

	// Deleting a pod makes it go away and the Deployment replaces it.
	pods, _ := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=probe"})
	victim := pods.Items[0].Name
	if err := c.Client.CoreV1().Pods(ns).Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.Client.CoreV1().Pods(ns).Get(ctx, victim, metav1.GetOptions{})
		d, derr := c.Client.AppsV1().Deployments(ns).Get(ctx, "probe", metav1.GetOptions{})
		return apierrors.IsNotFound(err) && derr == nil && d.Status.AvailableReplicas == 2, nil
	})
	if err != nil {
		t.Fatalf("deleted pod not replaced: %v", err)
	}
}

// TestRBACAndServiceAccounts: RBAC is enforced and service-account tokens
// from the TokenRequest API authenticate.
func TestRBACAndServiceAccounts(t *testing.T) {
	c := clustertest.Start(t, localcluster.Options{ControlPlaneNodes: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sa, err := c.Client.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nobody"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.Client.CoreV1().ServiceAccounts("default").CreateToken(ctx, sa.Name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(c.Config)
	cfg.BearerToken = tr.Status.Token
	nobody := kubernetes.NewForConfigOrDie(cfg)
	_, err = nobody.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("an unprivileged ServiceAccount listing secrets: want Forbidden, got %v", err)
	}
	if !strings.Contains(err.Error(), "system:serviceaccount:default:nobody") {
		t.Errorf("the token did not authenticate as the ServiceAccount: %v", err)
	}
	review, err := nobody.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if review.Status.UserInfo.Username != "system:serviceaccount:default:nobody" {
		t.Errorf("authenticated as %q", review.Status.UserInfo.Username)
	}
}

// TestStopLeavesNothing stops a cluster and checks every pid is gone.
func TestStopLeavesNothing(t *testing.T) {
	c, err := localcluster.Start(context.Background(), localcluster.Options{Dir: t.TempDir(), WorkerNodes: 1, ControlPlaneNodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	pids := c.Pids()
	if len(pids) != 5 {
		t.Fatalf("pids %v, want 5 processes", pids)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("%s (pid %d) still runs", name, pid)
		}
	}
}

// TestDetachedAndCrashReport starts a detached cluster, kills one component
// and checks StatusDir reports it with its log, then StopDir cleans up.
func TestDetachedAndCrashReport(t *testing.T) {
	dir := t.TempDir() + "/cluster"
	c, err := localcluster.Start(context.Background(), localcluster.Options{Dir: dir, Detached: true, ControlPlaneNodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	pids := c.Pids()
	t.Cleanup(func() { _ = localcluster.StopDir(dir) })
	if err := syscall.Kill(pids["kube-scheduler"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var st []localcluster.ProcessStatus
	_ = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		st, err = localcluster.StatusDir(dir)
		for _, p := range st {
			if p.Name == "kube-scheduler" && !p.Running {
				return true, nil
			}
		}
		return false, err
	})
	for _, p := range st {
		if p.Name == "kube-scheduler" {
			if p.Running || p.LogTail == "" {
				t.Errorf("the killed scheduler: running=%v log tail %q", p.Running, p.LogTail)
			}
		} else if !p.Running {
			t.Errorf("%s is not running", p.Name)
		}
	}
	if err := localcluster.StopDir(dir); err != nil {
		t.Fatal(err)
	}
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("%s (pid %d) survived StopDir", name, pid)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("StopDir left %s", dir)
	}
}

// TestPodNetworkGate checks that with the gate a pod on the pod network
// stays Pending, without an IP, until it carries the annotation, while a
// host-network pod runs at once.
func TestPodNetworkGate(t *testing.T) {
	c := clustertest.Start(t, localcluster.Options{PodNetworkGate: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pod := func(name string, hostNetwork bool) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: corev1.PodSpec{
			HostNetwork: hostNetwork, Containers: []corev1.Container{{Name: "c", Image: "registry.local/none:v1"}},
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		}}
	}
	for _, p := range []*corev1.Pod{pod("host", true), pod("pod", false)} {
		// The default ServiceAccount comes with the controller manager.
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := c.Client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("creating pod %s: %v", p.Name, err)
		}
	}
	running := func(name string) func(context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			p, err := c.Client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			return err == nil && p.Status.Phase == corev1.PodRunning, nil
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, running("host")); err != nil {
		t.Fatalf("the host-network pod does not run: %v", err)
	}
	// kwok played the host-network pod's stage; the other had its chance.
	time.Sleep(2 * time.Second)
	p, err := c.Client.CoreV1().Pods("default").Get(ctx, "pod", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status.Phase == corev1.PodRunning || p.Status.PodIP != "" {
		t.Fatalf("the pod-network pod runs before its network is ready: %s, IP %q", p.Status.Phase, p.Status.PodIP)
	}
	patch := `{"metadata":{"annotations":{"` + localcluster.PodNetworkAnnotation + `":"ready"}}}`
	if _, err := c.Client.CoreV1().Pods("default").Patch(ctx, "pod", "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, running("pod")); err != nil {
		t.Fatalf("the pod-network pod does not run once its network is ready: %v", err)
	}
	if p, _ := c.Client.CoreV1().Pods("default").Get(ctx, "pod", metav1.GetOptions{}); p.Status.PodIP == "" {
		t.Error("the pod-network pod runs without an IP")
	}
}
