package volume

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	storagehelpers "k8s.io/component-helpers/storage/volume"
)

type harness struct {
	t      *testing.T
	ctx    context.Context
	client *fake.Clientset
}

// start runs the controller against a state-holding fake clientset with
// real informers until the test ends.
func start(t *testing.T, objs ...runtime.Object) *harness {
	t.Helper()
	return startWith(t, func(*Controller) {}, objs...)
}

// startWith is start with configure applied to the controller before Run.
func startWith(t *testing.T, configure func(*Controller), objs ...runtime.Object) *harness {
	t.Helper()
	client := newClientset(objs...)
	return startClient(t, client, client, Workers, configure)
}

// startClient runs the controller with workers claim and volume workers
// against api, which is client (a fake clientset holding the test's
// objects) or a wrapper of it.
func startClient(t *testing.T, client *fake.Clientset, api kubernetes.Interface, workers int, configure func(*Controller)) *harness {
	t.Helper()
	serveLikeAPIServer(client)
	ctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactory(client, 0)
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	recorder := broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "persistentvolume-controller"})
	c := New(ctx, api, factory, recorder, workers)
	configure(c)
	factory.Start(ctx.Done())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		factory.Shutdown()
		broadcaster.Shutdown()
	})
	select {
	case <-c.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("volume controller never became ready")
	}
	return &harness{t: t, ctx: ctx, client: client}
}

func (h *harness) waitFor(what string, cond func() (bool, error)) {
	h.t.Helper()
	err := wait.PollUntilContextTimeout(h.ctx, 10*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return cond()
	})
	if err != nil {
		h.t.Fatalf("waiting for %s: %v", what, err)
	}
}

func (h *harness) claim(name string) *v1.PersistentVolumeClaim {
	h.t.Helper()
	c, err := h.client.CoreV1().PersistentVolumeClaims("default").Get(h.ctx, name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatalf("get claim %s: %v", name, err)
	}
	return c
}

func (h *harness) pv(name string) *v1.PersistentVolume {
	h.t.Helper()
	v, err := h.client.CoreV1().PersistentVolumes().Get(h.ctx, name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatalf("get volume %s: %v", name, err)
	}
	return v
}

func (h *harness) waitClaimPhase(name string, phase v1.PersistentVolumeClaimPhase) *v1.PersistentVolumeClaim {
	h.t.Helper()
	var c *v1.PersistentVolumeClaim
	h.waitFor(fmt.Sprintf("claim %s %s", name, phase), func() (bool, error) {
		c = h.claim(name)
		return c.Status.Phase == phase, nil
	})
	return c
}

func (h *harness) waitVolumePhase(name string, phase v1.PersistentVolumePhase) *v1.PersistentVolume {
	h.t.Helper()
	var v *v1.PersistentVolume
	h.waitFor(fmt.Sprintf("volume %s %s", name, phase), func() (bool, error) {
		v = h.pv(name)
		return v.Status.Phase == phase, nil
	})
	return v
}

func (h *harness) waitEvent(object, reason, msg string) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("event %s %q on %s", reason, msg, object), func() (bool, error) {
		evs, err := h.client.CoreV1().Events("").List(h.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == object && e.Reason == reason && strings.Contains(e.Message, msg) {
				return true, nil
			}
		}
		return false, nil
	})
}

func (h *harness) deleteClaim(name string) {
	h.t.Helper()
	if err := h.client.CoreV1().PersistentVolumeClaims("default").Delete(h.ctx, name, metav1.DeleteOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

func claimOf(name, class, size string) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources:   v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	if class != "-" {
		c.Spec.StorageClassName = &class
	}
	return c
}

func volumeOf(name, size string, policy v1.PersistentVolumeReclaimPolicy, src v1.PersistentVolumeSource, modes ...v1.PersistentVolumeAccessMode) *v1.PersistentVolume {
	if len(modes) == 0 {
		modes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
	}
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   modes,
			PersistentVolumeReclaimPolicy: policy,
			PersistentVolumeSource:        src,
		},
	}
}

func gcePD(name string) v1.PersistentVolumeSource {
	return v1.PersistentVolumeSource{GCEPersistentDisk: &v1.GCEPersistentDiskVolumeSource{PDName: name, FSType: "nfs4"}}
}

func hostPath(p string) v1.PersistentVolumeSource {
	return v1.PersistentVolumeSource{HostPath: &v1.HostPathVolumeSource{Path: p}}
}

func nodeOf(name, volumeDir string) *v1.Node {
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status:     v1.NodeStatus{Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}},
	}
	if volumeDir != "" {
		n.Annotations = map[string]string{VolumeDirAnnotation: volumeDir}
	}
	return n
}

func classOf(name, provisioner string, mode storagev1.VolumeBindingMode, policy v1.PersistentVolumeReclaimPolicy) *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: name},
		Provisioner:       provisioner,
		VolumeBindingMode: &mode,
		ReclaimPolicy:     &policy,
	}
}

// Seed 000: three static PVs (two of 1Mi, one of 10Mi), claims of 1Mi from
// the kubia set's template. The claims take the 1Mi volumes, smallest fit.
func TestStaticBindingSmallestFit(t *testing.T) {
	h := start(t,
		volumeOf("pv-a", "10Mi", v1.PersistentVolumeReclaimRecycle, gcePD("pv-a")),
		volumeOf("pv-b", "1Mi", v1.PersistentVolumeReclaimRecycle, gcePD("pv-b")),
		volumeOf("pv-c", "1Mi", v1.PersistentVolumeReclaimRetain, hostPath("/tmp/pv-c")),
		claimOf("data-kubia-0", "-", "1Mi"),
		claimOf("data-kubia-1", "-", "1Mi"),
		// petset's default class exists, yet class-less claims that a
		// class-less volume satisfies bind to it (retroactive default
		// class assignment happens only when nothing matched).
		DefaultStorageClass(),
	)
	used := map[string]string{}
	for _, name := range []string{"data-kubia-0", "data-kubia-1"} {
		c := h.waitClaimPhase(name, v1.ClaimBound)
		if c.Spec.VolumeName != "pv-b" && c.Spec.VolumeName != "pv-c" {
			t.Fatalf("%s bound to %q, want one of the 1Mi volumes", name, c.Spec.VolumeName)
		}
		if other, dup := used[c.Spec.VolumeName]; dup {
			t.Fatalf("%s and %s bound to the same volume %s", other, name, c.Spec.VolumeName)
		}
		used[c.Spec.VolumeName] = name
		if c.Spec.StorageClassName != nil {
			t.Fatalf("%s got class %q", name, *c.Spec.StorageClassName)
		}
		if c.Annotations[storagehelpers.AnnBindCompleted] == "" || c.Annotations[storagehelpers.AnnBoundByController] == "" {
			t.Fatalf("claim annotations %v", c.Annotations)
		}
		if q := c.Status.Capacity[v1.ResourceStorage]; q.String() != "1Mi" {
			t.Fatalf("claim capacity %s", q.String())
		}
		if len(c.Status.AccessModes) != 1 || c.Status.AccessModes[0] != v1.ReadWriteOnce {
			t.Fatalf("claim access modes %v", c.Status.AccessModes)
		}
		v := h.waitVolumePhase(c.Spec.VolumeName, v1.VolumeBound)
		if v.Spec.ClaimRef == nil || v.Spec.ClaimRef.Name != name || v.Spec.ClaimRef.UID != c.UID {
			t.Fatalf("volume %s claimRef %+v", v.Name, v.Spec.ClaimRef)
		}
		if v.Annotations[storagehelpers.AnnBoundByController] == "" {
			t.Fatalf("volume %s lacks bound-by-controller", v.Name)
		}
	}
	if v := h.waitVolumePhase("pv-a", v1.VolumeAvailable); v.Spec.ClaimRef != nil {
		t.Fatalf("10Mi volume taken: %+v", v.Spec.ClaimRef)
	}
}

// Matching rules: access modes, class, selector, volume mode, and the fewest
// access modes first.
func TestMatching(t *testing.T) {
	block := v1.PersistentVolumeBlock
	rwx := volumeOf("rwx", "1Gi", v1.PersistentVolumeReclaimRetain, hostPath("/a"), v1.ReadWriteOnce, v1.ReadWriteMany)
	rwo := volumeOf("rwo", "5Gi", v1.PersistentVolumeReclaimRetain, hostPath("/b"))
	classed := volumeOf("fast-1", "1Gi", v1.PersistentVolumeReclaimRetain, hostPath("/c"))
	classed.Spec.StorageClassName = "fast"
	labelled := volumeOf("labelled", "1Gi", v1.PersistentVolumeReclaimRetain, hostPath("/d"))
	labelled.Labels = map[string]string{"tier": "gold"}
	blockPV := volumeOf("block", "1Gi", v1.PersistentVolumeReclaimRetain, hostPath("/e"))
	blockPV.Spec.VolumeMode = &block

	wantGold := claimOf("gold", "-", "1Gi")
	wantGold.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}
	wantBlock := claimOf("raw", "-", "1Gi")
	wantBlock.Spec.VolumeMode = &block
	wantRWX := claimOf("shared", "-", "1Gi")
	wantRWX.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteMany}

	h := start(t, rwx, rwo, classed, labelled, blockPV,
		claimOf("plain", "-", "2Gi"), claimOf("fast", "fast", "1Gi"), wantGold, wantBlock, wantRWX)
	for claim, vol := range map[string]string{"fast": "fast-1", "gold": "labelled", "raw": "block", "shared": "rwx"} {
		if got := h.waitClaimPhase(claim, v1.ClaimBound).Spec.VolumeName; got != vol {
			t.Errorf("claim %s bound to %s, want %s", claim, got, vol)
		}
	}
	// "plain" (2Gi, RWO, no class) fits only rwo.
	if got := h.waitClaimPhase("plain", v1.ClaimBound).Spec.VolumeName; got != "rwo" {
		t.Errorf("claim plain bound to %s, want rwo", got)
	}
}

// Pre-binding both ways: the claim's spec.volumeName and the volume's
// claimRef.
func TestPrebinding(t *testing.T) {
	byClaim := claimOf("by-claim", "-", "1Gi")
	byClaim.Spec.VolumeName = "big"
	byVolume := volumeOf("reserved", "2Gi", v1.PersistentVolumeReclaimRetain, hostPath("/r"))
	byVolume.Spec.ClaimRef = &v1.ObjectReference{Namespace: "default", Name: "by-volume"}
	tooSmall := claimOf("too-small", "-", "5Gi")
	tooSmall.Spec.VolumeName = "small"
	h := start(t,
		volumeOf("big", "10Gi", v1.PersistentVolumeReclaimRetain, hostPath("/big")),
		volumeOf("small", "1Gi", v1.PersistentVolumeReclaimRetain, hostPath("/small")),
		byVolume, byClaim, claimOf("by-volume", "-", "1Gi"), tooSmall)
	if got := h.waitClaimPhase("by-claim", v1.ClaimBound).Spec.VolumeName; got != "big" {
		t.Fatalf("by-claim bound to %s", got)
	}
	c := h.waitClaimPhase("by-volume", v1.ClaimBound)
	if c.Spec.VolumeName != "reserved" {
		t.Fatalf("by-volume bound to %s", c.Spec.VolumeName)
	}
	if v := h.waitVolumePhase("reserved", v1.VolumeBound); v.Spec.ClaimRef.UID != c.UID {
		t.Fatalf("reserved claimRef %+v", v.Spec.ClaimRef)
	}
	h.waitEvent("too-small", "VolumeMismatch", `Cannot bind to requested volume "small": requested PV is too small`)
	if c := h.waitClaimPhase("too-small", v1.ClaimPending); c.Spec.VolumeName != "small" {
		t.Fatalf("too-small volumeName changed to %q", c.Spec.VolumeName)
	}
}

// A claim without a class gets the default class; of the default
// WaitForFirstConsumer class it waits for a consumer.
func TestDefaultClassAndWaitForFirstConsumer(t *testing.T) {
	beta := claimOf("beta", "-", "1Gi")
	beta.Annotations = map[string]string{v1.BetaStorageClassAnnotation: ""}
	h := start(t, DefaultStorageClass(), nodeOf("node1", "/var/lib/petset/volumes"), claimOf("data", "-", "1Gi"),
		claimOf("none", "", "1Gi"), beta)
	h.waitFor("default class assigned", func() (bool, error) {
		c := h.claim("data")
		return c.Spec.StorageClassName != nil && *c.Spec.StorageClassName == DefaultClassName, nil
	})
	h.waitEvent("data", "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
	c := h.waitClaimPhase("data", v1.ClaimPending)
	if c.Spec.VolumeName != "" {
		t.Fatalf("claim bound before a consumer: %s", c.Spec.VolumeName)
	}
	// An explicit empty class opts out of the default.
	h.waitEvent("none", "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
	if c := h.claim("none"); c.Spec.StorageClassName == nil || *c.Spec.StorageClassName != "" {
		t.Fatalf("explicitly class-less claim got class %v", c.Spec.StorageClassName)
	}
	// So does the beta annotation (upstream's PersistentVolumeClaimHasClass).
	h.waitEvent("beta", "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
	if c := h.claim("beta"); c.Spec.StorageClassName != nil {
		t.Fatalf("claim with the beta class annotation got class %q", *c.Spec.StorageClassName)
	}
	// The scheduler's selected-node annotation starts provisioning.
	c.Annotations = map[string]string{storagehelpers.AnnSelectedNode: "node1"}
	if _, err := h.client.CoreV1().PersistentVolumeClaims("default").Update(h.ctx, c, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c = h.waitClaimPhase("data", v1.ClaimBound)
	v := h.pv(c.Spec.VolumeName)
	if v.Spec.Local == nil || v.Spec.Local.Path != "/var/lib/petset/volumes/pvc-uid-data" {
		t.Fatalf("provisioned source %+v", v.Spec.PersistentVolumeSource)
	}
	if v.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimDelete || v.Spec.StorageClassName != DefaultClassName {
		t.Fatalf("provisioned policy %s class %s", v.Spec.PersistentVolumeReclaimPolicy, v.Spec.StorageClassName)
	}
}

// An Immediate petset.io/local class provisions right away on a Ready node
// with a volume directory.
func TestImmediateProvisioning(t *testing.T) {
	h := start(t,
		classOf("local-now", ProvisionerName, storagev1.VolumeBindingImmediate, v1.PersistentVolumeReclaimRetain),
		nodeOf("node1", ""), nodeOf("node2", "/data/petset"),
		claimOf("data", "local-now", "3Gi"))
	c := h.waitClaimPhase("data", v1.ClaimBound)
	if c.Spec.VolumeName != "pvc-uid-data" {
		t.Fatalf("claim bound to %s", c.Spec.VolumeName)
	}
	v := h.waitVolumePhase("pvc-uid-data", v1.VolumeBound)
	if v.Spec.Local == nil || v.Spec.Local.Path != "/data/petset/pvc-uid-data" {
		t.Fatalf("source %+v", v.Spec.PersistentVolumeSource)
	}
	if err := storagehelpers.CheckNodeAffinity(v, map[string]string{"kubernetes.io/hostname": "node2"}); err != nil {
		t.Fatalf("affinity: %v", err)
	}
	if q := v.Spec.Capacity[v1.ResourceStorage]; q.String() != "3Gi" {
		t.Fatalf("capacity %s", q.String())
	}
	if v.Annotations[storagehelpers.AnnDynamicallyProvisioned] != ProvisionerName || len(v.Finalizers) != 1 || v.Finalizers[0] != Finalizer {
		t.Fatalf("annotations %v finalizers %v", v.Annotations, v.Finalizers)
	}
	if v.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimRetain {
		t.Fatalf("reclaim policy %s", v.Spec.PersistentVolumeReclaimPolicy)
	}
	h.waitEvent("data", "ProvisioningSucceeded", "Successfully provisioned volume pvc-uid-data using petset.io/local")
}

// Claims are provisioned and bound by several workers at once: the volume
// creates of n claims are all in flight together (each create waits until
// the n-th has started), and every claim ends Bound to its own volume.
func TestProvisionConcurrently(t *testing.T) {
	const n = 4
	objs := []runtime.Object{
		classOf("local-now", ProvisionerName, storagev1.VolumeBindingImmediate, v1.PersistentVolumeReclaimDelete),
		nodeOf("node1", "/data/petset"),
	}
	for i := range n {
		objs = append(objs, claimOf(fmt.Sprintf("data-%d", i), "local-now", "1Gi"))
	}
	client := newClientset(objs...)
	var mu sync.Mutex
	inFlight, most := 0, 0
	all := make(chan struct{})
	// The fake clientset runs one call at a time, so the wait is in a
	// wrapper in front of it.
	api := &creatingVolumes{Interface: client, before: func() {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		if inFlight == n {
			close(all)
		}
		mu.Unlock()
		select { // bounded, so that a serial controller fails the test instead of hanging it
		case <-all:
		case <-time.After(10 * time.Second):
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
	}}
	h := startClient(t, client, api, n, func(*Controller) {})
	seen := map[string]bool{}
	for i := range n {
		c := h.waitClaimPhase(fmt.Sprintf("data-%d", i), v1.ClaimBound)
		if seen[c.Spec.VolumeName] {
			t.Fatalf("volume %s bound twice", c.Spec.VolumeName)
		}
		seen[c.Spec.VolumeName] = true
		h.waitVolumePhase(c.Spec.VolumeName, v1.VolumeBound)
	}
	mu.Lock()
	defer mu.Unlock()
	if most != n {
		t.Fatalf("at most %d volume creates were in flight at once, want %d", most, n)
	}
}

// creatingVolumes calls before ahead of every volume create.
type creatingVolumes struct {
	kubernetes.Interface
	before func()
}

func (c *creatingVolumes) CoreV1() typedcorev1.CoreV1Interface {
	return creatingVolumesV1{CoreV1Interface: c.Interface.CoreV1(), before: c.before}
}

type creatingVolumesV1 struct {
	typedcorev1.CoreV1Interface
	before func()
}

func (c creatingVolumesV1) PersistentVolumes() typedcorev1.PersistentVolumeInterface {
	return creatingVolumesPV{PersistentVolumeInterface: c.CoreV1Interface.PersistentVolumes(), before: c.before}
}

type creatingVolumesPV struct {
	typedcorev1.PersistentVolumeInterface
	before func()
}

func (c creatingVolumesPV) Create(ctx context.Context, v *v1.PersistentVolume, opts metav1.CreateOptions) (*v1.PersistentVolume, error) {
	c.before()
	return c.PersistentVolumeInterface.Create(ctx, v, opts)
}

// Classes of other provisioners are left to them, as upstream.
func TestExternalProvisioner(t *testing.T) {
	h := start(t,
		classOf("gce", "kubernetes.io/gce-pd", storagev1.VolumeBindingImmediate, v1.PersistentVolumeReclaimDelete),
		claimOf("data", "gce", "10Gi"), claimOf("missing", "nope", "1Gi"))
	h.waitEvent("data", "ExternalProvisioning", "Waiting for a volume to be created either by the external provisioner 'kubernetes.io/gce-pd'")
	h.waitFor("provisioner annotations", func() (bool, error) {
		c := h.claim("data")
		return c.Annotations[storagehelpers.AnnStorageProvisioner] == "kubernetes.io/gce-pd" &&
			c.Annotations[storagehelpers.AnnBetaStorageProvisioner] == "kubernetes.io/gce-pd", nil
	})
	h.waitEvent("missing", "ProvisioningFailed", `storageclass.storage.k8s.io "nope" not found`)
}

func bound(name, size string, policy v1.PersistentVolumeReclaimPolicy, src v1.PersistentVolumeSource, claim string) (*v1.PersistentVolume, *v1.PersistentVolumeClaim) {
	v := volumeOf(name, size, policy, src)
	c := claimOf(claim, "-", size)
	empty := ""
	c.Spec.StorageClassName = &empty
	c.Spec.VolumeName = name
	return v, c
}

// Reclaim policies when a bound claim is deleted.
func TestReclaim(t *testing.T) {
	retainPV, retainC := bound("retain", "1Gi", v1.PersistentVolumeReclaimRetain, hostPath("/r"), "c-retain")
	recyclePV, recycleC := bound("recycle", "1Gi", v1.PersistentVolumeReclaimRecycle, hostPath("/y"), "c-recycle")
	staticDelPV, staticDelC := bound("static-delete", "1Gi", v1.PersistentVolumeReclaimDelete, gcePD("d"), "c-static")
	gceRecyclePV, gceRecycleC := bound("gce-recycle", "1Gi", v1.PersistentVolumeReclaimRecycle, gcePD("g"), "c-gce-recycle")
	h := start(t, retainPV, retainC, recyclePV, recycleC, staticDelPV, staticDelC, gceRecyclePV, gceRecycleC,
		classOf("local-now", ProvisionerName, storagev1.VolumeBindingImmediate, v1.PersistentVolumeReclaimDelete),
		nodeOf("node1", "/vols"), claimOf("c-provisioned", "local-now", "1Gi"))
	for _, c := range []string{"c-retain", "c-recycle", "c-static", "c-provisioned", "c-gce-recycle"} {
		h.waitClaimPhase(c, v1.ClaimBound)
		h.deleteClaim(c)
	}

	// Retain: Released, untouched.
	v := h.waitVolumePhase("retain", v1.VolumeReleased)
	if v.Spec.ClaimRef == nil || v.Spec.ClaimRef.Name != "c-retain" {
		t.Fatalf("retained volume lost its claimRef: %+v", v.Spec.ClaimRef)
	}

	// Delete of a petset-provisioned volume: the PV object is deleted (the
	// node agent then removes the directory and the finalizer).
	h.waitFor("provisioned volume deleted", func() (bool, error) {
		v, err := h.client.CoreV1().PersistentVolumes().Get(h.ctx, "pvc-uid-c-provisioned", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return err == nil && v.DeletionTimestamp != nil, err
	})

	// Delete of a volume petset cannot delete: Failed, with upstream's event.
	v = h.waitVolumePhase("static-delete", v1.VolumeFailed)
	h.waitEvent("static-delete", "VolumeFailedDelete", "no deletable volume plugin matched")
	if v.Status.Message == "" {
		t.Fatal("failed volume without message")
	}

	// Recycle of a hostPath volume, as upstream: a recycler pod scrubs
	// /scrub; once it succeeded it is deleted and the volume is Available.
	var pod *v1.Pod
	h.waitFor("recycler pod", func() (bool, error) {
		var err error
		pod, err = h.client.CoreV1().Pods("default").Get(h.ctx, "recycler-for-recycle", metav1.GetOptions{})
		return err == nil, nil
	})
	if p := h.pv("recycle").Status.Phase; p != v1.VolumeReleased {
		t.Fatalf("recycling volume phase %s", p)
	}
	ctr := pod.Spec.Containers[0]
	if len(pod.Spec.Volumes) != 1 || pod.Spec.Volumes[0].HostPath == nil || pod.Spec.Volumes[0].HostPath.Path != "/y" ||
		len(ctr.VolumeMounts) != 1 || ctr.VolumeMounts[0].MountPath != "/scrub" || pod.Spec.RestartPolicy != v1.RestartPolicyNever ||
		strings.Join(append(ctr.Command, ctr.Args...), " ") != "/bin/sh -c "+recyclerScript ||
		pod.Spec.ActiveDeadlineSeconds == nil || *pod.Spec.ActiveDeadlineSeconds != 60 {
		t.Fatalf("recycler pod spec %+v", pod.Spec)
	}
	if _, err := h.client.CoreV1().Events("default").Create(h.ctx, &v1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "recycler-started", Namespace: "default"},
		InvolvedObject: v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: pod.Name, UID: pod.UID},
		Reason:         "Started", Message: "Started container pv-recycler", Type: v1.EventTypeNormal,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase = v1.PodSucceeded
	if _, err := h.client.CoreV1().Pods("default").UpdateStatus(h.ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	v = h.waitVolumePhase("recycle", v1.VolumeAvailable)
	if v.Spec.ClaimRef != nil {
		t.Fatalf("recycled volume keeps claimRef %+v", v.Spec.ClaimRef)
	}
	h.waitEvent("recycle", "VolumeRecycled", "Volume recycled")
	h.waitEvent("recycle", "RecyclerPod", "Recycler pod: Started container pv-recycler")
	h.waitFor("recycler pod deleted", func() (bool, error) {
		_, err := h.client.CoreV1().Pods("default").Get(h.ctx, "recycler-for-recycle", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	// Recycle of a volume with no recycler (not hostPath): Failed.
	v = h.waitVolumePhase("gce-recycle", v1.VolumeFailed)
	h.waitEvent("gce-recycle", "VolumeFailedRecycle", "No recycler plugin found for the volume!")
	if v.Status.Message != "No recycler plugin found for the volume!" {
		t.Fatalf("gce-recycle message %q", v.Status.Message)
	}
	// And it can be claimed again.
	_, again := bound("unused", "1Gi", v1.PersistentVolumeReclaimRetain, hostPath("/u"), "c-again")
	again.Spec.VolumeName = ""
	if _, err := h.client.CoreV1().PersistentVolumeClaims("default").Create(h.ctx, again, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := h.waitClaimPhase("c-again", v1.ClaimBound).Spec.VolumeName; got != "recycle" {
		t.Fatalf("new claim bound to %s", got)
	}
}

// A bound claim whose volume disappears is Lost.
func TestClaimLost(t *testing.T) {
	v, c := bound("gone", "1Gi", v1.PersistentVolumeReclaimRetain, hostPath("/g"), "orphan")
	h := start(t, v, c)
	h.waitClaimPhase("orphan", v1.ClaimBound)
	if err := h.client.CoreV1().PersistentVolumes().Delete(h.ctx, "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitClaimPhase("orphan", v1.ClaimLost)
	h.waitEvent("orphan", "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
}

func TestDefaultStorageClass(t *testing.T) {
	sc := DefaultStorageClass()
	if sc.Name != "standard" || sc.Provisioner != "petset.io/local" ||
		sc.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" ||
		*sc.ReclaimPolicy != v1.PersistentVolumeReclaimDelete ||
		*sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		t.Fatalf("default class %+v", sc)
	}
}

// newClientset is a fake clientset holding objs, each with a
// resourceVersion as the API server gives every object it stores. An
// object without one would take any update unconditionally (the API server
// allows that for an update without a resourceVersion): two workers that
// read it at once could then both write it.
func newClientset(objs ...runtime.Object) *fake.Clientset {
	stamped := make([]runtime.Object, 0, len(objs))
	for _, o := range objs {
		o = o.DeepCopyObject()
		if m, err := meta.Accessor(o); err == nil && m.GetResourceVersion() == "" {
			m.SetResourceVersion("1")
		}
		stamped = append(stamped, o)
	}
	return fake.NewClientset(stamped...)
}

// serveLikeAPIServer makes the fake clientset's writes behave as the API
// server's do for the kinds these controllers write: every created claim or
// volume gets a resourceVersion, optimistic concurrency on it (a stale
// update gets 409 Conflict), the status subresource changing only status,
// and the main resource leaving status alone. Without it a controller
// writing from a stale cache would silently clobber newer data in the fake,
// which a real server never allows.
func serveLikeAPIServer(client *fake.Clientset) {
	var mu sync.Mutex
	var rv int64 = 1000
	for _, resource := range []string{"persistentvolumes", "persistentvolumeclaims"} {
		client.PrependReactor("create", resource, func(action k8stesting.Action) (bool, runtime.Object, error) {
			obj := action.(k8stesting.CreateAction).GetObject().DeepCopyObject()
			m, err := meta.Accessor(obj)
			if err != nil {
				return false, nil, nil
			}
			mu.Lock()
			defer mu.Unlock()
			rv++
			m.SetResourceVersion(strconv.FormatInt(rv, 10))
			if err := client.Tracker().Create(action.GetResource(), obj, action.GetNamespace()); err != nil {
				return true, nil, err
			}
			return true, obj, nil
		})
	}
	client.PrependReactor("update", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		ua := action.(k8stesting.UpdateAction)
		obj := ua.GetObject()
		m, err := meta.Accessor(obj)
		if err != nil {
			return false, nil, nil
		}
		mu.Lock()
		defer mu.Unlock()
		gvr := action.GetResource()
		cur, err := client.Tracker().Get(gvr, action.GetNamespace(), m.GetName())
		if err != nil {
			return true, nil, err
		}
		cm, _ := meta.Accessor(cur)
		if m.GetResourceVersion() != "" && cm.GetResourceVersion() != "" && m.GetResourceVersion() != cm.GetResourceVersion() {
			return true, nil, apierrors.NewConflict(gvr.GroupResource(), m.GetName(),
				fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
		}
		var merged runtime.Object
		if action.GetSubresource() == "status" {
			merged = cur.DeepCopyObject()
			copyStatus(merged, obj)
		} else {
			merged = obj.DeepCopyObject()
			copyStatus(merged, cur)
		}
		rv++
		mm, _ := meta.Accessor(merged)
		mm.SetResourceVersion(strconv.FormatInt(rv, 10))
		if err := client.Tracker().Update(gvr, merged, action.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, merged, nil
	})
}

// copyStatus sets dst's status to src's for the kinds with a status
// subresource that these tests write.
func copyStatus(dst, src runtime.Object) {
	switch d := dst.(type) {
	case *v1.Pod:
		d.Status = *src.(*v1.Pod).Status.DeepCopy()
	case *v1.PersistentVolumeClaim:
		d.Status = *src.(*v1.PersistentVolumeClaim).Status.DeepCopy()
	case *v1.PersistentVolume:
		d.Status = *src.(*v1.PersistentVolume).Status.DeepCopy()
	case *v1.Node:
		d.Status = *src.(*v1.Node).Status.DeepCopy()
	}
}

// A volume pre-bound by the controller (or the scheduler) to a claim that
// then gets bound to another volume is released at once (claimRef cleared,
// Available): it must not stay half-bound until an unrelated event.
func TestPrebindingReleasedWhenClaimBoundElsewhere(t *testing.T) {
	claim := claimOf("data", "-", "2Gi")
	stale := volumeOf("stale", "1Gi", v1.PersistentVolumeReclaimRetain, hostPath("/stale"))
	stale.Spec.ClaimRef = &v1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "default", Name: "data", UID: claim.UID}
	stale.Annotations = map[string]string{storagehelpers.AnnBoundByController: annYes}
	h := start(t, claim, stale)
	// Too small: the claim stays Pending and the volume stays pre-bound.
	h.waitEvent("data", "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
	if v := h.pv("stale"); v.Spec.ClaimRef == nil {
		t.Fatalf("stale lost its claimRef before the claim was bound elsewhere")
	}
	if _, err := h.client.CoreV1().PersistentVolumes().Create(h.ctx,
		volumeOf("fits", "5Gi", v1.PersistentVolumeReclaimRetain, hostPath("/fits")), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := h.waitClaimPhase("data", v1.ClaimBound).Spec.VolumeName; got != "fits" {
		t.Fatalf("claim bound to %q, want fits", got)
	}
	h.waitFor("stale released", func() (bool, error) {
		v := h.pv("stale")
		return v.Spec.ClaimRef == nil && v.Status.Phase == v1.VolumeAvailable, nil
	})
	if _, ok := h.pv("stale").Annotations[storagehelpers.AnnBoundByController]; ok {
		t.Errorf("stale keeps the bound-by-controller annotation")
	}
}

// A recycler pod that fails, or runs past its activeDeadlineSeconds (which
// the node agent does not enforce), turns the volume Failed with upstream's
// event; the recycle is tried again until a recycler pod succeeds.
func TestRecycleFailureAndRetry(t *testing.T) {
	old := recycleRetry
	recycleRetry = 50 * time.Millisecond
	t.Cleanup(func() { recycleRetry = old })
	pv, c := bound("scrub", "1Gi", v1.PersistentVolumeReclaimRecycle, hostPath("/scrub-me"), "c-scrub")
	h := start(t, pv, c)
	h.waitClaimPhase("c-scrub", v1.ClaimBound)
	h.deleteClaim("c-scrub")

	pods := h.client.CoreV1().Pods("default")
	// nextPod waits for a fresh recycler pod and sets its status.
	nextPod := func(status v1.PodStatus) {
		t.Helper()
		var pod *v1.Pod
		h.waitFor("a fresh recycler pod", func() (bool, error) {
			p, err := pods.Get(h.ctx, "recycler-for-scrub", metav1.GetOptions{})
			if err != nil || p.Status.Phase != "" {
				return false, nil
			}
			pod = p
			return true, nil
		})
		pod.Status = status
		if _, err := pods.UpdateStatus(h.ctx, pod, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFailed := func(msg string) {
		t.Helper()
		h.waitFor("volume Failed: "+msg, func() (bool, error) {
			v := h.pv("scrub")
			return v.Status.Phase == v1.VolumeFailed && v.Status.Message == msg, nil
		})
		h.waitEvent("scrub", "VolumeFailedRecycle", msg)
	}

	started := metav1.NewTime(time.Now().Add(-2 * time.Minute))
	nextPod(v1.PodStatus{Phase: v1.PodRunning, StartTime: &started})
	waitFailed("Recycle failed: failed to recycle volume: Pod was active on the node longer than the specified deadline")

	nextPod(v1.PodStatus{Phase: v1.PodFailed, Message: "find: cannot delete"})
	waitFailed("Recycle failed: failed to recycle volume: find: cannot delete")

	nextPod(v1.PodStatus{Phase: v1.PodSucceeded})
	v := h.waitVolumePhase("scrub", v1.VolumeAvailable)
	if v.Spec.ClaimRef != nil || v.Status.Message != "" {
		t.Fatalf("recycled volume: claimRef %+v message %q", v.Spec.ClaimRef, v.Status.Message)
	}
}
