package replicaset

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"petset/internal/controller/controllerref"
	"petset/internal/controller/runner"
)

// burstReplicas is the most pods one sync creates or deletes.
const burstReplicas = 500

var rsKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")

// Controller keeps every ReplicaSet's pods and status.
type Controller struct {
	client   kubernetes.Interface
	sets     appslisters.ReplicaSetLister
	pods     corelisters.PodLister
	recorder record.EventRecorder
	clock    clock.PassiveClock
	expect   *expectations
	runner   *runner.Runner[string]
}

// New wires the controller; clk nil is the real clock.
func New(client kubernetes.Interface, sets appsinformers.ReplicaSetInformer, pods coreinformers.PodInformer,
	recorder record.EventRecorder, clk clock.PassiveClock, workers int) *Controller {
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Controller{client: client, sets: sets.Lister(), pods: pods.Lister(), recorder: recorder, clock: clk, expect: newExpectations()}
	c.runner = runner.New(runner.Config[string]{
		Name:      "replicaset",
		Workers:   workers,
		Reconcile: c.reconcile,
		Synced:    []cache.InformerSynced{sets.Informer().HasSynced, pods.Informer().HasSynced},
		LogAttrs:  func(key string) []any { return []any{"replicaset", key} },
	})
	enqueue := func(obj any) {
		if key, ok := runner.ObjectKey(obj); ok {
			c.runner.Enqueue(key)
		}
	}
	_, _ = sets.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: func(obj any) {
			if key, ok := runner.ObjectKey(obj); ok {
				c.expect.forget(key)
				c.runner.Enqueue(key)
			}
		},
	})
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.podChanged(nil, obj) },
		UpdateFunc: c.podChanged,
		DeleteFunc: c.podDeleted,
	})
	return c
}

// Run keeps the ReplicaSets until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Ready is closed once the caches have synced and the controller works.
func (c *Controller) Ready() <-chan struct{} { return c.runner.Ready() }

// podChanged enqueues the ReplicaSets a pod's add or update concerns and
// observes expected creations and deletions.
func (c *Controller) podChanged(oldObj, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	old, _ := oldObj.(*corev1.Pod)
	if old != nil && old.ResourceVersion == pod.ResourceVersion {
		return // a resync
	}
	if pod.DeletionTimestamp != nil && (old == nil || old.DeletionTimestamp == nil) {
		// Graceful deletion: as good as gone for the count.
		c.podDeleted(pod)
		if old == nil {
			return
		}
	}
	if old != nil {
		if oldRef := metav1.GetControllerOf(old); oldRef != nil && !sameRef(oldRef, metav1.GetControllerOf(pod)) {
			c.enqueueRef(old.Namespace, oldRef)
		}
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if rs := c.resolve(pod.Namespace, ref); rs != nil {
			key := rs.Namespace + "/" + rs.Name
			if old == nil {
				c.expect.created(key)
			}
			c.runner.Enqueue(key)
			// Ready now, available after minReadySeconds: sync then too.
			if old != nil && rs.Spec.MinReadySeconds > 0 && !isReady(old) && isReady(pod) {
				c.runner.EnqueueAfter(key, time.Duration(rs.Spec.MinReadySeconds)*time.Second+time.Second)
			}
		}
		return
	}
	// An orphan, or one whose labels changed: every ReplicaSet selecting it.
	if old == nil || !labels.Equals(old.Labels, pod.Labels) || metav1.GetControllerOf(old) != nil {
		for _, rs := range c.selecting(pod) {
			c.runner.Enqueue(rs.Namespace + "/" + rs.Name)
		}
	}
}

// podDeleted observes an expected deletion and enqueues the pod's owner.
func (c *Controller) podDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return
	}
	if rs := c.resolve(pod.Namespace, ref); rs != nil {
		key := rs.Namespace + "/" + rs.Name
		c.expect.deleted(key, pod.UID)
		c.runner.Enqueue(key)
	}
}

func (c *Controller) enqueueRef(namespace string, ref *metav1.OwnerReference) {
	if rs := c.resolve(namespace, ref); rs != nil {
		c.runner.Enqueue(rs.Namespace + "/" + rs.Name)
	}
}

// resolve is the ReplicaSet a controller reference names, nil if none.
func (c *Controller) resolve(namespace string, ref *metav1.OwnerReference) *appsv1.ReplicaSet {
	if ref.Kind != rsKind.Kind || !strings.HasPrefix(ref.APIVersion, "apps/") {
		return nil
	}
	rs, err := c.sets.ReplicaSets(namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil
	}
	return rs
}

// selecting are the ReplicaSets of the pod's namespace whose selector
// matches it.
func (c *Controller) selecting(pod *corev1.Pod) []*appsv1.ReplicaSet {
	all, err := c.sets.ReplicaSets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*appsv1.ReplicaSet
	for _, rs := range all {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, rs)
	}
	return out
}

func sameRef(a, b *metav1.OwnerReference) bool {
	return b != nil && a.UID == b.UID
}

func isReady(p *corev1.Pod) bool { return isAvailable(p, 0, time.Time{}) }

// reconcile syncs the ReplicaSet named by key.
func (c *Controller) reconcile(ctx context.Context, key string) (runner.Result, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return runner.Done, runner.Terminal(fmt.Errorf("invalid key: %w", err))
	}
	rs, err := c.sets.ReplicaSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.expect.forget(key)
		return runner.Done, nil
	}
	if err != nil {
		return runner.Done, fmt.Errorf("get replicaset: %w", err)
	}
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return runner.Done, runner.Terminal(fmt.Errorf("invalid selector: %w", err))
	}
	now := c.clock.Now()
	// Read before listing pods: a pod seen after this may already be counted.
	satisfied := c.expect.satisfied(key, now)
	pods, err := c.claimPods(ctx, rs, selector)
	if err != nil {
		return runner.Done, err
	}
	active := activePods(pods)
	var manageErr error
	if satisfied && rs.DeletionTimestamp == nil {
		manageErr = c.manage(ctx, key, rs, active)
	}
	status := computeStatus(rs, active, manageErr, now)
	if err := c.writeStatus(ctx, rs, status); err != nil {
		return runner.Done, errors.Join(manageErr, err)
	}
	if manageErr != nil {
		return runner.Done, manageErr
	}
	if rs.Spec.MinReadySeconds > 0 && status.ReadyReplicas != status.AvailableReplicas {
		return runner.RequeueAfter(time.Duration(rs.Spec.MinReadySeconds) * time.Second), nil
	}
	return runner.Done, nil
}

// activePods are the pods neither finished nor terminating.
func activePods(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out
}

// claimPods returns the pods rs owns, adopting matching orphans and
// releasing owned pods that no longer match.
func (c *Controller) claimPods(ctx context.Context, rs *appsv1.ReplicaSet, selector labels.Selector) ([]*corev1.Pod, error) {
	all, err := c.pods.Pods(rs.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	return controllerref.Claimer[*corev1.Pod]{
		Owner: rs, Kind: rsKind, Selector: selector,
		Recheck: func(ctx context.Context) error { return c.recheck(ctx, rs) },
		Patch: func(ctx context.Context, pod *corev1.Pod, patch []byte) (*corev1.Pod, error) {
			got, err := c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			if apierrors.IsNotFound(err) || apierrors.IsInvalid(err) {
				return nil, nil
			}
			return got, err
		},
	}.Claim(ctx, all)
}

// recheck confirms with a live read that rs still exists with the same
// UID and is not being deleted, before it adopts.
func (c *Controller) recheck(ctx context.Context, rs *appsv1.ReplicaSet) error {
	fresh, err := c.client.AppsV1().ReplicaSets(rs.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
	return controllerref.Fresh(rs, fresh, err)
}
