package statefulset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"petset/internal/logging"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

const testNS = "default"

var (
	podsGVR = v1.SchemeGroupVersion.WithResource("pods")
	pvcsGVR = v1.SchemeGroupVersion.WithResource("persistentvolumeclaims")
	setsGVR = apps.SchemeGroupVersion.WithResource("statefulsets")
	revsGVR = apps.SchemeGroupVersion.WithResource("controllerrevisions")
)

// eventLog is a state-holding record.EventRecorder.
type eventLog struct {
	mu     sync.Mutex
	events []recordedEvent
}

type recordedEvent struct{ kind, reason, message string }

func (e *eventLog) Event(_ runtime.Object, kind, reason, message string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, recordedEvent{kind, reason, message})
}

func (e *eventLog) Eventf(obj runtime.Object, kind, reason, format string, args ...interface{}) {
	e.Event(obj, kind, reason, fmt.Sprintf(format, args...))
}

func (e *eventLog) AnnotatedEventf(obj runtime.Object, _ map[string]string, kind, reason, format string, args ...interface{}) {
	e.Eventf(obj, kind, reason, format, args...)
}

func (e *eventLog) find(reason, message string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.events {
		if ev.reason == reason && (message == "" || ev.message == message) {
			return true
		}
	}
	return false
}

// harness is a state-holding fake API server (the fake clientset's object
// tracker behind reactors that give it API-server semantics: UIDs,
// resourceVersions with optimistic concurrency, generation, the status
// subresource, graceful pod deletion, status validation, and a garbage
// collector), plus indexers that mirror it as the controller's informer
// caches, refreshed before every sync.
type harness struct {
	t      testing.TB
	client *fake.Clientset
	events *eventLog
	ctrl   *Controller

	podIdx, setIdx, pvcIdx, revIdx cache.Indexer

	mu         sync.Mutex
	now        time.Time
	rv         int64
	uid        int
	graceful   bool           // pod deletes set a deletionTimestamp
	inject     map[string]int // "verb/resource[/sub]" → errors to return
	injected   int            // injected errors returned so far
	violations []string       // API-level invariant violations seen by the fake server
	writes     map[string]int // write calls by "verb/resource[/sub]"
	deleted    map[types.UID]bool
}

func newHarness(t testing.TB) *harness {
	h := &harness{
		t:        t,
		client:   fake.NewSimpleClientset(),
		events:   &eventLog{},
		now:      time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		inject:   map[string]int{},
		writes:   map[string]int{},
		graceful: true,
		deleted:  map[types.UID]bool{},
	}
	h.podIdx = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc, PodsByController: IndexPodByController})
	h.setIdx = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	h.pvcIdx = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	h.revIdx = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc, RevisionsByController: IndexRevisionByController})
	h.client.PrependReactor("*", "*", h.react)
	h.ctrl = h.newController()
	return h
}

// newController builds a fresh controller (as after a restart) over the caches.
func (h *harness) newController() *Controller {
	c := newController(h.client,
		h.podIdx, appslisters.NewStatefulSetLister(h.setIdx),
		corelisters.NewPersistentVolumeClaimLister(h.pvcIdx), h.revIdx,
		h.events, 1)
	c.control.now = h.clock
	return c
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

func (h *harness) tracker() clienttesting.ObjectTracker { return h.client.Tracker() }

func actionKey(a clienttesting.Action) string {
	k := a.GetVerb() + "/" + a.GetResource().Resource
	if a.GetSubresource() != "" {
		k += "/" + a.GetSubresource()
	}
	return k
}

func (h *harness) violate(format string, args ...interface{}) {
	h.violations = append(h.violations, fmt.Sprintf(format, args...))
}

// react gives the object tracker API-server semantics. Gets, lists and
// patches fall through to the tracker's default reactor.
func (h *harness) react(action clienttesting.Action) (bool, runtime.Object, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	key := actionKey(action)
	if n := h.inject[key]; n > 0 {
		h.inject[key] = n - 1
		h.injected++
		return true, nil, apierrors.NewInternalError(errors.New("injected failure for " + key))
	}
	switch a := action.(type) {
	case clienttesting.CreateActionImpl:
		h.writes[key]++
		if a.GetSubresource() != "" {
			return false, nil, nil
		}
		obj := a.GetObject().DeepCopyObject()
		m, _ := meta.Accessor(obj)
		if m.GetName() == "" {
			h.uid++
			m.SetName(m.GetGenerateName() + strconv.Itoa(h.uid))
		}
		if m.GetResourceVersion() != "" {
			return true, nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
		}
		h.uid++
		h.rv++
		m.SetUID(types.UID(fmt.Sprintf("uid-%d", h.uid)))
		m.SetResourceVersion(strconv.FormatInt(h.rv, 10))
		m.SetCreationTimestamp(metav1.NewTime(h.now))
		if set, ok := obj.(*apps.StatefulSet); ok {
			set.Generation = 1
			set.Status = apps.StatefulSetStatus{}
		}
		if pod, ok := obj.(*v1.Pod); ok {
			// The API server's pod strategy starts every pod Pending.
			pod.Status = v1.PodStatus{Phase: v1.PodPending}
		}
		if err := h.tracker().Create(a.GetResource(), obj, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, obj, nil
	case clienttesting.UpdateActionImpl:
		h.writes[key]++
		obj := a.GetObject().DeepCopyObject()
		m, _ := meta.Accessor(obj)
		stored, err := h.tracker().Get(a.GetResource(), a.GetNamespace(), m.GetName())
		if err != nil {
			return true, nil, err
		}
		sm, _ := meta.Accessor(stored)
		if m.GetResourceVersion() != "" && m.GetResourceVersion() != sm.GetResourceVersion() {
			return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), m.GetName(), errors.New("the object has been modified"))
		}
		var out runtime.Object
		switch a.GetSubresource() {
		case "status":
			set, ok := stored.(*apps.StatefulSet)
			if !ok {
				return false, nil, nil
			}
			next := set.DeepCopy()
			next.Status = obj.(*apps.StatefulSet).Status
			if msg := validateStatus(&set.Status, &next.Status); msg != "" {
				h.violate("invalid status write for %s: %s", set.Name, msg)
				return true, nil, apierrors.NewBadRequest(msg)
			}
			out = next
		case "":
			switch cur := obj.(type) {
			case *apps.StatefulSet:
				old := stored.(*apps.StatefulSet)
				cur.Status = old.Status
				cur.Generation = old.Generation
				if !apiequality.Semantic.DeepEqual(cur.Spec, old.Spec) {
					cur.Generation++
				}
			case *v1.Pod:
				cur.Status = stored.(*v1.Pod).Status
				cur.DeletionTimestamp = stored.(*v1.Pod).DeletionTimestamp
			}
			m.SetUID(sm.GetUID())
			m.SetCreationTimestamp(sm.GetCreationTimestamp())
			out = obj
		default:
			return false, nil, nil
		}
		h.rv++
		om, _ := meta.Accessor(out)
		om.SetResourceVersion(strconv.FormatInt(h.rv, 10))
		if err := h.tracker().Update(a.GetResource(), out, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, out, nil
	case clienttesting.DeleteActionImpl:
		h.writes[key]++
		stored, err := h.tracker().Get(a.GetResource(), a.GetNamespace(), a.GetName())
		if err != nil {
			return true, nil, err
		}
		sm, _ := meta.Accessor(stored)
		if p := a.DeleteOptions.Preconditions; p != nil && p.UID != nil && *p.UID != sm.GetUID() {
			return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), a.GetName(), errors.New("precondition failed: UID mismatch"))
		}
		if pod, ok := stored.(*v1.Pod); ok && h.graceful {
			if pod.DeletionTimestamp == nil {
				pod = pod.DeepCopy()
				ts := metav1.NewTime(h.now)
				pod.DeletionTimestamp = &ts
				h.rv++
				pod.ResourceVersion = strconv.FormatInt(h.rv, 10)
				if err := h.tracker().Update(podsGVR, pod, pod.Namespace); err != nil {
					return true, nil, err
				}
			}
			return true, nil, nil
		}
		h.deleted[sm.GetUID()] = true
		return true, nil, h.tracker().Delete(a.GetResource(), a.GetNamespace(), a.GetName())
	case clienttesting.PatchActionImpl:
		h.writes[key]++
	}
	return false, nil, nil
}

// validateStatus is the API server's status validation (§6).
func validateStatus(old, s *apps.StatefulSetStatus) string {
	switch {
	case s.Replicas < 0 || s.ReadyReplicas < 0 || s.CurrentReplicas < 0 || s.UpdatedReplicas < 0 || s.AvailableReplicas < 0:
		return "negative count"
	case s.ReadyReplicas > s.Replicas || s.CurrentReplicas > s.Replicas || s.UpdatedReplicas > s.Replicas || s.AvailableReplicas > s.Replicas:
		return fmt.Sprintf("count exceeds replicas: %+v", *s)
	case s.AvailableReplicas > s.ReadyReplicas:
		return "available exceeds ready"
	case s.ObservedGeneration < 0:
		return "negative observedGeneration"
	case old.CollisionCount != nil && (s.CollisionCount == nil || *s.CollisionCount < *old.CollisionCount):
		return "collisionCount decreased"
	}
	return ""
}

// refresh mirrors the tracker into the controller's caches.
func (h *harness) refresh() {
	h.t.Helper()
	for _, c := range []struct {
		gvr schema.GroupVersionResource
		gvk schema.GroupVersionKind
		idx cache.Indexer
	}{
		{podsGVR, v1.SchemeGroupVersion.WithKind("Pod"), h.podIdx},
		{pvcsGVR, v1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), h.pvcIdx},
		{setsGVR, apps.SchemeGroupVersion.WithKind("StatefulSet"), h.setIdx},
		{revsGVR, apps.SchemeGroupVersion.WithKind("ControllerRevision"), h.revIdx},
	} {
		list, err := h.tracker().List(c.gvr, c.gvk, "")
		if err != nil {
			h.t.Fatalf("list %s: %v", c.gvr.Resource, err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			h.t.Fatalf("extract %s: %v", c.gvr.Resource, err)
		}
		objs := make([]interface{}, 0, len(items))
		for _, it := range items {
			objs = append(objs, it)
		}
		if err := c.idx.Replace(objs, ""); err != nil {
			h.t.Fatalf("replace %s: %v", c.gvr.Resource, err)
		}
	}
}

// sync refreshes the caches and runs one sync of the set.
func (h *harness) sync(name string) error {
	h.refresh()
	_, err := h.ctrl.sync(testCtx(), testNS+"/"+name)
	return err
}

// syncN runs n syncs, failing on errors.
func (h *harness) mustSync(name string) {
	h.t.Helper()
	if err := h.sync(name); err != nil {
		h.t.Fatalf("sync %s: %v", name, err)
	}
}

func (h *harness) set(name string) *apps.StatefulSet {
	h.t.Helper()
	obj, err := h.tracker().Get(setsGVR, testNS, name)
	if err != nil {
		h.t.Fatalf("get set %s: %v", name, err)
	}
	return obj.(*apps.StatefulSet)
}

func (h *harness) createSet(set *apps.StatefulSet) *apps.StatefulSet {
	h.t.Helper()
	created, err := h.client.AppsV1().StatefulSets(set.Namespace).Create(context.Background(), set, metav1.CreateOptions{})
	if err != nil {
		h.t.Fatalf("create set: %v", err)
	}
	return created
}

// updateSet applies mutate to the stored set's spec (as a user would).
func (h *harness) updateSet(name string, mutate func(*apps.StatefulSet)) {
	h.t.Helper()
	set := h.set(name).DeepCopy()
	mutate(set)
	if _, err := h.client.AppsV1().StatefulSets(testNS).Update(context.Background(), set, metav1.UpdateOptions{}); err != nil {
		h.t.Fatalf("update set: %v", err)
	}
}

// pods returns the pods in the tracker sorted by ordinal.
func (h *harness) pods() []*v1.Pod {
	list, err := h.tracker().List(podsGVR, v1.SchemeGroupVersion.WithKind("Pod"), testNS)
	if err != nil {
		h.t.Fatalf("list pods: %v", err)
	}
	var out []*v1.Pod
	for i := range list.(*v1.PodList).Items {
		out = append(out, list.(*v1.PodList).Items[i].DeepCopy())
	}
	sort.Slice(out, func(i, j int) bool { return podOrdinal(out[i]) < podOrdinal(out[j]) })
	return out
}

func (h *harness) pod(name string) *v1.Pod {
	obj, err := h.tracker().Get(podsGVR, testNS, name)
	if err != nil {
		return nil
	}
	return obj.(*v1.Pod)
}

func (h *harness) claims() map[string]*v1.PersistentVolumeClaim {
	list, err := h.tracker().List(pvcsGVR, v1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), testNS)
	if err != nil {
		h.t.Fatalf("list claims: %v", err)
	}
	out := map[string]*v1.PersistentVolumeClaim{}
	for i := range list.(*v1.PersistentVolumeClaimList).Items {
		c := list.(*v1.PersistentVolumeClaimList).Items[i]
		out[c.Name] = &c
	}
	return out
}

func (h *harness) revisions() []*apps.ControllerRevision {
	list, err := h.tracker().List(revsGVR, apps.SchemeGroupVersion.WithKind("ControllerRevision"), testNS)
	if err != nil {
		h.t.Fatalf("list revisions: %v", err)
	}
	var out []*apps.ControllerRevision
	for i := range list.(*apps.ControllerRevisionList).Items {
		out = append(out, list.(*apps.ControllerRevisionList).Items[i].DeepCopy())
	}
	sortRevisions(out)
	return out
}

// storePod writes a pod as the kubelet or a user would (tracker-level, no controller involvement).
func (h *harness) storePod(pod *v1.Pod) {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rv++
	pod.ResourceVersion = strconv.FormatInt(h.rv, 10)
	if err := h.tracker().Update(podsGVR, pod, pod.Namespace); err != nil {
		h.t.Fatalf("store pod %s: %v", pod.Name, err)
	}
}

func (h *harness) storeClaim(c *v1.PersistentVolumeClaim) {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rv++
	c.ResourceVersion = strconv.FormatInt(h.rv, 10)
	if err := h.tracker().Update(pvcsGVR, c, c.Namespace); err != nil {
		h.t.Fatalf("store claim %s: %v", c.Name, err)
	}
}

// Pod lifecycle as the kubelet drives it.

func (h *harness) setPending(pod *v1.Pod) {
	pod.Status.Phase = v1.PodPending
	h.storePod(pod)
}

func (h *harness) setRunning(pod *v1.Pod) {
	pod.Status.Phase = v1.PodRunning
	pod.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionFalse, LastTransitionTime: metav1.NewTime(h.clock())}}
	h.storePod(pod)
}

func (h *harness) setReady(pod *v1.Pod) {
	pod.Status.Phase = v1.PodRunning
	pod.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue, LastTransitionTime: metav1.NewTime(h.clock())}}
	h.storePod(pod)
}

func (h *harness) setPhase(pod *v1.Pod, phase v1.PodPhase) {
	pod.Status.Phase = phase
	pod.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionFalse, LastTransitionTime: metav1.NewTime(h.clock())}}
	h.storePod(pod)
}

// markAllReady drives every pod of the set to Running+Ready.
func (h *harness) markAllReady() {
	for _, p := range h.pods() {
		if !isRunningAndReady(p) && p.DeletionTimestamp == nil {
			h.setReady(p)
		}
	}
}

// removePod finishes a graceful deletion and runs the garbage collector.
func (h *harness) removePod(name string) {
	h.t.Helper()
	h.mu.Lock()
	obj, err := h.tracker().Get(podsGVR, testNS, name)
	if err == nil {
		h.deleted[obj.(*v1.Pod).UID] = true
		err = h.tracker().Delete(podsGVR, testNS, name)
	}
	h.mu.Unlock()
	if err != nil {
		h.t.Fatalf("remove pod %s: %v", name, err)
	}
	h.collectGarbage()
}

// removeTerminating removes every terminating pod.
func (h *harness) removeTerminating() {
	for _, p := range h.pods() {
		if p.DeletionTimestamp != nil {
			h.removePod(p.Name)
		}
	}
}

// collectGarbage deletes claims all of whose owners are gone (the GC).
func (h *harness) collectGarbage() {
	h.mu.Lock()
	defer h.mu.Unlock()
	list, _ := h.tracker().List(pvcsGVR, v1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), testNS)
	for _, c := range list.(*v1.PersistentVolumeClaimList).Items {
		if len(c.OwnerReferences) == 0 {
			continue
		}
		gone := true
		for _, ref := range c.OwnerReferences {
			if !h.deleted[ref.UID] {
				gone = false
			}
		}
		if gone {
			_ = h.tracker().Delete(pvcsGVR, testNS, c.Name)
		}
	}
}

func (h *harness) injectError(key string, n int) {
	h.mu.Lock()
	h.inject[key] += n
	h.mu.Unlock()
}

func (h *harness) injectedCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.injected
}

func (h *harness) writeCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, v := range h.writes {
		n += v
	}
	return n
}

func (h *harness) checkViolations() {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.violations) > 0 {
		h.t.Fatalf("fake API server saw invalid writes: %v", h.violations)
	}
}

// Fixtures.

type setOpts struct {
	replicas       int32
	parallel       bool
	onDelete       bool
	partition      int32
	maxUnavailable *intstr.IntOrString
	whenScaled     apps.PersistentVolumeClaimRetentionPolicyType
	whenDeleted    apps.PersistentVolumeClaimRetentionPolicyType
	minReady       int32
	start          int32
	historyLimit   *int32
	noClaims       bool
}

// newSet returns a set as the API server stores it after defaulting.
func newSet(name string, o setOpts) *apps.StatefulSet {
	policy := apps.OrderedReadyPodManagement
	if o.parallel {
		policy = apps.ParallelPodManagement
	}
	strategy := apps.StatefulSetUpdateStrategy{Type: apps.RollingUpdateStatefulSetStrategyType,
		RollingUpdate: &apps.RollingUpdateStatefulSetStrategy{Partition: &o.partition, MaxUnavailable: o.maxUnavailable}}
	if strategy.RollingUpdate.MaxUnavailable == nil {
		one := intstr.FromInt32(1)
		strategy.RollingUpdate.MaxUnavailable = &one
	}
	if o.onDelete {
		strategy = apps.StatefulSetUpdateStrategy{Type: apps.OnDeleteStatefulSetStrategyType}
	}
	if o.whenScaled == "" {
		o.whenScaled = apps.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if o.whenDeleted == "" {
		o.whenDeleted = apps.RetainPersistentVolumeClaimRetentionPolicyType
	}
	limit := int32(10)
	if o.historyLimit != nil {
		limit = *o.historyLimit
	}
	labels := map[string]string{"app": name}
	set := &apps.StatefulSet{
		TypeMeta:   metav1.TypeMeta{Kind: "StatefulSet", APIVersion: "apps/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Spec: apps.StatefulSetSpec{
			Replicas:             &o.replicas,
			Selector:             &metav1.LabelSelector{MatchLabels: labels},
			ServiceName:          name,
			PodManagementPolicy:  policy,
			UpdateStrategy:       strategy,
			RevisionHistoryLimit: &limit,
			MinReadySeconds:      o.minReady,
			PersistentVolumeClaimRetentionPolicy: &apps.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: o.whenDeleted, WhenScaled: o.whenScaled,
			},
			Template: defaultedTemplate(labels, "nginx:1"),
		},
	}
	if o.start > 0 {
		set.Spec.Ordinals = &apps.StatefulSetOrdinals{Start: o.start}
	}
	if !o.noClaims {
		fs := v1.PersistentVolumeFilesystem
		set.Spec.VolumeClaimTemplates = []v1.PersistentVolumeClaim{{
			TypeMeta:   metav1.TypeMeta{Kind: "PersistentVolumeClaim", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{Name: "www"},
			Spec: v1.PersistentVolumeClaimSpec{
				AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
				Resources:   v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}},
				VolumeMode:  &fs,
			},
			Status: v1.PersistentVolumeClaimStatus{Phase: v1.ClaimPending},
		}}
	}
	return set
}

// defaultedTemplate is a pod template with the core/v1 defaults applied.
func defaultedTemplate(labels map[string]string, image string) v1.PodTemplateSpec {
	grace := int64(30)
	return v1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: v1.PodSpec{
			Containers: []v1.Container{{
				Name:                     "nginx",
				Image:                    image,
				ImagePullPolicy:          v1.PullIfNotPresent,
				TerminationMessagePath:   v1.TerminationMessagePathDefault,
				TerminationMessagePolicy: v1.TerminationMessageReadFile,
			}},
			RestartPolicy:                 v1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: &grace,
			DNSPolicy:                     v1.DNSClusterFirst,
			SecurityContext:               &v1.PodSecurityContext{},
			SchedulerName:                 v1.DefaultSchedulerName,
		},
	}
}

func setImage(image string) func(*apps.StatefulSet) {
	return func(s *apps.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = image }
}

func setReplicas(n int32) func(*apps.StatefulSet) {
	return func(s *apps.StatefulSet) { s.Spec.Replicas = &n }
}

func podImage(p *v1.Pod) string { return p.Spec.Containers[0].Image }

func names(pods []*v1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

// testCtx carries a logger that discards, keeping test output readable.
func testCtx() context.Context {
	return logging.IntoContext(context.Background(), slog.New(slog.DiscardHandler))
}

const time10m = 10 * time.Minute

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }
