// Package scenario holds the steps that prove a cluster does what epks
// promises, the seed's two features: a LoadBalancer Service gets an external
// IP, and a claim gets a Cinder volume that is attached, snapshotted,
// restored and expanded. Each step acts through the Kubernetes API and
// waits for its outcome, so that the e2e suite (which then checks the
// cloud's side) and the demo (which reports it) do the same thing.
package scenario

import (
	"context"
	"errors"
	"fmt"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// DefaultImage serves HTTP (agnhost netexec) and idles (agnhost pause).
const DefaultImage = "registry.k8s.io/e2e-test-images/agnhost:2.53"

// Workload creates and waits for objects in one namespace.
type Workload struct {
	Client    kubernetes.Interface
	Snapshots snapclient.Interface
	Namespace string
	// Image of the pods [DefaultImage].
	Image string
	// Timeout bounds each wait [3m].
	Timeout time.Duration
	// Interval between reads [500ms].
	Interval time.Duration
}

// New returns a Workload in namespace with clients from cfg.
func New(cfg *rest.Config, namespace string) (*Workload, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	sc, err := snapclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Workload{Client: cs, Snapshots: sc, Namespace: namespace}, nil
}

func (w *Workload) image() string {
	if w.Image == "" {
		return DefaultImage
	}
	return w.Image
}

// poll calls cond until it is done, fails, or the timeout passes; the error
// then says what was awaited and the last state seen.
func (w *Workload) poll(ctx context.Context, what string, cond func(ctx context.Context) (bool, string, error)) error {
	timeout, interval := w.Timeout, w.Interval
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	if interval == 0 {
		interval = 500 * time.Millisecond
	}
	var last string
	err := wait.PollUntilContextTimeout(ctx, interval, timeout, true, func(ctx context.Context) (bool, error) {
		done, state, err := cond(ctx)
		last = state
		return done, err
	})
	if err != nil {
		if last != "" {
			return fmt.Errorf("%s: %w (last seen: %s)", what, err, last)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// CreateNamespace creates the namespace, labelled for the restricted pod
// security standard the pods meet.
func (w *Workload) CreateNamespace(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.Namespace, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "app.kubernetes.io/part-of": "epks-e2e",
	}}}
	_, err := w.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// DeleteNamespace deletes the namespace and waits until it is gone.
func (w *Workload) DeleteNamespace(ctx context.Context) error {
	err := w.Client.CoreV1().Namespaces().Delete(ctx, w.Namespace, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return w.poll(ctx, "namespace "+w.Namespace+" deleted", func(ctx context.Context) (bool, string, error) {
		_, err := w.Client.CoreV1().Namespaces().Get(ctx, w.Namespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err), "", nil
	})
}

func restrictedContainer() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false), RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65534),
		Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// LoadBalancer creates a Deployment serving HTTP on 8080 and a Service of
// type LoadBalancer in front of it with the given ports, and waits until
// the Service has an external IP.
func (w *Workload) LoadBalancer(ctx context.Context, name string, ports ...int32) (*corev1.Service, error) {
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.Namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: w.image(), Args: []string{"netexec", "--http-port=8080"},
					Ports:           []corev1.ContainerPort{{ContainerPort: 8080}},
					SecurityContext: restrictedContainer(),
				}}},
			},
		},
	}
	if _, err := w.Client.AppsV1().Deployments(w.Namespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating deployment %s: %w", name, err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.Namespace},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: labels},
	}
	for _, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: fmt.Sprintf("tcp-%d", p), Port: p, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP})
	}
	if _, err := w.Client.CoreV1().Services(w.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating service %s: %w", name, err)
	}
	var out *corev1.Service
	err := w.poll(ctx, "service "+name+" gets an external IP", func(ctx context.Context) (bool, string, error) {
		s, err := w.Client.CoreV1().Services(w.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		out = s
		ing := s.Status.LoadBalancer.Ingress
		return len(ing) > 0 && (ing[0].IP != "" || ing[0].Hostname != ""), w.eventsOf(ctx, "Service", name), nil
	})
	return out, err
}

// ExternalIP is the first ingress address of a LoadBalancer Service.
func ExternalIP(s *corev1.Service) string {
	if s == nil || len(s.Status.LoadBalancer.Ingress) == 0 {
		return ""
	}
	if ip := s.Status.LoadBalancer.Ingress[0].IP; ip != "" {
		return ip
	}
	return s.Status.LoadBalancer.Ingress[0].Hostname
}

// DeleteService deletes a Service and waits until it is gone (the cloud
// controller manager removes its load balancer first, behind a finalizer).
func (w *Workload) DeleteService(ctx context.Context, name string) error {
	if err := w.Client.CoreV1().Services(w.Namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return err
	}
	return w.poll(ctx, "service "+name+" deleted", func(ctx context.Context) (bool, string, error) {
		_, err := w.Client.CoreV1().Services(w.Namespace).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), w.eventsOf(ctx, "Service", name), nil
	})
}

// Claim creates a claim of size on the default StorageClass, from a
// VolumeSnapshot when fromSnapshot is set.
func (w *Workload) Claim(ctx context.Context, name, size, fromSnapshot string) (*corev1.PersistentVolumeClaim, error) {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.Namespace},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	if fromSnapshot != "" {
		pvc.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ptr.To(snapshotv1.GroupName), Kind: "VolumeSnapshot", Name: fromSnapshot}
	}
	out, err := w.Client.CoreV1().PersistentVolumeClaims(w.Namespace).Create(ctx, pvc, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating claim %s: %w", name, err)
	}
	return out, nil
}

// PodWithClaim creates a pod that mounts a claim at /data; with the
// StorageClass's WaitForFirstConsumer the volume is made for its node.
func (w *Workload) PodWithClaim(ctx context.Context, name, claim string) (*corev1.Pod, error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.Namespace},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{FSGroup: ptr.To[int64](65534)},
			Containers: []corev1.Container{{
				Name: "app", Image: w.image(), Args: []string{"pause"},
				VolumeMounts:    []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
				SecurityContext: restrictedContainer(),
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
			}}},
		},
	}
	out, err := w.Client.CoreV1().Pods(w.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating pod %s: %w", name, err)
	}
	return out, nil
}

// WaitBound waits until a claim is Bound and returns its volume.
func (w *Workload) WaitBound(ctx context.Context, claim string) (*corev1.PersistentVolume, error) {
	var pv *corev1.PersistentVolume
	err := w.poll(ctx, "claim "+claim+" bound", func(ctx context.Context) (bool, string, error) {
		pvc, err := w.Client.CoreV1().PersistentVolumeClaims(w.Namespace).Get(ctx, claim, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		if pvc.Status.Phase != corev1.ClaimBound {
			return false, string(pvc.Status.Phase) + "; " + w.eventsOf(ctx, "PersistentVolumeClaim", claim), nil
		}
		pv, err = w.Client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
		return err == nil, "", nil
	})
	return pv, err
}

// WaitScheduled waits until a pod is bound to a node and returns the node.
func (w *Workload) WaitScheduled(ctx context.Context, pod string) (string, error) {
	var node string
	err := w.poll(ctx, "pod "+pod+" scheduled", func(ctx context.Context) (bool, string, error) {
		p, err := w.Client.CoreV1().Pods(w.Namespace).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		node = p.Spec.NodeName
		return node != "", w.eventsOf(ctx, "Pod", pod), nil
	})
	return node, err
}

// WaitAttached waits until the volume is attached to the node and returns
// its VolumeAttachment.
func (w *Workload) WaitAttached(ctx context.Context, pv, node string) (*storagev1.VolumeAttachment, error) {
	var out *storagev1.VolumeAttachment
	err := w.poll(ctx, "volume "+pv+" attached to "+node, func(ctx context.Context) (bool, string, error) {
		list, err := w.Client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		for i := range list.Items {
			va := &list.Items[i]
			if va.Spec.Source.PersistentVolumeName != nil && *va.Spec.Source.PersistentVolumeName == pv && va.Spec.NodeName == node {
				out = va
				state := fmt.Sprintf("attached=%v", va.Status.Attached)
				if va.Status.AttachError != nil {
					state += ": " + va.Status.AttachError.Message
				}
				return va.Status.Attached, state, nil
			}
		}
		return false, "no VolumeAttachment yet", nil
	})
	return out, err
}

// Snapshot snapshots a claim with the default VolumeSnapshotClass and waits
// until it is ready to use; it returns the snapshot and its content.
func (w *Workload) Snapshot(ctx context.Context, name, claim string) (*snapshotv1.VolumeSnapshot, *snapshotv1.VolumeSnapshotContent, error) {
	vs := &snapshotv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.Namespace},
		Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To(claim)}},
	}
	if _, err := w.Snapshots.SnapshotV1().VolumeSnapshots(w.Namespace).Create(ctx, vs, metav1.CreateOptions{}); err != nil {
		return nil, nil, fmt.Errorf("creating snapshot %s: %w", name, err)
	}
	var content *snapshotv1.VolumeSnapshotContent
	err := w.poll(ctx, "snapshot "+name+" ready to use", func(ctx context.Context) (bool, string, error) {
		s, err := w.Snapshots.SnapshotV1().VolumeSnapshots(w.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		vs = s
		st := s.Status
		if st == nil || st.ReadyToUse == nil || !*st.ReadyToUse || st.BoundVolumeSnapshotContentName == nil {
			state := "not ready"
			if st != nil && st.Error != nil && st.Error.Message != nil {
				state += ": " + *st.Error.Message
			}
			return false, state + "; " + w.eventsOf(ctx, "VolumeSnapshot", name), nil
		}
		content, err = w.Snapshots.SnapshotV1().VolumeSnapshotContents().Get(ctx, *st.BoundVolumeSnapshotContentName, metav1.GetOptions{})
		return err == nil, "", nil
	})
	return vs, content, err
}

// SnapshotHandle is the storage system's id of a snapshot content.
func SnapshotHandle(c *snapshotv1.VolumeSnapshotContent) string {
	if c == nil || c.Status == nil || c.Status.SnapshotHandle == nil {
		return ""
	}
	return *c.Status.SnapshotHandle
}

// VolumeHandle is the storage system's id of a CSI volume.
func VolumeHandle(pv *corev1.PersistentVolume) string {
	if pv == nil || pv.Spec.CSI == nil {
		return ""
	}
	return pv.Spec.CSI.VolumeHandle
}

// Expand grows a claim to size and waits until its volume has that
// capacity; it returns the volume and the claim.
func (w *Workload) Expand(ctx context.Context, claim, size string) (*corev1.PersistentVolume, *corev1.PersistentVolumeClaim, error) {
	want := resource.MustParse(size)
	patch := fmt.Sprintf(`{"spec":{"resources":{"requests":{"storage":%q}}}}`, want.String())
	pvc, err := w.Client.CoreV1().PersistentVolumeClaims(w.Namespace).Patch(ctx, claim, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("expanding claim %s: %w", claim, err)
	}
	var pv *corev1.PersistentVolume
	err = w.poll(ctx, "volume of claim "+claim+" expanded to "+size, func(ctx context.Context) (bool, string, error) {
		v, err := w.Client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		pv = v
		got := v.Spec.Capacity[corev1.ResourceStorage]
		return got.Cmp(want) >= 0, "capacity " + got.String() + "; " + w.eventsOf(ctx, "PersistentVolumeClaim", claim), nil
	})
	if err != nil {
		return pv, nil, err
	}
	pvc, err = w.Client.CoreV1().PersistentVolumeClaims(w.Namespace).Get(ctx, claim, metav1.GetOptions{})
	return pv, pvc, err
}

// DeleteVolumes deletes the pods, snapshots and claims of the namespace and
// waits until their volumes and snapshot contents are gone, which means the
// provisioner and the snapshotter deleted them in the cloud.
func (w *Workload) DeleteVolumes(ctx context.Context) error {
	core := w.Client.CoreV1()
	pods, err := core.Pods(w.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	pvcs, err := core.PersistentVolumeClaims(w.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	snaps, err := w.Snapshots.SnapshotV1().VolumeSnapshots(w.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var volumes, contents []string
	for _, c := range pvcs.Items {
		if c.Spec.VolumeName != "" {
			volumes = append(volumes, c.Spec.VolumeName)
		}
	}
	for _, s := range snaps.Items {
		if s.Status != nil && s.Status.BoundVolumeSnapshotContentName != nil {
			contents = append(contents, *s.Status.BoundVolumeSnapshotContentName)
		}
	}
	var errs []error
	for _, p := range pods.Items {
		errs = append(errs, ignoreNotFound(core.Pods(w.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})))
	}
	for _, s := range snaps.Items {
		errs = append(errs, ignoreNotFound(w.Snapshots.SnapshotV1().VolumeSnapshots(w.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{})))
	}
	for _, c := range pvcs.Items {
		errs = append(errs, ignoreNotFound(core.PersistentVolumeClaims(w.Namespace).Delete(ctx, c.Name, metav1.DeleteOptions{})))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return w.poll(ctx, "volumes and snapshot contents deleted", func(ctx context.Context) (bool, string, error) {
		var left []string
		for _, v := range volumes {
			if _, err := core.PersistentVolumes().Get(ctx, v, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				left = append(left, "PersistentVolume "+v)
			}
		}
		for _, c := range contents {
			if _, err := w.Snapshots.SnapshotV1().VolumeSnapshotContents().Get(ctx, c, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				left = append(left, "VolumeSnapshotContent "+c)
			}
		}
		return len(left) == 0, fmt.Sprint(left), nil
	})
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// eventsOf summarizes the latest events of an object, for wait messages.
func (w *Workload) eventsOf(ctx context.Context, kind, name string) string {
	list, err := w.Client.CoreV1().Events(w.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=" + kind + ",involvedObject.name=" + name,
	})
	if err != nil || len(list.Items) == 0 {
		return "no events"
	}
	last := list.Items[len(list.Items)-1]
	return fmt.Sprintf("event %s: %s", last.Reason, last.Message)
}
