package scheduler

import (
	"context"
	"slices"
	"sort"

	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"petset/internal/controller/volume"
	"petset/internal/sharedvolume"
)

// startWithVolumes runs the scheduler and the volume controller together on
// one informer factory, as the server does.
func startWithVolumes(t *testing.T, objs ...runtime.Object) *harness {
	h, factory, recorder := newHarness(t, objs...)
	s := New(h.ctx, h.client, factory, recorder, 1)
	vc := volume.New(h.ctx, h.client, factory, recorder, 1)
	factory.Start(h.ctx.Done())
	h.run(s.Run)
	h.run(vc.Run)
	return h
}

func withVolumeDir(dir string) nodeOpt {
	return func(n *v1.Node) {
		if n.Annotations == nil {
			n.Annotations = map[string]string{}
		}
		n.Annotations[volume.VolumeDirAnnotation] = dir
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

// A claim without a class, used by a pod, of the default WaitForFirstConsumer
// class: the scheduler selects a node, the volume controller provisions a
// volume there, the claim binds, then the pod is bound to that node.
func TestWaitForFirstConsumerProvisioning(t *testing.T) {
	claim := newClaim("data-web-0", "-", "1Gi")
	h := startWithVolumes(t,
		newNode("node1", withVolumeDir("/var/lib/petset/node1")),
		newNode("node2", withVolumeDir("/var/lib/petset/node2"), withLabels("disk", "ssd")),
		newNode("node3", withVolumeDir("/var/lib/petset/node3")),
		volume.DefaultStorageClass(),
		claim,
		newPod("web-0", claimVolume("data-web-0"), nodeSelector("disk", "ssd")),
	)
	node := h.waitBound("web-0")
	if node != "node2" {
		t.Fatalf("pod bound to %s, want node2", node)
	}
	c := h.claim("data-web-0")
	if c.Status.Phase != v1.ClaimBound {
		t.Fatalf("pod bound before its claim: claim phase %q", c.Status.Phase)
	}
	if c.Spec.StorageClassName == nil || *c.Spec.StorageClassName != "standard" {
		t.Fatalf("claim class %v, want the default class standard", c.Spec.StorageClassName)
	}
	if got := c.Annotations[storagehelpers.AnnSelectedNode]; got != "node2" {
		t.Fatalf("selected-node annotation %q", got)
	}
	if got := c.Annotations[storagehelpers.AnnStorageProvisioner]; got != volume.ProvisionerName {
		t.Fatalf("storage-provisioner annotation %q", got)
	}
	wantPV := "pvc-" + string(claim.UID)
	if c.Spec.VolumeName != wantPV {
		t.Fatalf("claim bound to %q, want %q", c.Spec.VolumeName, wantPV)
	}
	pv, err := h.client.CoreV1().PersistentVolumes().Get(h.ctx, wantPV, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Spec.Local == nil || pv.Spec.Local.Path != "/var/lib/petset/node2/"+wantPV {
		t.Fatalf("volume source %+v", pv.Spec.PersistentVolumeSource)
	}
	if err := storagehelpers.CheckNodeAffinity(pv, map[string]string{"kubernetes.io/hostname": "node2"}); err != nil {
		t.Fatalf("PV node affinity does not admit node2: %v", err)
	}
	if err := storagehelpers.CheckNodeAffinity(pv, map[string]string{"kubernetes.io/hostname": "node1"}); err == nil {
		t.Fatal("PV node affinity admits node1")
	}
	if pv.Status.Phase != v1.VolumeBound || pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != claim.UID {
		t.Fatalf("PV phase %q claimRef %+v", pv.Status.Phase, pv.Spec.ClaimRef)
	}
	h.waitEvent("data-web-0", "ProvisioningSucceeded", "Successfully provisioned volume "+wantPV)
	h.waitEvent("web-0", "Scheduled", "Successfully assigned default/web-0 to node2")
}

// With a matching static local PV of a WaitForFirstConsumer class, the
// scheduler picks the PV's node and pre-binds it; the volume controller
// completes the binding; the pod follows.
func TestWaitForFirstConsumerStaticVolume(t *testing.T) {
	small := newLocalPV("local-small", "local-storage", "1Gi", "node3")
	big := newLocalPV("local-big", "local-storage", "10Gi", "node1")
	h := startWithVolumes(t,
		newNode("node1"), newNode("node2"), newNode("node3"),
		newClass("local-storage", storagehelpers.NotSupportedProvisioner, storagev1.VolumeBindingWaitForFirstConsumer),
		big, small,
		newClaim("data-db-0", "local-storage", "1Gi"),
		newPod("db-0", claimVolume("data-db-0")),
	)
	node := h.waitBound("db-0")
	c := h.claim("data-db-0")
	if c.Status.Phase != v1.ClaimBound {
		t.Fatalf("claim phase %q", c.Status.Phase)
	}
	want := map[string]string{"node3": "local-small", "node1": "local-big"}[node]
	if want == "" || c.Spec.VolumeName != want {
		t.Fatalf("pod on %s, claim bound to %q", node, c.Spec.VolumeName)
	}
	pv, err := h.client.CoreV1().PersistentVolumes().Get(context.Background(), want, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Status.Phase != v1.VolumeBound || pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.Name != "data-db-0" {
		t.Fatalf("PV %s phase %q claimRef %+v", want, pv.Status.Phase, pv.Spec.ClaimRef)
	}
}

// A pod whose claim is already bound to a PV on a node that is down waits.
func TestBoundVolumeOnUnavailableNode(t *testing.T) {
	claim := newClaim("data", "local-storage", "1Gi")
	claim.Spec.VolumeName = "pv-1"
	claim.Status.Phase = v1.ClaimBound
	pv := newLocalPV("pv-1", "local-storage", "1Gi", "node1")
	pv.Spec.ClaimRef = &v1.ObjectReference{Namespace: "default", Name: "data", UID: claim.UID}
	pv.Status.Phase = v1.VolumeBound
	h := startScheduler(t,
		newNode("node1", withReady(v1.ConditionUnknown), withTaint("node.kubernetes.io/unreachable", "", v1.TaintEffectNoSchedule)),
		newNode("node2"),
		newClass("local-storage", storagehelpers.NotSupportedProvisioner, storagev1.VolumeBindingWaitForFirstConsumer),
		claim, pv, newPod("web-0", claimVolume("data")))
	want := "0/2 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) had volume node affinity conflict. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
	if got := h.waitUnschedulable("web-0"); got != want {
		t.Fatalf("message:\n got %q\nwant %q", got, want)
	}
	// petset's hint, in an event of its own.
	h.waitEvent("web-0", "VolumeNodeLost", `persistentvolumeclaim "data" is bound to volume "pv-1", whose data is on node "node1" only, and node "node1" is NotReady (Ready=Unknown since `)
	h.waitEvent("web-0", "VolumeNodeLost", `or annotate the StatefulSet petset.io/lost-volume-policy=Recreate`)
}

// A bound volume pinned to a node that no longer exists: kube's conflict on
// every node, and the hint says the node is gone.
func TestBoundVolumeOnDeletedNode(t *testing.T) {
	claim := newClaim("data", "local-storage", "1Gi")
	claim.Spec.VolumeName = "pv-1"
	claim.Status.Phase = v1.ClaimBound
	pv := newLocalPV("pv-1", "local-storage", "1Gi", "node1")
	pv.Spec.ClaimRef = &v1.ObjectReference{Namespace: "default", Name: "data", UID: claim.UID}
	pv.Status.Phase = v1.VolumeBound
	h := startScheduler(t, newNode("node2"),
		newClass("local-storage", storagehelpers.NotSupportedProvisioner, storagev1.VolumeBindingWaitForFirstConsumer),
		claim, pv, newPod("web-0", claimVolume("data")))
	want := "0/1 nodes are available: 1 node(s) had volume node affinity conflict. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
	if got := h.waitUnschedulable("web-0"); got != want {
		t.Fatalf("message:\n got %q\nwant %q", got, want)
	}
	h.waitEvent("web-0", "VolumeNodeLost", `whose data is on node "node1" only, and node "node1" no longer exists: the pod can only run there.`)
}

// Replicas created at once (podManagementPolicy Parallel) with required
// anti-affinity and volumes of the default class: while one pod waits for
// its volume the node chosen for it is held, so the three pods and their
// volumes end up on three different nodes.
func TestParallelReplicasWithVolumesSpread(t *testing.T) {
	objs := []runtime.Object{volume.DefaultStorageClass()}
	for _, n := range []string{"node1", "node2", "node3"} {
		objs = append(objs, newNode(n, withVolumeDir("/var/lib/petset/"+n)))
	}
	names := []string{"web-0", "web-1", "web-2"}
	for _, name := range names {
		objs = append(objs, newClaim("www-"+name, "-", "1Gi"),
			newPod(name, podLabels("app", "nginx"), antiAffinityHostname("app", "nginx"), claimVolume("www-"+name)))
	}
	h := startWithVolumes(t, objs...)
	nodes := map[string]string{}
	for _, name := range names {
		node := h.waitBound(name)
		if other, dup := nodes[node]; dup {
			t.Fatalf("%s and %s both on %s", other, name, node)
		}
		nodes[node] = name
		c := h.claim("www-" + name)
		pv, err := h.client.CoreV1().PersistentVolumes().Get(h.ctx, c.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("volume of %s: %v", name, err)
		}
		if err := storagehelpers.CheckNodeAffinity(pv, map[string]string{"kubernetes.io/hostname": node}); err != nil {
			t.Fatalf("volume of %s not on its node %s: %v", name, node, err)
		}
	}
}

// Static PVs without a class and claims stored without a class (created
// while no default class existed: the DefaultStorageClass admission, not
// run here, would otherwise have given them "standard"), with petset's
// default class present now. As upstream's retroactive default, such claims
// first match class-less volumes: they bind to the static PVs and the pods
// are scheduled once they are bound.
func TestStaticVolumesWithDefaultClassPresent(t *testing.T) {
	gce := func(name, size string) *v1.PersistentVolume {
		pv := newLocalPV(name, "", size, "")
		pv.Spec.NodeAffinity = nil
		pv.Spec.PersistentVolumeSource = v1.PersistentVolumeSource{GCEPersistentDisk: &v1.GCEPersistentDiskVolumeSource{PDName: name, FSType: "nfs4"}}
		pv.Spec.PersistentVolumeReclaimPolicy = v1.PersistentVolumeReclaimRecycle
		pv.Status.Phase = ""
		return pv
	}
	h := startWithVolumes(t,
		newNode("node1", withVolumeDir("/v")), newNode("node2", withVolumeDir("/v")),
		volume.DefaultStorageClass(),
		gce("pv-a", "1Mi"), gce("pv-b", "1Mi"), gce("pv-c", "1Mi"),
		newClaim("data-kubia-0", "-", "1Mi"), newClaim("data-kubia-1", "-", "1Mi"),
		newPod("kubia-0", claimVolume("data-kubia-0")), newPod("kubia-1", claimVolume("data-kubia-1")),
	)
	seen := map[string]bool{}
	for _, name := range []string{"kubia-0", "kubia-1"} {
		h.waitBound(name)
		c := h.claim("data-" + name)
		if c.Status.Phase != v1.ClaimBound || !map[string]bool{"pv-a": true, "pv-b": true, "pv-c": true}[c.Spec.VolumeName] {
			t.Fatalf("claim of %s: phase %s volume %q", name, c.Status.Phase, c.Spec.VolumeName)
		}
		if seen[c.Spec.VolumeName] {
			t.Fatalf("volume %s bound twice", c.Spec.VolumeName)
		}
		seen[c.Spec.VolumeName] = true
	}
}

// A claim whose selected node has gone away before its volume was
// provisioned is moved to a node that can take the pod.
func TestSelectedNodeGone(t *testing.T) {
	claim := newClaim("data-web-0", "standard", "1Gi")
	claim.Annotations = map[string]string{storagehelpers.AnnSelectedNode: "gone"}
	h := startWithVolumes(t,
		newNode("node1", withVolumeDir("/v1")),
		volume.DefaultStorageClass(), claim,
		newPod("web-0", claimVolume("data-web-0")))
	if got := h.waitBound("web-0"); got != "node1" {
		t.Fatalf("bound to %s", got)
	}
	c := h.claim("data-web-0")
	if c.Annotations[storagehelpers.AnnSelectedNode] != "node1" || c.Status.Phase != v1.ClaimBound {
		t.Fatalf("claim selected-node %q phase %s", c.Annotations[storagehelpers.AnnSelectedNode], c.Status.Phase)
	}
}

// Issue 8 item 2 (seed 000, kubia scaled to 3 with pv-c Available): a claim
// of the default WaitForFirstConsumer class that a static hostPath PV
// matches is bound to that PV. As upstream's binder, the scheduler only
// pre-binds the PV and does not mark the claim with selected-node (which
// asks the volume controller to provision): nothing is provisioned and the
// static PV is not left half-bound.
func TestStaticVolumePreferredOverProvisioning(t *testing.T) {
	static := newLocalPV("pv-c", volume.DefaultClassName, "1Mi", "")
	static.Spec.NodeAffinity = nil
	static.Spec.PersistentVolumeSource = v1.PersistentVolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/srv/pv-c"}}
	h := startWithVolumes(t,
		newNode("node1", withVolumeDir("/var/lib/petset/node1")),
		volume.DefaultStorageClass(),
		static,
		newClaim("data-kubia-2", volume.DefaultClassName, "1Mi"),
		newPod("kubia-2", claimVolume("data-kubia-2")),
	)
	h.waitBound("kubia-2")
	c := h.claim("data-kubia-2")
	if c.Status.Phase != v1.ClaimBound || c.Spec.VolumeName != "pv-c" {
		t.Fatalf("claim phase %s bound to %q, want pv-c", c.Status.Phase, c.Spec.VolumeName)
	}
	if sel, ok := c.Annotations[storagehelpers.AnnSelectedNode]; ok {
		t.Errorf("claim matched to a static volume carries %s=%s (asks for provisioning)", storagehelpers.AnnSelectedNode, sel)
	}
	pvs, err := h.client.CoreV1().PersistentVolumes().List(h.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pv := range pvs.Items {
		if pv.Name != "pv-c" {
			t.Errorf("volume %s provisioned although pv-c matched", pv.Name)
		}
	}
}

// A claim of a petset.io/shared class of the user's own, without the
// installed class's topology, still goes only to a node that reaches a
// shared root.
func TestSharedClassNeedsARootNode(t *testing.T) {
	root := func(n *v1.Node) { n.Labels[sharedvolume.RootLabel] = "0123456789abcdef" }
	h := startScheduler(t, newNode("node1"), newNode("node2", root), newNode("node3"),
		newClass("shared-retain", sharedvolume.ProvisionerName, storagev1.VolumeBindingWaitForFirstConsumer),
		newClaim("data", "shared-retain", "1Gi"), newPod("web-0", claimVolume("data")))
	h.waitFor("node2 selected for the claim", func() (bool, error) {
		return h.claim("data").Annotations[storagehelpers.AnnSelectedNode] == "node2", nil
	})
}

// A claim's change wakes only the parked pods that use it (and marks such a
// pod that is being tried); volume changes wake only pods that hold no node.
// Waking every parked pod on each claim update made scheduling N pods with
// claims cost N² attempts.
func TestClaimChangeWakesItsPods(t *testing.T) {
	h, factory, recorder := newHarness(t,
		newPod("web-0", claimVolume("data-web-0")),
		newPod("web-1", claimVolume("data-web-1")),
		newPod("other", nodeSelector("disk", "ssd")),
	)
	s := New(h.ctx, h.client, factory, recorder, 1)
	factory.Start(h.ctx.Done())
	factory.WaitForCacheSync(h.ctx.Done())
	later := time.Now().Add(time.Hour)
	parkAs := func(holding bool, names ...string) {
		for _, name := range names {
			pod := h.pod(name)
			s.mu.Lock()
			s.parked.park(podKey(pod), podClaims(pod), holding, later)
			s.mu.Unlock()
		}
	}
	park := func(names ...string) { parkAs(false, names...) }
	parked := func() []string {
		s.mu.Lock()
		defer s.mu.Unlock()
		out := append(s.parked.unschedulableKeys(), s.parked.holdingKeys()...)
		sort.Strings(out)
		return out
	}
	park("web-0", "web-1", "other")
	s.claimChanged(newClaim("data-web-1", "-", "1Gi"))
	if got := parked(); !slices.Equal(got, []string{"default/other", "default/web-0"}) {
		t.Fatalf("after data-web-1 changed, parked %v", got)
	}
	s.claimChanged(cache.DeletedFinalStateUnknown{Key: "default/data-web-0", Obj: newClaim("data-web-0", "-", "1Gi")})
	if got := parked(); !slices.Equal(got, []string{"default/other"}) {
		t.Fatalf("after data-web-0 was deleted, parked %v", got)
	}

	// A pod being tried when its claim changes retries instead of parking.
	s.mu.Lock()
	s.inflight["default/web-0"] = true
	seen := seenEvents{all: s.events, nodes: s.nodeEvents}
	s.mu.Unlock()
	s.claimChanged(newClaim("data-web-0", "-", "1Gi"))
	s.park(h.pod("web-0"), seen, false)
	if got := parked(); slices.Contains(got, "default/web-0") {
		t.Fatalf("web-0 parked although its claim changed during its attempt: %v", got)
	}

	// A volume's change, or a pod's, wakes pods looking for a place, not
	// those holding one; a node's change wakes both.
	s.mu.Lock()
	delete(s.inflight, "default/web-0")
	s.mu.Unlock()
	parkAs(true, "web-1")
	park("other")
	s.storageChanged()
	if got := parked(); !slices.Equal(got, []string{"default/web-1"}) {
		t.Fatalf("after a volume changed, parked %v", got)
	}
	park("other")
	s.podsChanged()
	if got := parked(); !slices.Equal(got, []string{"default/web-1"}) {
		t.Fatalf("after a pod changed, parked %v", got)
	}
	s.clusterChanged()
	if got := parked(); len(got) != 0 {
		t.Fatalf("after a node changed, parked %v", got)
	}
	// The claims index is emptied with the pods.
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.parked.podsOf) != 0 || len(s.parked.claimsOf) != 0 {
		t.Fatalf("claims index left: %v %v", s.parked.podsOf, s.parked.claimsOf)
	}
}

// A holding pod that parks after a pod event (not a node or claim event)
// during its attempt stays parked; one that saw a node event retries.
func TestHoldingPodIgnoresPodEvents(t *testing.T) {
	h, factory, recorder := newHarness(t, newPod("web-0", claimVolume("data-web-0")))
	s := New(h.ctx, h.client, factory, recorder, 1)
	factory.Start(h.ctx.Done())
	factory.WaitForCacheSync(h.ctx.Done())
	pod := h.pod("web-0")
	seen := func() seenEvents {
		s.mu.Lock()
		defer s.mu.Unlock()
		return seenEvents{all: s.events, nodes: s.nodeEvents}
	}
	isParked := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.parked.holding["default/web-0"]
	}
	before := seen()
	s.podsChanged()
	s.park(pod, before, true)
	if !isParked() {
		t.Fatal("a pod event during the attempt requeued a pod holding a node")
	}
	before = seen()
	s.clusterChanged() // wakes it
	s.park(pod, before, true)
	if isParked() {
		t.Fatal("a node event during the attempt did not requeue a pod holding a node")
	}
}

// The scheduler's own selected-node write wakes nobody; any other change of
// the claim does.
func TestOnlyNodeSelected(t *testing.T) {
	old := newClaim("data-web-0", "standard", "1Gi")
	old.ResourceVersion = "1"
	sel := old.DeepCopy()
	sel.ResourceVersion = "2"
	sel.Annotations = map[string]string{annSelectedNode: "node1"}
	if !onlyNodeSelected(old, sel) {
		t.Fatal("selected-node write not recognised")
	}
	bound := sel.DeepCopy()
	bound.Spec.VolumeName = "pv-1"
	if onlyNodeSelected(old, bound) {
		t.Fatal("a bind with the selected-node write counted as only that")
	}
	if onlyNodeSelected(sel, sel) {
		t.Fatal("an update of a claim that already had a selected node counted")
	}
	moved := sel.DeepCopy()
	moved.Annotations[annSelectedNode] = "node2"
	if onlyNodeSelected(sel, moved) {
		t.Fatal("a changed selected node counted")
	}

	// The volume controller's first binding write (volume named, claim
	// not yet Bound) wakes nobody; the second (Bound) does.
	named := sel.DeepCopy()
	named.Spec.VolumeName = "pv-1"
	if !bindingHalfway(sel, named) {
		t.Fatal("the first binding write not recognised")
	}
	boundClaim := named.DeepCopy()
	boundClaim.Status.Phase = v1.ClaimBound
	if bindingHalfway(named, boundClaim) || bindingHalfway(sel, boundClaim) {
		t.Fatal("a claim turning Bound counted as halfway")
	}
}
