package garbagecollector

import (
	"context"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
)

var (
	stsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	revGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "controllerrevisions"}
	podGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	pvcGVR = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}
	nodGVR = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}

	testResources = []Resource{
		{GVR: stsGVR, Kind: "StatefulSet", Namespaced: true},
		{GVR: revGVR, Kind: "ControllerRevision", Namespaced: true},
		{GVR: podGVR, Kind: "Pod", Namespaced: true},
		{GVR: pvcGVR, Kind: "PersistentVolumeClaim", Namespaced: true},
		{GVR: nodGVR, Kind: "Node", Namespaced: false},
	}
)

// server wraps the state-holding fake metadata client with the deletion
// semantics of the Kubernetes API server (kube-api.md §5.5): propagation
// finalizers, UID preconditions, graceful pod deletion, and removal of an
// object whose last finalizer is dropped while it is being deleted.
type server struct {
	*metadatafake.FakeMetadataClient
	tracker clienttesting.ObjectTracker

	mu       sync.Mutex
	policies map[string]metav1.DeletionPropagation // "resource/ns/name" -> policy the GC used
}

func newServer(t *testing.T) *server {
	t.Helper()
	scheme := runtime.NewScheme()
	metav1.AddMetaToScheme(scheme)
	fc := metadatafake.NewSimpleMetadataClient(scheme)
	s := &server{FakeMetadataClient: fc, tracker: fc.Tracker(), policies: map[string]metav1.DeletionPropagation{}}
	fc.PrependReactor("delete", "*", s.reactDelete)
	fc.PrependReactor("patch", "*", s.reactPatch)
	return s
}

func (s *server) get(gvr schema.GroupVersionResource, ns, name string) (*metav1.PartialObjectMetadata, error) {
	obj, err := s.tracker.Get(gvr, ns, name)
	if err != nil {
		return nil, err
	}
	return obj.(*metav1.PartialObjectMetadata).DeepCopy(), nil
}

func (s *server) reactDelete(action clienttesting.Action) (bool, runtime.Object, error) {
	da := action.(clienttesting.DeleteActionImpl)
	gvr, ns, name := da.GetResource(), da.GetNamespace(), da.Name
	m, err := s.get(gvr, ns, name)
	if err != nil {
		return true, nil, err
	}
	opts := da.DeleteOptions
	if opts.Preconditions != nil && opts.Preconditions.UID != nil && *opts.Preconditions.UID != m.UID {
		return true, nil, apierrors.NewConflict(gvr.GroupResource(), name, nil)
	}
	policy := metav1.DeletePropagationBackground
	if opts.PropagationPolicy != nil {
		policy = *opts.PropagationPolicy
	}
	s.mu.Lock()
	s.policies[gvr.Resource+"/"+ns+"/"+name] = policy
	s.mu.Unlock()
	switch policy {
	case metav1.DeletePropagationOrphan:
		m.Finalizers = appendOnce(m.Finalizers, FinalizerOrphan)
	case metav1.DeletePropagationForeground:
		m.Finalizers = appendOnce(m.Finalizers, FinalizerForegroundDeletion)
	}
	if len(m.Finalizers) == 0 && gvr != podGVR {
		return true, nil, s.tracker.Delete(gvr, ns, name)
	}
	// Pods terminate gracefully: they stay until their node agent removes
	// them. Objects with finalizers stay until the finalizers are gone.
	if m.DeletionTimestamp == nil {
		now := metav1.Now()
		m.DeletionTimestamp = &now
		if gvr == podGVR {
			m.DeletionGracePeriodSeconds = ptr(int64(30))
		}
	}
	return true, nil, s.tracker.Update(gvr, m, ns)
}

func (s *server) reactPatch(action clienttesting.Action) (bool, runtime.Object, error) {
	pa := action.(clienttesting.PatchActionImpl)
	handled, obj, err := clienttesting.ObjectReaction(s.tracker)(action)
	if err != nil || !handled {
		return handled, obj, err
	}
	m, gerr := s.get(pa.GetResource(), pa.GetNamespace(), pa.Name)
	graceful := m != nil && m.DeletionGracePeriodSeconds != nil && *m.DeletionGracePeriodSeconds > 0
	if gerr == nil && m.DeletionTimestamp != nil && len(m.Finalizers) == 0 && !graceful {
		if derr := s.tracker.Delete(pa.GetResource(), pa.GetNamespace(), pa.Name); derr != nil {
			return true, nil, derr
		}
	}
	return handled, obj, err
}

func (s *server) policy(gvr schema.GroupVersionResource, ns, name string) metav1.DeletionPropagation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policies[gvr.Resource+"/"+ns+"/"+name]
}

func appendOnce(list []string, v string) []string {
	if hasString(list, v) {
		return list
	}
	return append(list, v)
}

type obj struct {
	gvr        schema.GroupVersionResource
	apiVersion string
	kind       string
	ns, name   string
	uid        types.UID
	owners     []metav1.OwnerReference
	finalizers []string
	deleting   bool
}

func (s *server) create(t *testing.T, o obj) {
	t.Helper()
	m := &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: o.apiVersion, Kind: o.kind},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: o.ns, Name: o.name, UID: o.uid,
			OwnerReferences: o.owners, Finalizers: o.finalizers,
		},
	}
	if o.deleting {
		now := metav1.Now()
		m.DeletionTimestamp = &now
	}
	if err := s.tracker.Create(o.gvr, m, o.ns); err != nil {
		t.Fatalf("create %s %s: %v", o.gvr.Resource, o.name, err)
	}
}

func ref(apiVersion, kind, name string, uid types.UID, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, Controller: ptr(true), BlockOwnerDeletion: ptr(block)}
}

func ptr[T any](v T) *T { return &v }

func setRef(name string, uid types.UID) metav1.OwnerReference {
	return ref("apps/v1", "StatefulSet", name, uid, true)
}

func podRef(name string, uid types.UID) metav1.OwnerReference {
	return ref("v1", "Pod", name, uid, true)
}

func set(name string, uid types.UID) obj {
	return obj{gvr: stsGVR, apiVersion: "apps/v1", kind: "StatefulSet", ns: "default", name: name, uid: uid}
}

func pod(name string, uid types.UID, owners ...metav1.OwnerReference) obj {
	return obj{gvr: podGVR, apiVersion: "v1", kind: "Pod", ns: "default", name: name, uid: uid, owners: owners}
}

func pvc(name string, uid types.UID, owners ...metav1.OwnerReference) obj {
	return obj{gvr: pvcGVR, apiVersion: "v1", kind: "PersistentVolumeClaim", ns: "default", name: name, uid: uid, owners: owners}
}

func rev(name string, uid types.UID, owners ...metav1.OwnerReference) obj {
	return obj{gvr: revGVR, apiVersion: "apps/v1", kind: "ControllerRevision", ns: "default", name: name, uid: uid, owners: owners}
}

// start runs a collector on s and returns once every informer watches.
func start(t *testing.T, s *server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := New(ctx, s, testResources, 2)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-c.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("collector never became ready")
	}
	// The fake tracker only tells watchers about changes made after they
	// registered, so wait for every resource's watch before changing state.
	waitFor(t, "all informers watching", func() bool {
		watching := map[schema.GroupVersionResource]bool{}
		for _, a := range s.Actions() {
			if a.GetVerb() == "watch" {
				watching[a.GetResource()] = true
			}
		}
		return len(watching) == len(testResources)
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 30*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func (s *server) gone(gvr schema.GroupVersionResource, name string) func() bool {
	return func() bool {
		_, err := s.get(gvr, "default", name)
		return apierrors.IsNotFound(err)
	}
}

func (s *server) exists(t *testing.T, gvr schema.GroupVersionResource, name string) *metav1.PartialObjectMetadata {
	t.Helper()
	m, err := s.get(gvr, "default", name)
	if err != nil {
		t.Fatalf("%s %s: %v", gvr.Resource, name, err)
	}
	return m
}

func ownerUIDs(m *metav1.PartialObjectMetadata) []types.UID {
	var out []types.UID
	for _, r := range m.OwnerReferences {
		out = append(out, r.UID)
	}
	return out
}

// Background: the set is already gone. Its pods are deleted (they terminate
// gracefully), its revisions and S-ref'd claims are deleted, an unowned claim
// stays, and a claim owned by a pod goes once that pod is really gone.
func TestBackgroundChain(t *testing.T) {
	s := newServer(t)
	s.create(t, pod("web-0", "pod0", setRef("web", "set1")))
	s.create(t, pod("web-1", "pod1", setRef("web", "set1")))
	s.create(t, rev("web-7d9", "rev1", setRef("web", "set1")))
	s.create(t, pvc("data-web-0", "pvc0", setRef("web", "set1")))
	s.create(t, pvc("data-web-1", "pvc1"))
	s.create(t, pvc("data-web-1b", "pvc1b", podRef("web-1", "pod1")))
	start(t, s)

	waitFor(t, "revision deleted", s.gone(revGVR, "web-7d9"))
	waitFor(t, "S-ref claim deleted", s.gone(pvcGVR, "data-web-0"))
	waitFor(t, "pods terminating", func() bool {
		for _, n := range []string{"web-0", "web-1"} {
			m, err := s.get(podGVR, "default", n)
			if err != nil || m.DeletionTimestamp == nil {
				return false
			}
		}
		return true
	})
	if p := s.policy(podGVR, "default", "web-0"); p != metav1.DeletePropagationBackground {
		t.Errorf("pod deleted with policy %q, want Background", p)
	}
	// The claim owned by the (terminating) pod stays while the pod exists.
	s.exists(t, pvcGVR, "data-web-1b")
	// The node agent finishes the pod; then its claim is collected.
	if err := s.tracker.Delete(podGVR, "default", "web-1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "P-ref claim deleted after its pod", s.gone(pvcGVR, "data-web-1b"))
	if m := s.exists(t, pvcGVR, "data-web-1"); len(m.OwnerReferences) != 0 {
		t.Errorf("unowned claim changed: %v", m.OwnerReferences)
	}
}

// An owner deleted while the collector runs: its dependents go.
func TestBackgroundOwnerDeletedLater(t *testing.T) {
	s := newServer(t)
	s.create(t, set("web", "set1"))
	s.create(t, rev("web-1", "rev1", setRef("web", "set1")))
	start(t, s)
	if err := s.tracker.Delete(stsGVR, "default", "web"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "revision deleted", s.gone(revGVR, "web-1"))
}

// A dependent keeps its surviving owner; only the dangling reference goes.
// An owner replaced by one with the same name and another UID counts as gone.
func TestDanglingRefWithSurvivingOwner(t *testing.T) {
	s := newServer(t)
	s.create(t, set("alive", "alive1"))
	s.create(t, set("web", "set2")) // same name, new incarnation
	s.create(t, pod("shared", "p1", setRef("gone", "gone1"), ref("apps/v1", "StatefulSet", "alive", "alive1", false)))
	s.create(t, pod("stale", "p2", setRef("web", "set1")))
	s.create(t, pod("kept", "p3", setRef("web", "set2")))
	start(t, s)

	waitFor(t, "dangling ref removed", func() bool {
		m, err := s.get(podGVR, "default", "shared")
		return err == nil && len(m.OwnerReferences) == 1
	})
	m := s.exists(t, podGVR, "shared")
	if got := ownerUIDs(m); got[0] != "alive1" || m.DeletionTimestamp != nil {
		t.Errorf("shared pod: owners %v deleting %v; want [alive1], not deleting", got, m.DeletionTimestamp)
	}
	waitFor(t, "pod of the earlier incarnation deleted", func() bool {
		m, err := s.get(podGVR, "default", "stale")
		return err == nil && m.DeletionTimestamp != nil
	})
	if m := s.exists(t, podGVR, "kept"); m.DeletionTimestamp != nil {
		t.Errorf("pod of the live set was deleted")
	}
}

// Foreground: the set stays with its finalizer until the pods (blocking
// dependents) are really gone, then the finalizer is removed and the set goes.
func TestForegroundWaitsForBlockingDependents(t *testing.T) {
	s := newServer(t)
	owner := set("web", "set1")
	owner.deleting = true
	owner.finalizers = []string{FinalizerForegroundDeletion}
	s.create(t, owner)
	s.create(t, pod("web-0", "pod0", setRef("web", "set1")))
	s.create(t, pod("web-1", "pod1", setRef("web", "set1")))
	s.create(t, pvc("data-web-0", "pvc0", setRef("web", "set1")))
	s.create(t, rev("web-1", "rev1", ref("apps/v1", "StatefulSet", "web", "set1", false)))
	start(t, s)

	waitFor(t, "pods terminating and claim deleted", func() bool {
		for _, n := range []string{"web-0", "web-1"} {
			m, err := s.get(podGVR, "default", n)
			if err != nil || m.DeletionTimestamp == nil {
				return false
			}
		}
		return s.gone(pvcGVR, "data-web-0")()
	})
	m := s.exists(t, stsGVR, "web")
	if !hasString(m.Finalizers, FinalizerForegroundDeletion) {
		t.Fatalf("set lost its finalizer while pods still exist: %v", m.Finalizers)
	}
	// The agent finishes one pod: still blocked by the other.
	if err := s.tracker.Delete(podGVR, "default", "web-0"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "set still blocked", func() bool {
		// The collector must have seen the deletion; the remaining pod
		// keeps the finalizer in place.
		_, err := s.get(podGVR, "default", "web-0")
		return apierrors.IsNotFound(err)
	})
	if m := s.exists(t, stsGVR, "web"); !hasString(m.Finalizers, FinalizerForegroundDeletion) {
		t.Fatalf("set lost its finalizer while web-1 still exists")
	}
	if err := s.tracker.Delete(podGVR, "default", "web-1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "set removed after its blocking dependents", s.gone(stsGVR, "web"))
	// The non-blocking revision dependent is collected too.
	waitFor(t, "revision deleted", s.gone(revGVR, "web-1"))
}

// Foreground through a chain: a dependent that has dependents of its own is
// deleted with Foreground propagation, so the whole chain goes bottom-up.
func TestForegroundChain(t *testing.T) {
	s := newServer(t)
	owner := set("web", "set1")
	owner.deleting = true
	owner.finalizers = []string{FinalizerForegroundDeletion}
	s.create(t, owner)
	s.create(t, pod("web-0", "pod0", setRef("web", "set1")))
	s.create(t, pvc("data-web-0", "pvc0", podRef("web-0", "pod0")))
	start(t, s)

	waitFor(t, "pod in foreground deletion", func() bool {
		m, err := s.get(podGVR, "default", "web-0")
		return err == nil && m.DeletionTimestamp != nil
	})
	if p := s.policy(podGVR, "default", "web-0"); p != metav1.DeletePropagationForeground {
		t.Errorf("pod with dependents deleted with %q, want Foreground", p)
	}
	waitFor(t, "claim of the pod deleted", s.gone(pvcGVR, "data-web-0"))
	// The pod's own foreground finalizer is removed; it stays terminating
	// until its agent finishes it.
	waitFor(t, "pod finalizer removed", func() bool {
		m, err := s.get(podGVR, "default", "web-0")
		return err == nil && !hasString(m.Finalizers, FinalizerForegroundDeletion)
	})
	if err := s.tracker.Delete(podGVR, "default", "web-0"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "set removed", s.gone(stsGVR, "web"))
}

// Orphan: references to the set are removed from pods, revisions and claims,
// which all survive; then the orphan finalizer goes and so does the set.
func TestOrphan(t *testing.T) {
	s := newServer(t)
	owner := set("web", "set1")
	owner.deleting = true
	owner.finalizers = []string{FinalizerOrphan}
	s.create(t, owner)
	s.create(t, set("other", "other1"))
	s.create(t, pod("web-0", "pod0", setRef("web", "set1")))
	s.create(t, rev("web-1", "rev1", setRef("web", "set1")))
	s.create(t, pvc("data-web-0", "pvc0", setRef("web", "set1"), ref("apps/v1", "StatefulSet", "other", "other1", false)))
	start(t, s)

	waitFor(t, "set removed", s.gone(stsGVR, "web"))
	for _, c := range []struct {
		gvr  schema.GroupVersionResource
		name string
		want int
	}{{podGVR, "web-0", 0}, {revGVR, "web-1", 0}, {pvcGVR, "data-web-0", 1}} {
		m := s.exists(t, c.gvr, c.name)
		if len(m.OwnerReferences) != c.want || m.DeletionTimestamp != nil {
			t.Errorf("%s %s: owners %v deleting %v", c.gvr.Resource, c.name, ownerUIDs(m), m.DeletionTimestamp)
		}
		for _, r := range m.OwnerReferences {
			if r.UID == "set1" {
				t.Errorf("%s %s still refers to the orphaning set", c.gvr.Resource, c.name)
			}
		}
	}
}

// An owner kind the collector does not watch is never treated as absent.
func TestUnknownOwnerKindIsKept(t *testing.T) {
	s := newServer(t)
	s.create(t, pod("job-pod", "p1", ref("batch/v1", "Job", "j", "job1", true)))
	s.create(t, pod("web-0", "p2", setRef("web", "set1")))
	start(t, s)
	waitFor(t, "pod of absent set deleted", func() bool {
		m, err := s.get(podGVR, "default", "web-0")
		return err == nil && m.DeletionTimestamp != nil
	})
	if m := s.exists(t, podGVR, "job-pod"); m.DeletionTimestamp != nil || len(m.OwnerReferences) != 1 {
		t.Errorf("pod with an unwatched owner kind was touched: %+v", m.ObjectMeta)
	}
}

func TestNewRejectsIncompleteResources(t *testing.T) {
	s := newServer(t)
	if _, err := New(context.Background(), s, []Resource{{GVR: podGVR}}, 1); err == nil {
		t.Error("New accepted a resource without a kind")
	}
	if _, err := New(context.Background(), s, []Resource{testResources[2], testResources[2]}, 1); err == nil {
		t.Error("New accepted a kind listed twice")
	}
}

// Foreground: a dependent that also has another live owner is not deleted;
// only its reference to the deleting owner goes, which unblocks the owner.
func TestForegroundDependentWithAnotherOwnerSurvives(t *testing.T) {
	s := newServer(t)
	owner := set("web", "set1")
	owner.deleting = true
	owner.finalizers = []string{FinalizerForegroundDeletion}
	s.create(t, owner)
	s.create(t, set("keeper", "keep1"))
	s.create(t, pvc("shared", "pvc1", setRef("web", "set1"), ref("apps/v1", "StatefulSet", "keeper", "keep1", false)))
	start(t, s)

	waitFor(t, "set removed", s.gone(stsGVR, "web"))
	m := s.exists(t, pvcGVR, "shared")
	if got := ownerUIDs(m); len(got) != 1 || got[0] != "keep1" || m.DeletionTimestamp != nil {
		t.Errorf("shared claim: owners %v deleting %v; want [keep1], not deleting", got, m.DeletionTimestamp)
	}
}

// Two objects owning each other, both blocking, deleted in the foreground:
// the cycle is broken instead of deadlocking and both go.
func TestForegroundCycleDoesNotDeadlock(t *testing.T) {
	s := newServer(t)
	a := set("a", "uid-a")
	a.deleting = true
	a.finalizers = []string{FinalizerForegroundDeletion}
	a.owners = []metav1.OwnerReference{setRef("b", "uid-b")}
	b := set("b", "uid-b")
	b.owners = []metav1.OwnerReference{setRef("a", "uid-a")}
	s.create(t, a)
	s.create(t, b)
	start(t, s)
	waitFor(t, "both removed", func() bool { return s.gone(stsGVR, "a")() && s.gone(stsGVR, "b")() })
}
