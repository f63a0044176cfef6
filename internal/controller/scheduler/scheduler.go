package scheduler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"petset/internal/logging"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"

	"petset/internal/controller/runner"
	"petset/internal/controller/volume"
)

// SchedulerName is the spec.schedulerName this scheduler serves (an empty
// name is defaulted to it by the API server).
const SchedulerName = "default-scheduler"

const (
	// A pod is often seen before its claim reaches the informer; a short
	// first back-off keeps that from costing a second per pod.
	initialBackoff = 100 * time.Millisecond
	maxBackoff     = 10 * time.Second
	// maxParked is how long an unschedulable pod waits for a cluster event
	// before it is retried anyway (upstream's podMaxInUnschedulablePodsDuration).
	maxParked = 5 * time.Minute
)

// Scheduler binds pending pods to nodes.
type Scheduler struct {
	client   kubernetes.Interface
	recorder record.EventRecorder

	pods    corelisters.PodLister
	nodes   corelisters.NodeLister
	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	// volumeIdx holds the volumes with volume.EnsureClaimRefIndex's index.
	volumeIdx  cache.Indexer
	namespaces corelisters.NamespaceLister
	classes    storagelisters.StorageClassLister

	// cache holds the pods and nodes of the informers per node, for
	// snapshot; updated by the event handlers before anything else.
	cache *podCache

	// runner is the active queue: pods to try, one at a time, keyed
	// namespace/name; a failed attempt is retried after the pod's back-off.
	runner *runner.Runner[string]
	// backoff spaces the retries of unschedulable pods (parked below).
	backoff workqueue.TypedRateLimiter[string]

	mu sync.Mutex
	// assumed holds pods this scheduler bound that the informer still shows
	// unbound, keyed namespace/name, with spec.nodeName set. It and
	// reserved change only through setAssumed and setReserved, which tell
	// the cache.
	assumed map[string]*v1.Pod
	// reserved holds pods waiting for their volumes to bind, with
	// spec.nodeName set to the node chosen for them, so that other pods
	// are placed around them meanwhile.
	reserved map[string]*v1.Pod
	// parked holds the pods waiting for an event: unschedulable ones and
	// those holding a node (in reserved) while their claims bind.
	parked *parkingLot
	// events counts the cluster changes that may make an unschedulable pod
	// fit (nodes, namespaces, pods placed or gone), nodeEvents those that
	// may undo a node a pod holds (nodes, namespaces); an attempt that saw
	// its counter move while it ran retries instead of parking.
	events, nodeEvents uint64
	// inflight holds the pods being tried; missed those of them that an
	// event meant only for some pods (a claim's change) would have woken:
	// they too retry instead of parking.
	inflight map[string]bool
	missed   map[string]bool

	// cycles bounds the binding cycles in flight; running counts them.
	cycles  chan struct{}
	running sync.WaitGroup
}

// maxBindingCycles is how many pods' API writes run at once.
const maxBindingCycles = 64

// New wires the scheduler to the informers of factory; nothing runs until
// Run, and the factory is started by the caller. workers pods are tried at
// once; the control plane runs one, so that every decision sees the one
// before it.
func New(ctx context.Context, client kubernetes.Interface, factory informers.SharedInformerFactory, recorder record.EventRecorder, workers int) *Scheduler {
	s := &Scheduler{
		client:   client,
		recorder: recorder,
		backoff:  workqueue.NewTypedItemExponentialFailureRateLimiter[string](initialBackoff, maxBackoff),
		assumed:  map[string]*v1.Pod{},
		reserved: map[string]*v1.Pod{},
		parked:   newParkingLot(),
		inflight: map[string]bool{},
		missed:   map[string]bool{},
		cache:    newPodCache(),
		cycles:   make(chan struct{}, maxBindingCycles),
	}
	podInf := factory.Core().V1().Pods()
	nodeInf := factory.Core().V1().Nodes()
	claimInf := factory.Core().V1().PersistentVolumeClaims()
	volumeInf := factory.Core().V1().PersistentVolumes()
	nsInf := factory.Core().V1().Namespaces()
	classInf := factory.Storage().V1().StorageClasses()
	s.pods = podInf.Lister()
	s.nodes = nodeInf.Lister()
	s.claims = claimInf.Lister()
	s.volumes = volumeInf.Lister()
	if err := volume.EnsureClaimRefIndex(volumeInf.Informer()); err != nil {
		logging.FromContext(ctx).Error("scheduler: adding the volume claimRef index", logging.ErrKey, err)
	}
	s.volumeIdx = volumeInf.Informer().GetIndexer()
	s.namespaces = nsInf.Lister()
	s.classes = classInf.Lister()

	log := logging.FromContext(ctx)
	var synced []cache.InformerSynced
	add := func(reg cache.ResourceEventHandlerRegistration, err error) {
		if err != nil {
			log.Error("scheduler: registering event handler", logging.ErrKey, err)
			return
		}
		synced = append(synced, reg.HasSynced)
	}
	add(podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if p, ok := obj.(*v1.Pod); ok {
				s.cache.setPod(p)
			}
			s.podChanged(nil, obj)
		},
		UpdateFunc: func(old, obj any) {
			if p, ok := obj.(*v1.Pod); ok {
				s.cache.setPod(p)
			}
			s.podChanged(old, obj)
		},
		DeleteFunc: func(obj any) {
			s.cache.deletePod(obj)
			s.podDeleted(obj)
		},
	}))
	add(nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if n, ok := obj.(*v1.Node); ok {
				s.cache.setNode(n)
			}
			s.clusterChanged()
		},
		UpdateFunc: func(old, obj any) {
			n, ok2 := obj.(*v1.Node)
			if ok2 {
				s.cache.setNode(n)
			}
			o, ok1 := old.(*v1.Node)
			if ok1 && ok2 && !nodeSchedulingChanged(o, n) {
				return
			}
			s.clusterChanged()
		},
		DeleteFunc: func(obj any) {
			s.cache.deleteNode(obj)
			s.clusterChanged()
		},
	}))
	// A claim's change can only make the pods that use it schedulable
	// (upstream's queueing hints for VolumeBinding): waking every parked pod
	// on each of the several updates a claim gets while it is provisioned
	// and bound made scheduling N pods with claims cost N² attempts.
	claimChange := func(obj any) { s.claimChanged(obj) }
	add(claimInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: claimChange,
		UpdateFunc: func(old, obj any) {
			if o, ok := old.(*v1.PersistentVolumeClaim); ok && (onlyNodeSelected(o, obj) || bindingHalfway(o, obj)) {
				return // nothing a pod waits for
			}
			claimChange(obj)
		},
		DeleteFunc: claimChange,
	}))
	// Volumes and classes matter to pods still looking for a place; a pod
	// holding a node while its claims bind is woken by its claims.
	storageChange := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.storageChanged() },
		UpdateFunc: func(any, any) { s.storageChanged() },
		DeleteFunc: func(any) { s.storageChanged() },
	}
	add(volumeInf.Informer().AddEventHandler(storageChange))
	add(classInf.Informer().AddEventHandler(storageChange))
	add(nsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { s.clusterChanged() },
		UpdateFunc: func(old, obj any) {
			o, ok1 := old.(*v1.Namespace)
			n, ok2 := obj.(*v1.Namespace)
			if ok1 && ok2 && reflect.DeepEqual(o.Labels, n.Labels) {
				return
			}
			s.clusterChanged()
		},
	}))
	// Handlers run only once the factory is started, after the runner exists.
	s.runner = runner.New(runner.Config[string]{
		Name:    "scheduler",
		Workers: workers,
		Reconcile: func(ctx context.Context, key string) (runner.Result, error) {
			return runner.Done, s.scheduleOne(ctx, key)
		},
		Synced:      synced,
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[string](initialBackoff, maxBackoff),
		LogAttrs:    func(key string) []any { return []any{"pod", key} },
	})
	return s
}

// Ready is closed once Run has synced its caches and started working.
func (s *Scheduler) Ready() <-chan struct{} { return s.runner.Ready() }

// Run waits for the caches and schedules pods until ctx is done. It returns
// after its workers stopped, with an error only if ctx ended before the
// caches synced.
func (s *Scheduler) Run(ctx context.Context) error {
	err := s.runner.Run(ctx)
	s.running.Wait()
	return err
}

// responsible reports whether pod is one this scheduler must place.
func responsible(pod *v1.Pod) bool {
	return (pod.Spec.SchedulerName == "" || pod.Spec.SchedulerName == SchedulerName) &&
		pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil &&
		pod.Status.Phase != v1.PodSucceeded && pod.Status.Phase != v1.PodFailed
}

func podKey(pod *v1.Pod) string { return pod.Namespace + "/" + pod.Name }

func (s *Scheduler) podChanged(oldObj, obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	key := podKey(pod)
	if responsible(pod) {
		if old, ok := oldObj.(*v1.Pod); ok && reflect.DeepEqual(old.Spec, pod.Spec) &&
			reflect.DeepEqual(old.Labels, pod.Labels) && reflect.DeepEqual(old.Annotations, pod.Annotations) {
			return // our own status write, or a resync
		}
		s.mu.Lock()
		s.parked.remove(key)
		s.mu.Unlock()
		s.runner.Enqueue(key)
		return
	}
	if pod.Spec.NodeName == "" {
		return
	}
	s.mu.Lock()
	s.setAssumed(key, nil)
	s.setReserved(key, nil)
	s.mu.Unlock()
	old, _ := oldObj.(*v1.Pod)
	if old == nil || old.Spec.NodeName == "" || old.Status.Phase != pod.Status.Phase ||
		!reflect.DeepEqual(old.Labels, pod.Labels) || (old.DeletionTimestamp == nil) != (pod.DeletionTimestamp == nil) {
		s.podsChanged()
	}
}

func (s *Scheduler) podDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	key := podKey(pod)
	s.mu.Lock()
	_, wasAssumed := s.assumed[key]
	_, wasReserved := s.reserved[key]
	s.setAssumed(key, nil)
	s.setReserved(key, nil)
	s.parked.remove(key)
	s.mu.Unlock()
	s.backoff.Forget(key)
	if pod.Spec.NodeName != "" || wasAssumed || wasReserved {
		s.podsChanged()
	}
}

// claimChanged moves the parked pods that use the claim back to the queue;
// pods being tried that use it retry after their attempt.
func (s *Scheduler) claimChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	claim, ok := obj.(*v1.PersistentVolumeClaim)
	if !ok {
		s.clusterChanged()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for key := range s.inflight {
		ns, name, err := cache.SplitMetaNamespaceKey(key)
		if err != nil || ns != claim.Namespace {
			continue
		}
		if pod, err := s.pods.Pods(ns).Get(name); err == nil && usesClaim(pod, claim.Name) {
			s.missed[key] = true
		}
	}
	s.wakeLocked(s.parked.users(claim.Namespace + "/" + claim.Name))
}

// onlyNodeSelected reports whether the update of a claim from old to obj
// only gave it the selected-node annotation (as prepareVolumes does).
func onlyNodeSelected(old *v1.PersistentVolumeClaim, obj any) bool {
	claim, ok := obj.(*v1.PersistentVolumeClaim)
	if !ok || old.Annotations[annSelectedNode] != "" || claim.Annotations[annSelectedNode] == "" {
		return false
	}
	o := old.DeepCopy()
	o.Annotations = maps.Clone(o.Annotations)
	if o.Annotations == nil {
		o.Annotations = map[string]string{}
	}
	o.Annotations[annSelectedNode] = claim.Annotations[annSelectedNode]
	o.ResourceVersion, o.ManagedFields = claim.ResourceVersion, claim.ManagedFields
	return equality.Semantic.DeepEqual(o, claim)
}

// bindingHalfway reports whether the update of a claim from old to obj is
// the first of the volume controller's two binding writes: the volume named,
// the claim not yet Bound. Its pods wait for Bound, the second write.
func bindingHalfway(old *v1.PersistentVolumeClaim, obj any) bool {
	claim, ok := obj.(*v1.PersistentVolumeClaim)
	return ok && old.Spec.VolumeName == "" && claim.Spec.VolumeName != "" &&
		claim.Status.Phase != v1.ClaimBound && claim.DeletionTimestamp == nil
}

// usesClaim reports whether pod's volumes name the claim (directly, or as
// the claim of an ephemeral volume).
func usesClaim(pod *v1.Pod, claim string) bool {
	return slices.Contains(podClaims(pod), pod.Namespace+"/"+claim)
}

// storageChanged moves the unschedulable pods back to the queue (a pod
// holding a node while its claims bind is woken by its claims).
func (s *Scheduler) storageChanged() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key := range s.inflight {
		if _, held := s.reserved[key]; !held {
			s.missed[key] = true
		}
	}
	s.wakeLocked(s.parked.unschedulableKeys())
}

// setAssumed records in s.assumed and the cache the pod of key this
// scheduler bound, or forgets it (pod nil). s.mu must be held.
func (s *Scheduler) setAssumed(key string, pod *v1.Pod) {
	setOrDelete(s.assumed, key, pod)
	s.cache.assume(key, pod)
}

// setReserved records in s.reserved and the cache the pod of key that holds
// a node while its volumes bind, or forgets it (pod nil). s.mu must be held.
func (s *Scheduler) setReserved(key string, pod *v1.Pod) {
	setOrDelete(s.reserved, key, pod)
	s.cache.reserve(key, pod)
}

// clusterChanged (a node or namespace changed) moves every parked pod back
// to the queue, honouring what remains of its backoff.
func (s *Scheduler) clusterChanged() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events++
	s.nodeEvents++
	s.wakeLocked(s.parked.unschedulableKeys())
	s.wakeLocked(s.parked.holdingKeys())
}

// podsChanged (a pod was placed, changed or gone, or gave back the node it
// held) moves the unschedulable pods back to the queue: pods holding a node
// do not care.
func (s *Scheduler) podsChanged() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events++
	s.wakeLocked(s.parked.unschedulableKeys())
}

// wakeLocked moves the parked pods of keys back to the queue, honouring
// what remains of their backoff. s.mu must be held.
func (s *Scheduler) wakeLocked(keys []string) {
	for _, key := range keys {
		until := s.parked.remove(key)
		if d := time.Until(until); d > 0 {
			s.runner.EnqueueAfter(key, d)
		} else {
			s.runner.Enqueue(key)
		}
	}
}

// seenEvents are the event counters when an attempt began.
type seenEvents struct{ all, nodes uint64 }

// park records pod as waiting for an event: unschedulable (requeued by the
// next cluster event after its backoff), or holding a node while its claims
// bind (requeued by a change of its claims or of nodes); after maxParked
// regardless. If such an event came while the attempt ran, it is requeued
// (after its backoff) at once.
func (s *Scheduler) park(pod *v1.Pod, seen seenEvents, holding bool) {
	key := podKey(pod)
	var d time.Duration
	if !holding {
		d = s.backoff.When(key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	moved := s.events != seen.all
	if holding {
		moved = s.nodeEvents != seen.nodes
	}
	if moved || s.missed[key] {
		delete(s.missed, key)
		s.parked.remove(key)
		s.runner.EnqueueAfter(key, d)
		return
	}
	s.parked.park(key, podClaims(pod), holding, time.Now().Add(d))
	s.runner.EnqueueAfter(key, maxParked)
}

// scheduleOne makes one scheduling attempt for the pod named key. A returned
// error is transient (API failures) and retried with backoff; a pod that does
// not fit is parked, not an error.
//
// The decision (snapshot, filters, scores) is made here, one pod at a time;
// its API writes — pre-binding volumes, the binding — run in a goroutine of
// their own (the binding cycle, as kube-scheduler's), so that the next pod is
// decided while they are in flight. The pod counts on its node from the
// decision on (assumed, or reserved while its volumes bind), and stays in
// inflight until its writes end: an attempt for it meanwhile only marks it
// missed, to be tried again once they end.
func (s *Scheduler) scheduleOne(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return runner.Terminal(fmt.Errorf("invalid pod key %q: %w", key, err))
	}
	pod, err := s.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("getting pod %s: %w", key, err)
	}
	s.mu.Lock()
	if s.inflight[key] {
		// Its binding cycle still runs; it retries when that ends.
		s.missed[key] = true
		s.mu.Unlock()
		return nil
	}
	_, isAssumed := s.assumed[key]
	seen := seenEvents{all: s.events, nodes: s.nodeEvents}
	s.inflight[key] = true
	delete(s.missed, key)
	s.mu.Unlock()
	handedOff := false
	defer func() {
		if !handedOff {
			s.attemptDone(key)
		}
	}()
	if !responsible(pod) || isAssumed {
		return nil
	}
	log := logging.FromContext(ctx)
	if len(pod.Spec.SchedulingGates) > 0 {
		// Retried when the gates are removed (a spec update).
		return s.setScheduledCondition(ctx, pod, v1.PodReasonSchedulingGated, "Scheduling is blocked due to non-empty scheduling gates")
	}

	snap, err := s.snapshot(key)
	if err != nil {
		return err
	}
	if len(snap.nodes) == 0 {
		return s.unschedulable(ctx, pod, seen, errNoNodes.Error())
	}
	pv, fitErr, err := s.podVolumes(pod)
	if err != nil {
		return err
	}
	if fitErr != "" {
		return s.unschedulable(ctx, pod, seen, fitError(len(snap.nodes), fitErr, nil))
	}
	pv.liveNodes = map[string]bool{}
	for _, ni := range snap.nodes {
		if readyStatus(ni.node) == v1.ConditionTrue {
			pv.liveNodes[ni.node.Name] = true
		}
	}
	feasible, failures := s.filter(pod, snap, pv)
	if len(feasible) == 0 {
		s.explainLostVolumes(pod, pv)
		return s.unschedulable(ctx, pod, seen, fitError(len(snap.nodes), "", failures))
	}
	node := pickBest(score(pod, snap, feasible))
	placed := pod.DeepCopy()
	placed.Spec.NodeName = node.node.Name

	if len(pv.delayed) > 0 || pv.binding {
		// Volumes first: the pod is bound once its claims are. It holds
		// the node meanwhile.
		s.mu.Lock()
		s.setReserved(key, placed)
		s.mu.Unlock()
		handedOff = true
		s.goBindingCycle(ctx, func(ctx context.Context) {
			s.reserveVolumes(ctx, key, pod, placed, node, pv, seen)
		})
		return nil
	}

	s.mu.Lock()
	// The cache, not the lister: the pod counts in the next snapshot as
	// assumed until the cache sees it bound (whose handler then drops it
	// from assumed).
	if cur := s.cache.pod(key); cur == nil || cur.UID != pod.UID || cur.Spec.NodeName != "" {
		s.mu.Unlock()
		return nil // deleted, replaced or bound meanwhile: its own event retries it
	}
	s.setAssumed(key, placed)
	s.setReserved(key, nil)
	s.parked.remove(key)
	s.mu.Unlock()
	handedOff = true
	s.goBindingCycle(ctx, func(ctx context.Context) {
		defer s.attemptDone(key)
		s.bind(ctx, key, pod, placed)
	})
	log.Debug("pod assumed", "node", node.node.Name)
	return nil
}

// goBindingCycle runs a pod's API writes in a goroutine, at most
// maxBindingCycles at once (the decisions wait for a free one); Run waits
// for them before it returns.
func (s *Scheduler) goBindingCycle(ctx context.Context, cycle func(ctx context.Context)) {
	select {
	case s.cycles <- struct{}{}:
	case <-ctx.Done():
		cycle(ctx) // stopping: its writes fail at once and it cleans up
		return
	}
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		defer func() { <-s.cycles }()
		defer func() {
			if p := recover(); p != nil {
				logging.FromContext(ctx).Error("binding cycle panicked", "panic", p, "stack", string(debug.Stack()))
			}
		}()
		cycle(ctx)
	}()
}

// attemptDone ends the attempt for key: a pod that an event missed
// meanwhile is tried again.
func (s *Scheduler) attemptDone(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, key)
	if s.missed[key] {
		delete(s.missed, key)
		s.runner.Enqueue(key)
	}
}

// bind writes the binding of the assumed pod (placed: pod with its node).
// A failed write forgets the assumption and retries the pod after its
// back-off; a pod deleted or bound by someone else meanwhile is left to its
// own events.
func (s *Scheduler) bind(ctx context.Context, key string, pod, placed *v1.Pod) {
	log := logging.FromContext(ctx)
	nodeName := placed.Spec.NodeName
	binding := &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: nodeName},
	}
	err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{})
	if err == nil {
		s.backoff.Forget(key)
		s.recorder.Eventf(pod, v1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, nodeName)
		log.Info("pod bound", "node", nodeName)
		return
	}
	s.mu.Lock()
	if s.assumed[key] == placed {
		s.setAssumed(key, nil)
	}
	s.mu.Unlock()
	s.podsChanged() // the node it held is free again
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) || ctx.Err() != nil {
		return // deleted, or bound by someone else meanwhile; or stopping
	}
	s.recorder.Eventf(pod, v1.EventTypeWarning, "FailedScheduling", "Binding rejected: %v", err)
	s.retryLater(ctx, key, fmt.Errorf("binding pod to %s: %w", nodeName, err))
}

// retryLater logs the failed write of a binding cycle as the runner logs a
// failed reconcile (a conflict at debug level, anything else as a warning)
// and tries the pod again after its back-off.
func (s *Scheduler) retryLater(ctx context.Context, key string, err error) {
	log := logging.FromContext(ctx)
	if apierrors.IsConflict(err) {
		log.Debug("binding cycle conflicted; retrying", logging.ErrKey, err)
	} else {
		log.Warn("binding cycle failed; retrying", logging.ErrKey, err)
	}
	s.runner.EnqueueAfter(key, s.backoff.When(key))
}

// reserveVolumes pre-binds the pod's volumes (or asks for them to be
// provisioned) on the node chosen for it and parks the pod until its claims
// bind. A failed write gives up the reservation and retries the pod after
// its back-off.
func (s *Scheduler) reserveVolumes(ctx context.Context, key string, pod, placed *v1.Pod, node *nodeInfo, pv *podVolumes, seen seenEvents) {
	log := logging.FromContext(ctx)
	err := s.prepareVolumes(ctx, pod, node, pv)
	if err == nil {
		log.Debug("waiting for volumes to bind before binding pod", "node", node.node.Name)
		s.park(pod, seen, true)
		s.attemptDone(key)
		return
	}
	s.mu.Lock()
	if s.reserved[key] == placed {
		s.setReserved(key, nil)
	}
	s.mu.Unlock()
	s.attemptDone(key)
	s.podsChanged() // the node it held is free again
	if ctx.Err() != nil {
		return
	}
	s.retryLater(ctx, key, err)
}

var errNoNodes = errors.New("no nodes available to schedule pods")

// unschedulable records why pod cannot be placed: the PodScheduled=False
// condition, a FailedScheduling event, and parks the pod.
func (s *Scheduler) unschedulable(ctx context.Context, pod *v1.Pod, seen seenEvents, msg string) error {
	s.mu.Lock()
	s.setReserved(podKey(pod), nil)
	s.mu.Unlock()
	s.recorder.Event(pod, v1.EventTypeWarning, "FailedScheduling", msg)
	logging.FromContext(ctx).Info("pod unschedulable", "reason", msg)
	if err := s.setScheduledCondition(ctx, pod, v1.PodReasonUnschedulable, msg); err != nil {
		return err
	}
	s.park(pod, seen, false)
	return nil
}

// setScheduledCondition sets PodScheduled=False with reason and message.
func (s *Scheduler) setScheduledCondition(ctx context.Context, pod *v1.Pod, reason, msg string) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := s.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != pod.UID || !responsible(cur) {
			return nil
		}
		cond := v1.PodCondition{
			Type:               v1.PodScheduled,
			Status:             v1.ConditionFalse,
			Reason:             reason,
			Message:            msg,
			LastProbeTime:      metav1.Time{},
			LastTransitionTime: metav1.Now(),
		}
		if !setCondition(&cur.Status, cond) {
			return nil
		}
		_, err = s.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("setting PodScheduled condition of %s: %w", podKey(pod), err)
	}
	return nil
}

// setCondition sets cond in status, keeping the transition time when the
// status did not change. It reports whether anything changed.
func setCondition(status *v1.PodStatus, cond v1.PodCondition) bool {
	for i := range status.Conditions {
		c := &status.Conditions[i]
		if c.Type != cond.Type {
			continue
		}
		if c.Status == cond.Status && c.Reason == cond.Reason && c.Message == cond.Message {
			return false
		}
		if c.Status == cond.Status {
			cond.LastTransitionTime = c.LastTransitionTime
		}
		*c = cond
		return true
	}
	status.Conditions = append(status.Conditions, cond)
	return true
}

// nodeSchedulingChanged reports whether an update of a node can change
// scheduling decisions (not heartbeats).
func nodeSchedulingChanged(o, n *v1.Node) bool {
	return !reflect.DeepEqual(o.Labels, n.Labels) ||
		!reflect.DeepEqual(o.Spec.Taints, n.Spec.Taints) ||
		o.Spec.Unschedulable != n.Spec.Unschedulable ||
		!reflect.DeepEqual(o.Status.Allocatable, n.Status.Allocatable) ||
		readyStatus(o) != readyStatus(n)
}

func readyStatus(n *v1.Node) v1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status
		}
	}
	return ""
}
