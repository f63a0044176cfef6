package deployment

import (
	"context"
	"fmt"
	"strings"

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

var deploymentKind = appsv1.SchemeGroupVersion.WithKind("Deployment")

// Controller rolls every Deployment out through its ReplicaSets.
type Controller struct {
	client      kubernetes.Interface
	deployments appslisters.DeploymentLister
	sets        appslisters.ReplicaSetLister
	pods        corelisters.PodLister
	recorder    record.EventRecorder
	clock       clock.PassiveClock
	runner      *runner.Runner[string]
}

// New wires the controller; clk nil is the real clock.
func New(client kubernetes.Interface, deployments appsinformers.DeploymentInformer, sets appsinformers.ReplicaSetInformer,
	pods coreinformers.PodInformer, recorder record.EventRecorder, clk clock.PassiveClock, workers int) *Controller {
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Controller{client: client, deployments: deployments.Lister(), sets: sets.Lister(), pods: pods.Lister(),
		recorder: recorder, clock: clk}
	c.runner = runner.New(runner.Config[string]{
		Name:      "deployment",
		Workers:   workers,
		Reconcile: c.reconcile,
		Synced:    []cache.InformerSynced{deployments.Informer().HasSynced, sets.Informer().HasSynced, pods.Informer().HasSynced},
		LogAttrs:  func(key string) []any { return []any{"deployment", key} },
	})
	enqueue := func(obj any) {
		if key, ok := runner.ObjectKey(obj); ok {
			c.runner.Enqueue(key)
		}
	}
	_, _ = deployments.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }, DeleteFunc: enqueue,
	})
	_, _ = sets.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.replicaSetChanged(nil, obj) },
		UpdateFunc: c.replicaSetChanged,
		DeleteFunc: func(obj any) { c.replicaSetChanged(nil, obj) },
	})
	// A Recreate rollout waits for the old pods to be gone.
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: c.podDeleted})
	return c
}

// Run rolls Deployments out until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Ready is closed once the caches have synced and the controller works.
func (c *Controller) Ready() <-chan struct{} { return c.runner.Ready() }

func tombstone(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

// replicaSetChanged enqueues the Deployments a ReplicaSet's change concerns:
// its controller's (old and new), or for an orphan every one selecting it.
func (c *Controller) replicaSetChanged(oldObj, obj any) {
	rs, ok := tombstone(obj).(*appsv1.ReplicaSet)
	if !ok {
		return
	}
	if old, ok := oldObj.(*appsv1.ReplicaSet); ok {
		if ref := metav1.GetControllerOf(old); ref != nil {
			c.enqueueOwner(old.Namespace, ref)
		}
	}
	if ref := metav1.GetControllerOf(rs); ref != nil {
		c.enqueueOwner(rs.Namespace, ref)
		return
	}
	all, err := c.deployments.Deployments(rs.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, d := range all {
		if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil && !sel.Empty() && sel.Matches(labels.Set(rs.Labels)) {
			c.runner.Enqueue(d.Namespace + "/" + d.Name)
		}
	}
}

func (c *Controller) podDeleted(obj any) {
	pod, ok := tombstone(obj).(*corev1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return
	}
	if rs, err := c.sets.ReplicaSets(pod.Namespace).Get(ref.Name); err == nil && rs.UID == ref.UID {
		if owner := metav1.GetControllerOf(rs); owner != nil {
			c.enqueueOwner(rs.Namespace, owner)
		}
	}
}

func (c *Controller) enqueueOwner(namespace string, ref *metav1.OwnerReference) {
	if ref.Kind != deploymentKind.Kind || !strings.HasPrefix(ref.APIVersion, "apps/") {
		return
	}
	if d, err := c.deployments.Deployments(namespace).Get(ref.Name); err == nil && d.UID == ref.UID {
		c.runner.Enqueue(namespace + "/" + ref.Name)
	}
}

// reconcile syncs the Deployment named by key.
func (c *Controller) reconcile(ctx context.Context, key string) (runner.Result, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return runner.Done, runner.Terminal(fmt.Errorf("invalid key: %w", err))
	}
	cached, err := c.deployments.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return runner.Done, nil
	}
	if err != nil {
		return runner.Done, fmt.Errorf("get deployment: %w", err)
	}
	d := cached.DeepCopy()
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return runner.Done, runner.Terminal(fmt.Errorf("invalid selector: %w", err))
	}
	if selector.Empty() {
		c.recorder.Eventf(d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		return runner.Done, nil
	}
	rss, err := c.claimReplicaSets(ctx, d, selector)
	if err != nil {
		return runner.Done, err
	}
	s := &rollout{c: c, d: d, rss: rss}
	if d.DeletionTimestamp != nil {
		return s.statusOnly(ctx)
	}
	if err := s.checkPaused(ctx); err != nil {
		return runner.Done, err
	}
	if d.Spec.Paused {
		return s.scaleOnly(ctx)
	}
	if s.isScalingEvent() {
		return s.scaleOnly(ctx)
	}
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return s.recreate(ctx)
	}
	return s.rolling(ctx)
}

// claimReplicaSets returns the ReplicaSets d owns, adopting matching
// orphans and releasing owned ones that stop matching.
func (c *Controller) claimReplicaSets(ctx context.Context, d *appsv1.Deployment, selector labels.Selector) ([]*appsv1.ReplicaSet, error) {
	all, err := c.sets.ReplicaSets(d.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list replicasets: %w", err)
	}
	return controllerref.Claimer[*appsv1.ReplicaSet]{
		Owner: d, Kind: deploymentKind, Selector: selector,
		Recheck: func(ctx context.Context) error {
			fresh, err := c.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
			return controllerref.Fresh(d, fresh, err)
		},
		Patch: func(ctx context.Context, rs *appsv1.ReplicaSet, patch []byte) (*appsv1.ReplicaSet, error) {
			got, err := c.client.AppsV1().ReplicaSets(rs.Namespace).Patch(ctx, rs.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			if apierrors.IsNotFound(err) || apierrors.IsInvalid(err) {
				return nil, nil
			}
			return got, err
		},
	}.Claim(ctx, all)
}
