package disruption

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	policyinformers "k8s.io/client-go/informers/policy/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"petset/internal/controller/runner"
	"petset/internal/logging"
)

// Controller keeps every PodDisruptionBudget's status.
type Controller struct {
	client   kubernetes.Interface
	pdbs     policylisters.PodDisruptionBudgetLister
	pods     corelisters.PodLister
	sets     appslisters.StatefulSetLister
	rss      appslisters.ReplicaSetLister
	deploys  appslisters.DeploymentLister
	recorder record.EventRecorder
	clock    clock.PassiveClock
	runner   *runner.Runner[string]
}

// New wires the controller; clk nil is the real clock.
func New(client kubernetes.Interface, pdbs policyinformers.PodDisruptionBudgetInformer, pods coreinformers.PodInformer,
	apps appsinformers.Interface, recorder record.EventRecorder, clk clock.PassiveClock, workers int) *Controller {
	if clk == nil {
		clk = clock.RealClock{}
	}
	sets, rss, deploys := apps.StatefulSets(), apps.ReplicaSets(), apps.Deployments()
	c := &Controller{client: client, pdbs: pdbs.Lister(), pods: pods.Lister(), sets: sets.Lister(), rss: rss.Lister(),
		deploys: deploys.Lister(), recorder: recorder, clock: clk}
	c.runner = runner.New(runner.Config[string]{
		Name:      "disruption",
		Workers:   workers,
		Reconcile: c.reconcile,
		Synced: []cache.InformerSynced{pdbs.Informer().HasSynced, pods.Informer().HasSynced, sets.Informer().HasSynced,
			rss.Informer().HasSynced, deploys.Informer().HasSynced},
		LogAttrs: func(key string) []any {
			if pod, ok := strings.CutPrefix(key, podKeyPrefix); ok {
				return []any{"pod", pod}
			}
			return []any{"poddisruptionbudget", key}
		},
	})
	enqueue := func(obj any) {
		if key, ok := runner.ObjectKey(obj); ok {
			c.runner.Enqueue(key)
		}
	}
	_, _ = pdbs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	})
	podChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		c.enqueueStale(pod)
		// Every budget selecting the pod; kube enqueues the first only, so
		// this is never less prompt.
		budgets, err := c.pdbs.GetPodPodDisruptionBudgets(pod)
		if err != nil {
			return // none selects it
		}
		for _, pdb := range budgets {
			c.runner.Enqueue(pdb.Namespace + "/" + pdb.Name)
		}
	}
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    podChanged,
		UpdateFunc: func(_, obj any) { podChanged(obj) },
		DeleteFunc: podChanged,
	})
	return c
}

// Run keeps the budgets' status until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Ready is closed once the caches have synced and the controller works.
func (c *Controller) Ready() <-chan struct{} { return c.runner.Ready() }

// reconcile computes and writes one budget's status. A failure other than
// a conflict writes the fail-safe status (no disruption allowed, reason
// SyncFailed) as kube does; the budget is then reconciled again on its next
// event.
func (c *Controller) reconcile(ctx context.Context, key string) (runner.Result, error) {
	if podKey, ok := strings.CutPrefix(key, podKeyPrefix); ok {
		return c.resetStale(ctx, podKey)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return runner.Done, runner.Terminal(err)
	}
	pdb, err := c.pdbs.PodDisruptionBudgets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return runner.Done, nil
	}
	if err != nil {
		return runner.Done, err
	}
	res, err := c.sync(ctx, pdb)
	if err == nil || apierrors.IsConflict(err) {
		return res, err
	}
	logging.FromContext(ctx).Error("sync failed: no disruption allowed", logging.ErrKey, err)
	if ferr := c.writeStatus(ctx, pdb, failedStatus(pdb, err, c.clock.Now())); ferr != nil {
		return runner.Done, fmt.Errorf("write fail-safe status after %v: %w", err, ferr)
	}
	return runner.Done, nil
}

func (c *Controller) sync(ctx context.Context, pdb *policyv1.PodDisruptionBudget) (runner.Result, error) {
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		c.recorder.Eventf(pdb, corev1.EventTypeWarning, "NoPods", "Failed to get pods: %v", err)
		return runner.Done, fmt.Errorf("selector: %w", err)
	}
	pods, err := c.pods.Pods(pdb.Namespace).List(sel)
	if err != nil {
		c.recorder.Eventf(pdb, corev1.EventTypeWarning, "NoPods", "Failed to get pods: %v", err)
		return runner.Done, fmt.Errorf("list pods: %w", err)
	}
	if len(pods) == 0 {
		c.recorder.Event(pdb, corev1.EventTypeNormal, "NoPods", "No matching pods found")
	}
	now := c.clock.Now()
	got, err := computeStatus(pdb, pods, c.scale, now)
	if err != nil {
		c.recorder.Eventf(pdb, corev1.EventTypeWarning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", err)
		return runner.Done, err
	}
	if len(got.unmanaged) > 0 {
		logging.FromContext(ctx).Debug("pods without a controller", "pods", strings.Join(got.unmanaged, ","))
		c.recorder.Eventf(pdb, corev1.EventTypeWarning, "UnmanagedPods", "Pods selected by this PodDisruptionBudget (selector: %v) were found "+
			"to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. "+
			"To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.", pdb.Spec.Selector)
	}
	for _, name := range got.expired {
		if pod, err := c.pods.Pods(pdb.Namespace).Get(name); err == nil {
			c.recorder.Eventf(pod, corev1.EventTypeWarning, "NotDeleted", "Pod was expected by PDB %s/%s to be deleted but it wasn't", pdb.Namespace, pdb.Name)
		}
	}
	if !statusEqual(&pdb.Status, &got.status) {
		if err := c.writeStatus(ctx, pdb, got.status); err != nil {
			return runner.Done, err
		}
	}
	if !got.recheck.IsZero() {
		return runner.RequeueAfter(got.recheck.Sub(now)), nil
	}
	return runner.Done, nil
}

func (c *Controller) writeStatus(ctx context.Context, pdb *policyv1.PodDisruptionBudget, status policyv1.PodDisruptionBudgetStatus) error {
	next := pdb.DeepCopy()
	next.Status = status
	if _, err := c.client.PolicyV1().PodDisruptionBudgets(pdb.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status: %w", err)
	}
	return nil
}

// The pod controllers whose scale a budget reads, as kube's finders.
var (
	statefulSetKind = schema.GroupKind{Group: "apps", Kind: "StatefulSet"}
	replicaSetKind  = schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}
	deploymentKind  = schema.GroupKind{Group: "apps", Kind: "Deployment"}
)

// scale is the scale (spec.replicas, as kube's disruption controller reads
// it) of the controller ref names: a StatefulSet; a ReplicaSet, or the
// Deployment controlling it (whose UID then counts its pods once across
// its ReplicaSets). Any other controller is not found.
func (c *Controller) scale(namespace string, ref *metav1.OwnerReference) (types.UID, int32, bool, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return "", 0, false, fmt.Errorf("controller of pod: %w", err)
	}
	var (
		uid      types.UID
		replicas *int32
	)
	switch (schema.GroupKind{Group: gv.Group, Kind: ref.Kind}) {
	case statefulSetKind:
		set, err := c.sets.StatefulSets(namespace).Get(ref.Name)
		if err != nil {
			return notFound(err)
		}
		uid, replicas = set.UID, set.Spec.Replicas
	case replicaSetKind:
		rs, err := c.rss.ReplicaSets(namespace).Get(ref.Name)
		if err != nil {
			return notFound(err)
		}
		uid, replicas = rs.UID, rs.Spec.Replicas
		if owner := metav1.GetControllerOf(rs); rs.UID == ref.UID && owner != nil && owner.Kind == deploymentKind.Kind {
			d, err := c.deploys.Deployments(namespace).Get(owner.Name)
			if err != nil {
				return notFound(err)
			}
			if d.UID != owner.UID {
				return "", 0, false, nil
			}
			return d.UID, replicasOrOne(d.Spec.Replicas), true, nil
		}
	default:
		return "", 0, false, nil
	}
	if uid != ref.UID {
		return "", 0, false, nil
	}
	return uid, replicasOrOne(replicas), true, nil
}

// notFound turns a lister's NotFound into "no such controller".
func notFound(err error) (types.UID, int32, bool, error) {
	if apierrors.IsNotFound(err) {
		return "", 0, false, nil
	}
	return "", 0, false, err
}

func replicasOrOne(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}
