package sim_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	csiopenstack "k8s.io/cloud-provider-openstack/pkg/csi/cinder/openstack"
	occm "k8s.io/cloud-provider-openstack/pkg/openstack"

	"github.com/epks/epks/pkg/params"
	"github.com/epks/epks/pkg/render"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/test/rendertest"
)

// cloudConf goes the product's whole way to a cloud.conf for the simulator:
// viosim writes a parameters file, epks checks it and renders the chart,
// and the cloud-config Secret's files land in a directory as kubelet would
// mount them (with ca-file pointing there).
func cloudConf(t *testing.T, s *sim.Server, o sim.ParamsOptions) (string, *params.Params) {
	t.Helper()
	dir := t.TempDir()
	path, err := s.WriteFiles(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	p, err := params.Load(path)
	if err != nil {
		t.Fatalf("epks refuses viosim's parameters file: %v", err)
	}
	objs := rendertest.Objects(t, p)
	secret := render.Find(objs, "Secret", "epks-addons-cloud-config")
	conf, _ := render.SecretData(secret, "cloud.conf")
	ca, _ := render.SecretData(secret, "ca.crt")
	mount := t.TempDir()
	if err := os.WriteFile(filepath.Join(mount, "ca.crt"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(conf), "/etc/config/ca.crt", filepath.Join(mount, "ca.crt"))
	confPath := filepath.Join(mount, "cloud.conf")
	if err := os.WriteFile(confPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return confPath, p
}

// occmProvider builds the OCCM's OpenStack provider from the rendered
// cloud.conf (Octavia load balancers), as the OCCM does at start.
func occmProvider(t *testing.T, s *sim.Server) *occm.OpenStack {
	t.Helper()
	confPath, _ := cloudConf(t, s, sim.ParamsOptions{LoadBalancerProvider: "octavia"})
	f, err := os.Open(confPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := occm.ReadConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	provider, err := occm.NewOpenStack(cfg)
	if err != nil {
		t.Fatalf("the OCCM cannot start against viosim: %v", err)
	}
	return provider
}

// TestCloudControllerManagerStartsAgainstSimulator builds the OCCM's
// OpenStack provider from the rendered cloud.conf, as the OCCM does at
// start, and initializes a node from Nova.
func TestCloudControllerManagerStartsAgainstSimulator(t *testing.T) {
	s := start(t, sim.Options{})
	provider := occmProvider(t, s)
	instances, ok := provider.InstancesV2()
	if !ok {
		t.Fatal("no InstancesV2")
	}
	ctx := context.Background()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "k8scluster-minion-0"}}
	exists, err := instances.InstanceExists(ctx, node)
	if err != nil || !exists {
		t.Fatalf("InstanceExists: %v %v", exists, err)
	}
	meta, err := instances.InstanceMetadata(ctx, node)
	if err != nil {
		t.Fatalf("InstanceMetadata: %v", err)
	}
	srv := s.Seeded.Servers["k8scluster-minion-0"]
	if meta.ProviderID != "openstack:///"+srv.ID || meta.InstanceType != "m1.medium" || meta.Zone != "nova" {
		t.Errorf("metadata %+v", meta)
	}
	internal := false
	for _, a := range meta.NodeAddresses {
		internal = internal || (a.Type == corev1.NodeInternalIP && strings.HasPrefix(a.Address, "10.10."))
	}
	if !internal {
		t.Errorf("addresses %v lack the management IP", meta.NodeAddresses)
	}
	lb, ok := provider.LoadBalancer()
	if !ok {
		t.Fatal("no load balancer support with octavia")
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "1234"}}
	if _, exists, err := lb.GetLoadBalancer(ctx, "k8scluster", svc); err != nil || exists {
		t.Errorf("GetLoadBalancer of a service without one: %v %v", exists, err)
	}
}

// TestCinderCSIAgainstSimulator drives the cinder CSI plugin's OpenStack
// layer (the code its controller runs for each CSI call) with the rendered
// cloud.conf.
func TestCinderCSIAgainstSimulator(t *testing.T) {
	s := start(t, sim.Options{})
	confPath, _ := cloudConf(t, s, sim.ParamsOptions{})
	csiopenstack.InitOpenStackProvider([]string{confPath}, "")
	cloud, err := csiopenstack.CreateOpenStackProvider("")
	if err != nil {
		t.Fatalf("the CSI plugin cannot start against viosim: %v", err)
	}
	ctx := context.Background()
	vol, err := cloud.CreateVolume(ctx, &volumes.CreateOpts{Name: "pvc-1", Size: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cloud.WaitVolumeTargetStatus(ctx, vol.ID, []string{"available"}); err != nil {
		t.Fatal(err)
	}
	srv := s.Seeded.Servers["k8scluster-minion-1"]
	if _, err := cloud.AttachVolume(ctx, srv.ID, vol.ID); err != nil {
		t.Fatal(err)
	}
	if err := cloud.WaitDiskAttached(ctx, srv.ID, vol.ID); err != nil {
		t.Fatal(err)
	}
	// Cinder refuses to snapshot an attached volume unless forced, as the
	// chart's VolumeSnapshotClass asks with force-create.
	if _, err := cloud.CreateSnapshot(ctx, "snap-0", vol.ID, map[string]string{}); err == nil {
		t.Fatal("a snapshot of an in-use volume without force-create must fail, as Cinder refuses it")
	}
	snap, err := cloud.CreateSnapshot(ctx, "snap-1", vol.ID, map[string]string{"force-create": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cloud.WaitSnapshotReady(ctx, snap.ID); err != nil {
		t.Fatal(err)
	}
	if err := cloud.ExpandVolume(ctx, vol.ID, "in-use", 3); err != nil {
		t.Fatal(err)
	}
	// The controller waits for the volume to be back, as ControllerExpandVolume does.
	if err := cloud.WaitVolumeTargetStatus(ctx, vol.ID, []string{"in-use"}); err != nil {
		t.Fatal(err)
	}
	if err := cloud.DetachVolume(ctx, srv.ID, vol.ID); err != nil {
		t.Fatal(err)
	}
	if err := cloud.WaitDiskDetached(ctx, srv.ID, vol.ID); err != nil {
		t.Fatal(err)
	}
	got, err := cloud.GetVolume(ctx, vol.ID)
	if err != nil || got.Size != 3 || got.Status != "available" {
		t.Fatalf("volume after expand and detach: %+v %v", got, err)
	}
	if err := cloud.DeleteSnapshot(ctx, snap.ID); err != nil {
		t.Fatal(err)
	}
}
