package storageprotection

import (
	"context"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"petset/internal/controller/runner/runnertest"
)

func claim(name string, deleting bool, finalizers ...string) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("claim-uid-" + name), Finalizers: finalizers}}
	if deleting {
		now := metav1.Now()
		c.DeletionTimestamp = &now
	}
	return c
}

func podWith(name, node string, vols ...v1.Volume) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("pod-uid-" + name)},
		Spec:       v1.PodSpec{NodeName: node, Volumes: vols},
		Status:     v1.PodStatus{Phase: v1.PodRunning},
	}
}

func claimVolume(claimName string) v1.Volume {
	return v1.Volume{Name: "data", VolumeSource: v1.VolumeSource{
		PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claimName}}}
}

func ephemeralVolume(name string) v1.Volume {
	return v1.Volume{Name: name, VolumeSource: v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{}}}
}

// ownedBy makes pod the controller of c, as for an ephemeral volume's claim.
func ownedBy(c *v1.PersistentVolumeClaim, pod *v1.Pod) *v1.PersistentVolumeClaim {
	c.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID, Controller: ptr.To(true)}}
	return c
}

// TestPodUsesClaim is upstream's rule (podUsesPVCForDeletion): only a
// scheduled pod counts; a persistentVolumeClaim volume counts whatever the
// pod's phase; an ephemeral volume counts when the claim is the pod's own
// and the pod is not shut down.
func TestPodUsesClaim(t *testing.T) {
	www := claim("www-web-0", true, PVCFinalizer)
	running := podWith("web-0", "node1", claimVolume("www-web-0"))
	succeeded := podWith("web-0", "node1", claimVolume("www-web-0"))
	succeeded.Status.Phase = v1.PodSucceeded
	failed := podWith("web-0", "node1", claimVolume("www-web-0"))
	failed.Status.Phase = v1.PodFailed
	terminating := podWith("web-0", "node1", claimVolume("www-web-0"))
	terminating.DeletionTimestamp = ptr.To(metav1.Now())
	terminating.DeletionGracePeriodSeconds = ptr.To[int64](30)
	otherNS := podWith("web-0", "node1", claimVolume("www-web-0"))
	otherNS.Namespace = "elsewhere"

	eph := podWith("job", "node1", ephemeralVolume("scratch"))
	ephClaim := ownedBy(claim("job-scratch", true, PVCFinalizer), eph)
	strangerClaim := claim("job-scratch", true, PVCFinalizer) // same name, not the pod's
	ephShutDown := eph.DeepCopy()
	ephShutDown.DeletionTimestamp = ptr.To(metav1.Now())
	ephShutDown.DeletionGracePeriodSeconds = ptr.To[int64](0)
	ephTerminating := eph.DeepCopy()
	ephTerminating.DeletionTimestamp = ptr.To(metav1.Now())
	ephTerminating.DeletionGracePeriodSeconds = ptr.To[int64](30)

	for _, tc := range []struct {
		name  string
		pod   *v1.Pod
		claim *v1.PersistentVolumeClaim
		want  bool
	}{
		{"running pod names the claim", running, www, true},
		{"succeeded pod still exists", succeeded, www, true},
		{"failed pod still exists", failed, www, true},
		{"terminating pod (grace period running)", terminating, www, true},
		{"unscheduled pod", podWith("web-0", "", claimVolume("www-web-0")), www, false},
		{"another claim", podWith("web-1", "node1", claimVolume("www-web-1")), www, false},
		{"another namespace", otherNS, www, false},
		{"no volumes", podWith("web-0", "node1"), www, false},
		{"ephemeral claim of the pod", eph, ephClaim, true},
		{"ephemeral claim of the pod, pod terminating", ephTerminating, ephClaim, true},
		{"ephemeral claim of the pod, pod shut down", ephShutDown, ephClaim, false},
		{"ephemeral claim name, not the pod's claim", eph, strangerClaim, false},
	} {
		if got := PodUsesClaim(tc.pod, tc.claim); got != tc.want {
			t.Errorf("%s: PodUsesClaim = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// pvcHarness is a PVCController on a fake API whose informer caches are
// filled by hand: cached objects are what the informers saw, api objects
// are what the API server has.
func pvcHarness(t *testing.T, cached []runtime.Object, api ...runtime.Object) (*PVCController, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(append(append([]runtime.Object{}, cached...), api...)...)
	f := informers.NewSharedInformerFactory(client, 0)
	c, err := NewPVC(client, f.Core().V1().PersistentVolumeClaims(), f.Core().V1().Pods(), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range cached {
		switch o := o.(type) {
		case *v1.Pod:
			_ = f.Core().V1().Pods().Informer().GetIndexer().Add(o)
		case *v1.PersistentVolumeClaim:
			_ = f.Core().V1().PersistentVolumeClaims().Informer().GetIndexer().Add(o)
		}
	}
	return c, client
}

func finalizersOf(t *testing.T, client *fake.Clientset, name string) []string {
	t.Helper()
	c, err := client.CoreV1().PersistentVolumeClaims("ns").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c.Finalizers
}

// TestPVCSync: a deleted claim keeps its finalizer while a pod uses it,
// whether the informer cache knows that pod or only a live list finds it;
// it loses it once no pod does; a claim stored without the finalizer gets it.
func TestPVCSync(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		claim  *v1.PersistentVolumeClaim
		cached []runtime.Object // besides the claim
		api    []runtime.Object // only in the API server
		want   []string
	}{
		{name: "used by a running pod in the cache",
			claim:  claim("www-web-2", true, PVCFinalizer, "example.com/keep"),
			cached: []runtime.Object{podWith("web-2", "node1", claimVolume("www-web-2"))},
			want:   []string{PVCFinalizer, "example.com/keep"}},
		{name: "used by a pod the cache has not seen yet",
			claim: claim("www-web-2", true, PVCFinalizer),
			api:   []runtime.Object{podWith("web-2", "node1", claimVolume("www-web-2"))},
			want:  []string{PVCFinalizer}},
		{name: "no pod uses it",
			claim:  claim("www-web-2", true, PVCFinalizer, "example.com/keep"),
			cached: []runtime.Object{podWith("web-1", "node1", claimVolume("www-web-1"))},
			want:   []string{"example.com/keep"}},
		{name: "only an unscheduled pod names it",
			claim:  claim("www-web-2", true, PVCFinalizer),
			cached: []runtime.Object{podWith("web-2", "", claimVolume("www-web-2"))},
			want:   nil},
		{name: "stored before the admission: finalizer added",
			claim: claim("www-web-2", false),
			want:  []string{PVCFinalizer}},
		{name: "being deleted without the finalizer: left alone",
			claim: claim("www-web-2", true, "example.com/keep"),
			want:  []string{"example.com/keep"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, client := pvcHarness(t, append([]runtime.Object{tc.claim}, tc.cached...), tc.api...)
			if _, err := c.reconcile(ctx, "ns/"+tc.claim.Name); err != nil {
				t.Fatal(err)
			}
			if got := finalizersOf(t, client, tc.claim.Name); !slices.Equal(got, tc.want) {
				t.Errorf("finalizers %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPVCEnqueue: a pod's deletion queues the claims it named; a claim
// needing no work is not queued.
func TestPVCEnqueue(t *testing.T) {
	c, _ := pvcHarness(t, nil)
	rec := runnertest.Start(t, context.Background())
	c.runner = rec.Runner
	drain := func() []string {
		keys := rec.Drain()
		slices.Sort(keys)
		return keys
	}
	c.claimChanged(claim("settled", false, PVCFinalizer))
	if got := drain(); len(got) != 0 {
		t.Fatalf("a protected claim not being deleted was queued: %v", got)
	}
	c.claimChanged(claim("deleted", true, PVCFinalizer))
	c.claimChanged(claim("old", false))
	pod := podWith("web-0", "node1", claimVolume("www-web-0"), ephemeralVolume("scratch"))
	c.enqueueClaims(pod)
	want := []string{"ns/deleted", "ns/old", "ns/web-0-scratch", "ns/www-web-0"}
	if got := drain(); !slices.Equal(got, want) {
		t.Errorf("queued %v, want %v", got, want)
	}
}

func volume(name string, phase v1.PersistentVolumePhase, deleting bool, finalizers ...string) *v1.PersistentVolume {
	pv := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: finalizers}, Status: v1.PersistentVolumeStatus{Phase: phase}}
	if deleting {
		pv.DeletionTimestamp = ptr.To(metav1.Now())
	}
	return pv
}

// TestPVSync: a deleted volume keeps its finalizer while Bound and loses
// it otherwise; a volume stored without it gets it.
func TestPVSync(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		pv   *v1.PersistentVolume
		want []string
	}{
		{"bound", volume("pv", v1.VolumeBound, true, PVFinalizer, "petset.io/local-volume"), []string{PVFinalizer, "petset.io/local-volume"}},
		{"released", volume("pv", v1.VolumeReleased, true, PVFinalizer, "petset.io/local-volume"), []string{"petset.io/local-volume"}},
		{"available", volume("pv", v1.VolumeAvailable, true, PVFinalizer), nil},
		{"stored before the admission", volume("pv", v1.VolumeBound, false), []string{PVFinalizer}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset(tc.pv)
			f := informers.NewSharedInformerFactory(client, 0)
			c, err := NewPV(client, f.Core().V1().PersistentVolumes(), 1)
			if err != nil {
				t.Fatal(err)
			}
			_ = f.Core().V1().PersistentVolumes().Informer().GetIndexer().Add(tc.pv)
			if _, err := c.reconcile(ctx, "pv"); err != nil {
				t.Fatal(err)
			}
			got, err := client.CoreV1().PersistentVolumes().Get(ctx, "pv", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Finalizers, tc.want) {
				t.Errorf("finalizers %v, want %v", got.Finalizers, tc.want)
			}
		})
	}
}
