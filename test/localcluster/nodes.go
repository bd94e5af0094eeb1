package localcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// Taints and labels of the nodes, as kubeadm and kubelet set them.
const (
	ControlPlaneLabel  = "node-role.kubernetes.io/control-plane"
	UninitializedTaint = "node.cloudprovider.kubernetes.io/uninitialized"
)

// NodeIP is the InternalIP of the i-th node (in Nodes order) of a cluster
// started without UninitializedNodes: a distinct loopback address where
// nothing listens.
func NodeIP(i int) string { return fmt.Sprintf("127.0.1.%d", i+1) }

// createNodes creates the fake nodes and waits until kwok made them Ready.
func (c *Cluster) createNodes(ctx context.Context) error {
	rc, err := c.RESTConfig()
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	for i, name := range c.nodes {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
			},
			Annotations: map[string]string{
				kwokAnnotation: "fake",
				// kubelet leaves volume attachment to the controller manager.
				"volumes.kubernetes.io/controller-managed-attach-detach": "true",
			},
		}}
		if i < c.opts.ControlPlaneNodes {
			node.Labels[ControlPlaneLabel] = ""
			node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: ControlPlaneLabel, Effect: corev1.TaintEffectNoSchedule})
		}
		if c.opts.UninitializedNodes {
			node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: UninitializedTaint, Value: "true", Effect: corev1.TaintEffectNoSchedule})
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating node %s: %w", name, err)
		}
		if !c.opts.UninitializedNodes {
			patch, _ := json.Marshal(map[string]any{"status": map[string]any{"addresses": []map[string]string{
				{"type": "InternalIP", "address": NodeIP(i)}, {"type": "Hostname", "address": name},
			}}})
			if _, err := cs.CoreV1().Nodes().Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
				return fmt.Errorf("setting the addresses of node %s: %w", name, err)
			}
		}
	}
	return c.waitNodesReady(ctx, cs)
}

func (c *Cluster) waitNodesReady(ctx context.Context, cs kubernetes.Interface) error {
	var notReady []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, c.opts.StartTimeout, true, func(ctx context.Context) (bool, error) {
		if err := c.Crashed(); err != nil {
			return false, err
		}
		notReady = notReady[:0]
		for _, name := range c.nodes {
			n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			if !nodeReady(n) {
				notReady = append(notReady, name)
			}
		}
		return len(notReady) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("nodes %v not Ready: %w", notReady, err)
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}
