package scheduler

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"petset/internal/logging"

	v1 "k8s.io/api/core/v1"
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
	// parked holds unschedulable pods and when their backoff ends.
	parked map[string]time.Time
	// events counts cluster changes; a scheduling attempt that saw the
	// counter move while it ran retries instead of parking.
	events uint64
	// inflight holds the pods being tried; missed those of them that an
	// event meant only for some pods (a claim's change) would have woken:
	// they too retry instead of parking.
	inflight map[string]bool
	missed   map[string]bool
}

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
		parked:   map[string]time.Time{},
		inflight: map[string]bool{},
		missed:   map[string]bool{},
		cache:    newPodCache(),
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
		AddFunc:    claimChange,
		UpdateFunc: func(_, obj any) { claimChange(obj) },
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
func (s *Scheduler) Run(ctx context.Context) error { return s.runner.Run(ctx) }

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
		delete(s.parked, key)
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
		s.clusterChanged()
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
	delete(s.parked, key)
	s.mu.Unlock()
	s.backoff.Forget(key)
	if pod.Spec.NodeName != "" || wasAssumed || wasReserved {
		s.clusterChanged()
	}
}

// claimChanged moves the parked pods that use the claim back to the queue.
func (s *Scheduler) claimChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	claim, ok := obj.(*v1.PersistentVolumeClaim)
	if !ok {
		s.clusterChanged()
		return
	}
	s.wake(false, func(key string) bool {
		ns, name, err := cache.SplitMetaNamespaceKey(key)
		if err != nil || ns != claim.Namespace {
			return false
		}
		pod, err := s.pods.Pods(ns).Get(name)
		return err == nil && usesClaim(pod, claim.Name)
	})
}

// usesClaim reports whether pod's volumes name the claim (directly, or as
// the claim of an ephemeral volume).
func usesClaim(pod *v1.Pod, claim string) bool {
	for _, vol := range pod.Spec.Volumes {
		if (vol.PersistentVolumeClaim != nil && vol.PersistentVolumeClaim.ClaimName == claim) ||
			(vol.Ephemeral != nil && pod.Name+"-"+vol.Name == claim) {
			return true
		}
	}
	return false
}

// storageChanged moves the parked pods that hold no node (unschedulable
// ones) back to the queue.
func (s *Scheduler) storageChanged() {
	s.wake(false, func(key string) bool {
		_, held := s.reserved[key]
		return !held
	})
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

// clusterChanged moves every parked pod back to the queue, honouring what
// remains of its backoff.
func (s *Scheduler) clusterChanged() {
	s.wake(true, func(string) bool { return true })
}

// wake moves the parked pods that match back to the queue, honouring what
// remains of their backoff; pods being tried that match retry after their
// attempt. An event for every pod (all) is counted instead. match runs with
// s.mu held.
func (s *Scheduler) wake(all bool, match func(key string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if all {
		s.events++
	} else {
		for key := range s.inflight {
			if match(key) {
				s.missed[key] = true
			}
		}
	}
	for key, until := range s.parked {
		if !match(key) {
			continue
		}
		delete(s.parked, key)
		if d := time.Until(until); d > 0 {
			s.runner.EnqueueAfter(key, d)
		} else {
			s.runner.Enqueue(key)
		}
	}
}

// park records an unschedulable pod. It is requeued by the next cluster
// event after its backoff, or after maxParked regardless. If the cluster
// changed while the attempt ran, it is requeued after its backoff at once.
func (s *Scheduler) park(key string, seenEvents uint64, backoff bool) {
	var d time.Duration
	if backoff {
		d = s.backoff.When(key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.events != seenEvents || s.missed[key] {
		delete(s.missed, key)
		s.runner.EnqueueAfter(key, d)
		return
	}
	s.parked[key] = time.Now().Add(d)
	s.runner.EnqueueAfter(key, maxParked)
}

// scheduleOne makes one scheduling attempt for the pod named key. A returned
// error is transient (API failures) and retried with backoff; a pod that does
// not fit is parked, not an error.
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
	_, isAssumed := s.assumed[key]
	seen := s.events
	s.inflight[key] = true
	delete(s.missed, key)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.inflight, key)
		delete(s.missed, key)
		s.mu.Unlock()
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

	if len(pv.delayed) > 0 || pv.binding {
		// Volumes first: the pod is bound once its claims are.
		if err := s.prepareVolumes(ctx, pod, node, pv); err != nil {
			return err
		}
		log.Debug("waiting for volumes to bind before binding pod", "node", node.node.Name)
		held := pod.DeepCopy()
		held.Spec.NodeName = node.node.Name
		s.mu.Lock()
		s.setReserved(key, held)
		s.mu.Unlock()
		s.park(key, seen, false)
		return nil
	}

	binding := &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: node.node.Name},
	}
	if err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil // deleted, or bound by someone else meanwhile
		}
		s.recorder.Eventf(pod, v1.EventTypeWarning, "FailedScheduling", "Binding rejected: %v", err)
		return fmt.Errorf("binding pod %s to %s: %w", key, node.node.Name, err)
	}
	bound := pod.DeepCopy()
	bound.Spec.NodeName = node.node.Name
	s.mu.Lock()
	// The cache, not the lister: the pod counts in the next snapshot either
	// as assumed or, once the cache saw it bound, from the cache (whose
	// handler then drops it from assumed).
	if cur := s.cache.pod(key); cur != nil && cur.UID == pod.UID && cur.Spec.NodeName == "" {
		s.setAssumed(key, bound)
	}
	s.setReserved(key, nil)
	delete(s.parked, key)
	s.mu.Unlock()
	s.backoff.Forget(key)
	s.recorder.Eventf(pod, v1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, node.node.Name)
	log.Info("pod bound", "node", node.node.Name)
	return nil
}

var errNoNodes = errors.New("no nodes available to schedule pods")

// unschedulable records why pod cannot be placed: the PodScheduled=False
// condition, a FailedScheduling event, and parks the pod.
func (s *Scheduler) unschedulable(ctx context.Context, pod *v1.Pod, seen uint64, msg string) error {
	s.mu.Lock()
	s.setReserved(podKey(pod), nil)
	s.mu.Unlock()
	s.recorder.Event(pod, v1.EventTypeWarning, "FailedScheduling", msg)
	logging.FromContext(ctx).Info("pod unschedulable", "reason", msg)
	if err := s.setScheduledCondition(ctx, pod, v1.PodReasonUnschedulable, msg); err != nil {
		return err
	}
	s.park(podKey(pod), seen, true)
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
