package lostvolume

import (
	"context"
	"fmt"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"petset/internal/controller/runner"
	"petset/internal/logging"
)

// Controller applies the sets' lost-volume policy.
type Controller struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
	now      func() time.Time

	sets    appslisters.StatefulSetLister
	pods    corelisters.PodLister
	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	nodes   corelisters.NodeLister

	runner *runner.Runner[string]
}

// New wires the controller to the informers of factory; nothing runs until
// Run, and the factory is started by the caller.
func New(ctx context.Context, client kubernetes.Interface, factory informers.SharedInformerFactory, recorder record.EventRecorder) *Controller {
	c := &Controller{client: client, recorder: recorder, now: time.Now}
	setInf := factory.Apps().V1().StatefulSets()
	podInf := factory.Core().V1().Pods()
	claimInf := factory.Core().V1().PersistentVolumeClaims()
	volumeInf := factory.Core().V1().PersistentVolumes()
	nodeInf := factory.Core().V1().Nodes()
	c.sets, c.pods, c.claims = setInf.Lister(), podInf.Lister(), claimInf.Lister()
	c.volumes, c.nodes = volumeInf.Lister(), nodeInf.Lister()

	log := logging.FromContext(ctx)
	var synced []cache.InformerSynced
	add := func(reg cache.ResourceEventHandlerRegistration, err error) {
		if err != nil {
			log.Error("lost-volume controller: registering event handler", logging.ErrKey, err)
			return
		}
		synced = append(synced, reg.HasSynced)
	}
	add(setInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueSet,
		UpdateFunc: func(_, obj any) { c.enqueueSet(obj) },
	}))
	add(podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.podChanged,
		UpdateFunc: func(_, obj any) { c.podChanged(obj) },
	}))
	add(nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(old, obj any) {
			o, ok1 := old.(*v1.Node)
			n, ok2 := obj.(*v1.Node)
			if ok1 && ok2 && readyOf(o) == readyOf(n) {
				return // heartbeats
			}
			c.enqueueRecreateSets()
		},
		DeleteFunc: func(any) { c.enqueueRecreateSets() },
	}))
	// Claims and volumes are read through their listers only; their
	// informers must be synced before the first reconcile.
	synced = append(synced, claimInf.Informer().HasSynced, volumeInf.Informer().HasSynced)
	c.runner = runner.New(runner.Config[string]{
		Name:      "lost-volume",
		Reconcile: c.reconcile,
		Synced:    synced,
		LogAttrs:  func(key string) []any { return []any{"statefulset", key} },
	})
	return c
}

// Run waits for the caches and applies the policy until ctx is done.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Ready is closed once the caches have synced and the worker runs.
func (c *Controller) Ready() <-chan struct{} { return c.runner.Ready() }

func readyOf(n *v1.Node) v1.ConditionStatus {
	for _, cond := range n.Status.Conditions {
		if cond.Type == v1.NodeReady {
			return cond.Status
		}
	}
	return ""
}

func (c *Controller) enqueueSet(obj any) {
	if key, ok := runner.ObjectKey(obj); ok {
		c.runner.Enqueue(key)
	}
}

// podChanged queues the set of a pod the scheduler could not place.
func (c *Controller) podChanged(obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok || !unschedulable(pod) {
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil && ref.Kind == "StatefulSet" {
		c.runner.Enqueue(pod.Namespace + "/" + ref.Name)
	}
}

// enqueueRecreateSets queues every set with the Recreate policy (a node's
// readiness changed, or a node went away).
func (c *Controller) enqueueRecreateSets() {
	sets, err := c.sets.List(labels.Everything())
	if err != nil {
		return
	}
	for _, s := range sets {
		if s.Annotations[PolicyAnnotation] == PolicyRecreate {
			c.runner.Enqueue(s.Namespace + "/" + s.Name)
		}
	}
}

// lostClaim is a claim of a pod whose volume is on a lost node.
type lostClaim struct {
	claim *v1.PersistentVolumeClaim
	pv    *v1.PersistentVolume
	node  string
	why   string
	// deleting: the claim is being deleted already (an earlier pass that
	// could not delete the pod); only the pod is left to delete.
	deleting bool
}

func (c *Controller) reconcile(ctx context.Context, key string) (runner.Result, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return runner.Done, runner.Terminal(fmt.Errorf("invalid key %q: %w", key, err))
	}
	set, err := c.sets.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return runner.Done, nil
	}
	if err != nil {
		return runner.Done, fmt.Errorf("getting statefulset: %w", err)
	}
	pol, err := policyOf(set)
	if err != nil {
		c.recorder.Event(set, v1.EventTypeWarning, ReasonInvalidPolicy, err.Error()+"; the set's pods wait for lost nodes (policy Wait)")
		return runner.Done, nil // reconciled again when the set changes
	}
	if !pol.recreate || set.DeletionTimestamp != nil {
		return runner.Done, nil
	}
	pods, err := c.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return runner.Done, fmt.Errorf("listing pods: %w", err)
	}
	now := c.now()
	var recheck time.Duration
	for _, pod := range pods {
		if ref := metav1.GetControllerOf(pod); ref == nil || ref.UID != set.UID || !unschedulable(pod) {
			continue
		}
		lost, wait, err := c.lostClaims(set, pod, now, pol.after)
		if err != nil {
			return runner.Done, err
		}
		if wait > 0 && (recheck == 0 || wait < recheck) {
			recheck = wait
		}
		if len(lost) == 0 {
			continue
		}
		if err := c.recreate(ctx, set, pod, lost, pol.after); err != nil {
			return runner.Done, err
		}
	}
	if recheck > 0 {
		return runner.RequeueAfter(recheck), nil
	}
	return runner.Done, nil
}

// lostClaims returns the pod's claims (of the set's templates) bound to a
// volume pinned to a lost node, and how long until a down node's volume
// counts as lost (0 if none is waiting).
func (c *Controller) lostClaims(set *apps.StatefulSet, pod *v1.Pod, now time.Time, after time.Duration) ([]lostClaim, time.Duration, error) {
	var out []lostClaim
	var recheck time.Duration
	for _, tmpl := range set.Spec.VolumeClaimTemplates {
		claim, err := c.claims.PersistentVolumeClaims(pod.Namespace).Get(tmpl.Name + "-" + pod.Name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("getting claim: %w", err)
		}
		if claim.Spec.VolumeName == "" {
			continue
		}
		pv, err := c.volumes.Get(claim.Spec.VolumeName)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("getting volume: %w", err)
		}
		host := PinnedNode(pv)
		if host == "" {
			continue
		}
		node, err := FindNode(c.nodes, host)
		if err != nil {
			return nil, 0, err
		}
		down, lost, wait, why := NodeLost(host, node, now, after)
		switch {
		case lost:
			out = append(out, lostClaim{claim: claim, pv: pv, node: host, why: why, deleting: claim.DeletionTimestamp != nil})
		case down && (recheck == 0 || wait < recheck):
			recheck = wait
		}
	}
	return out, recheck, nil
}

// recreate deletes the lost claims and then the pod, so that the
// statefulset controller makes both anew.
func (c *Controller) recreate(ctx context.Context, set *apps.StatefulSet, pod *v1.Pod, lost []lostClaim, after time.Duration) error {
	log := logging.FromContext(ctx)
	for _, l := range lost {
		if l.deleting {
			continue
		}
		err := c.client.CoreV1().PersistentVolumeClaims(l.claim.Namespace).Delete(ctx, l.claim.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &l.claim.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting claim %s of a lost node: %w", l.claim.Name, err)
		}
		c.recorder.Eventf(set, v1.EventTypeWarning, ReasonRecreated,
			"Claim %s of pod %s was bound to volume %s, pinned to node %s, and %s (lost after %s, policy %s): deleted the claim and the pod, so that %s starts on another node with a new, empty volume. The data of %s was left behind on %s (reclaim policy %s; with Delete it is removed if that node's agent comes back)",
			l.claim.Name, pod.Name, l.pv.Name, l.node, l.why, after, PolicyRecreate, pod.Name, l.pv.Name, l.node, l.pv.Spec.PersistentVolumeReclaimPolicy)
		log.Warn("claim of a lost node deleted for the set's policy", "pod", pod.Name, "claim", l.claim.Name, "volume", l.pv.Name, "node", l.node)
	}
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting pod %s after its lost claims: %w", pod.Name, err)
	}
	return nil
}
