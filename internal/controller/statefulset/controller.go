package statefulset

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
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

	"petset/internal/controller/runner"
	"petset/internal/logging"
)

// Controller reconciles StatefulSets. It is built by NewController and runs
// with Run.
type Controller struct {
	client  kubernetes.Interface
	control *control
	history *history
	writes  *writeTracker

	podLister corelisters.PodLister
	// pods indexes pods by controller (PodsByController), so a sync
	// reads the set's own pods and the namespace's orphans, never every
	// pod of the namespace.
	pods      cache.Indexer
	setLister appslisters.StatefulSetLister
	synced    []cache.InformerSynced

	runner *runner.Runner[string]
}

// Options are the controller's settings beyond its informers.
type Options struct {
	// AutoFailover opts the pods of every set into automatic failover, as
	// the petset.io/failover=auto annotation does for one set (`petset
	// server --auto-failover`; docs/fencing.md).
	AutoFailover bool
}

// errCacheBehind makes a sync wait (with backoff) for the caches to observe
// the controller's own earlier writes.
var errCacheBehind = errors.New("informer caches have not yet observed this controller's writes")

// NewController wires a StatefulSet controller to the informers. Pods and
// StatefulSets drive the queue; claims and revisions are read through their
// listers only; workers sets are synced at once. The informers must be
// started by the caller.
func NewController(ctx context.Context, client kubernetes.Interface,
	podInformer coreinformers.PodInformer, setInformer appsinformers.StatefulSetInformer,
	pvcInformer coreinformers.PersistentVolumeClaimInformer, revInformer appsinformers.ControllerRevisionInformer,
	recorder record.EventRecorder, workers int, opts Options) *Controller {
	log := logging.FromContext(ctx)
	if _, ok := podInformer.Informer().GetIndexer().GetIndexers()[PodsByController]; !ok {
		if err := podInformer.Informer().AddIndexers(cache.Indexers{PodsByController: IndexPodByController}); err != nil {
			log.Error("statefulset controller: adding the pod index", logging.ErrKey, err)
		}
	}
	if _, ok := revInformer.Informer().GetIndexer().GetIndexers()[RevisionsByController]; !ok {
		if err := revInformer.Informer().AddIndexers(cache.Indexers{RevisionsByController: IndexRevisionByController}); err != nil {
			log.Error("statefulset controller: adding the revision index", logging.ErrKey, err)
		}
	}
	c := newController(client, podInformer.Informer().GetIndexer(), setInformer.Lister(), pvcInformer.Lister(), revInformer.Informer().GetIndexer(), recorder, workers)
	c.control.autoFailover = opts.AutoFailover
	c.writes.podsSeen = podInformer.Informer().LastSyncResourceVersion
	c.writes.pvcsSeen = pvcInformer.Informer().LastSyncResourceVersion
	c.synced = []cache.InformerSynced{
		podInformer.Informer().HasSynced,
		setInformer.Informer().HasSynced,
		pvcInformer.Informer().HasSynced,
		revInformer.Informer().HasSynced,
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	}); err != nil {
		log.Error("register pod event handler", logging.ErrKey, err)
	}
	if _, err := setInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueSet,
		UpdateFunc: func(_, cur interface{}) { c.enqueueSet(cur) },
		DeleteFunc: c.deleteSet,
	}); err != nil {
		log.Error("register statefulset event handler", logging.ErrKey, err)
	}
	return c
}

// newController builds a controller over the given listers, without event
// handlers; NewController adds them. Tests drive it with listers over
// indexers they fill themselves; pods must have the PodsByController index,
// revisions the RevisionsByController one.
func newController(client kubernetes.Interface, pods cache.Indexer, setLister appslisters.StatefulSetLister,
	pvcLister corelisters.PersistentVolumeClaimLister, revisions cache.Indexer,
	recorder record.EventRecorder, workers int) *Controller {
	writes := &writeTracker{}
	podLister := corelisters.NewPodLister(pods)
	hist := &history{client: client, revisions: revisions}
	c := &Controller{
		client:  client,
		history: hist,
		writes:  writes,
		control: &control{
			pods: &podControl{
				client:    client,
				podLister: podLister,
				pvcLister: pvcLister,
				recorder:  recorder,
				writes:    writes,
			},
			status:   &statusUpdater{client: client, setLister: setLister},
			history:  hist,
			compare:  &templateComparer{},
			recorder: recorder,
			now:      time.Now,
		},
		podLister: podLister,
		pods:      pods,
		setLister: setLister,
	}
	c.runner = runner.New(runner.Config[string]{
		Name:      "statefulset",
		Workers:   workers,
		Reconcile: c.reconcile,
		Synced:    []cache.InformerSynced{c.HasSynced},
		LogAttrs:  func(key string) []any { return []any{"statefulset", key} },
	})
	return c
}

// HasSynced reports whether all four informer caches have synced.
func (c *Controller) HasSynced() bool {
	for _, s := range c.synced {
		if !s() {
			return false
		}
	}
	return true
}

// Run syncs sets once the caches have synced, until ctx is done. It returns
// after every worker has stopped.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Ready is closed once the caches have synced and the workers run.
func (c *Controller) Ready() <-chan struct{} { return c.runner.Ready() }

// reconcile syncs the set named by key; a sync that finds the caches behind
// the controller's own writes is retried after the key's back-off.
func (c *Controller) reconcile(ctx context.Context, key string) (runner.Result, error) {
	res, err := c.sync(ctx, key)
	if errors.Is(err, errCacheBehind) {
		logging.FromContext(ctx).Debug("sync deferred", "reason", err)
		return runner.Requeue, nil
	}
	return res, err
}

// sync reconciles the set named by key. It returns errCacheBehind while the
// caches have not observed the controller's own writes, and asks to come
// back after minReadySeconds while replicas are ready but not yet available.
func (c *Controller) sync(ctx context.Context, key string) (runner.Result, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return runner.Done, runner.Terminal(fmt.Errorf("invalid key: %w", err))
	}
	set, err := c.setLister.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return runner.Done, nil
	}
	if err != nil {
		return runner.Done, fmt.Errorf("get statefulset: %w", err)
	}
	selector, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil {
		// Not retried: the set must be fixed by its owner.
		return runner.Done, runner.Terminal(fmt.Errorf("invalid selector: %w", err))
	}
	if !c.writes.observed(set) {
		return runner.Done, errCacheBehind
	}
	adopt := &adoptionCheck{client: c.client, set: set}
	if err := c.adoptOrphanRevisions(ctx, set, selector, adopt); err != nil {
		return runner.Done, err
	}
	pods, err := c.claimPods(ctx, set, selector, adopt)
	if err != nil {
		return runner.Done, err
	}
	status, err := c.control.sync(ctx, set, pods, selector)
	if err != nil {
		return runner.Done, err
	}
	if set.Spec.MinReadySeconds > 0 && status != nil && int(status.AvailableReplicas) != specReplicas(set) {
		return runner.RequeueAfter(time.Duration(set.Spec.MinReadySeconds) * time.Second), nil
	}
	return runner.Done, nil
}

// adoptionCheck confirms, once per sync, with a live read that the set still
// exists with the same UID and is not being deleted.
type adoptionCheck struct {
	client kubernetes.Interface
	set    *apps.StatefulSet
	once   sync.Once
	err    error
}

func (a *adoptionCheck) check(ctx context.Context) error {
	a.once.Do(func() {
		fresh, err := a.client.AppsV1().StatefulSets(a.set.Namespace).Get(ctx, a.set.Name, metav1.GetOptions{})
		switch {
		case err != nil:
			a.err = fmt.Errorf("recheck statefulset before adoption: %w", err)
		case fresh.UID != a.set.UID:
			a.err = fmt.Errorf("original StatefulSet %s/%s is gone: got uid %s, wanted %s", a.set.Namespace, a.set.Name, fresh.UID, a.set.UID)
		case fresh.DeletionTimestamp != nil:
			a.err = fmt.Errorf("%s/%s has just been deleted at %s", a.set.Namespace, a.set.Name, fresh.DeletionTimestamp)
		}
	})
	return a.err
}

// claimPods returns the pods the set owns, adopting matching orphans and
// releasing owned pods that no longer match (§7).
func (c *Controller) claimPods(ctx context.Context, set *apps.StatefulSet, selector labels.Selector, adopt *adoptionCheck) ([]*v1.Pod, error) {
	all, err := podsOf(c.pods, set)
	if err != nil {
		return nil, err
	}
	matches := func(pod *v1.Pod) bool {
		return !selector.Empty() && selector.Matches(labels.Set(pod.Labels)) && isMemberOf(set, pod)
	}
	var claimed []*v1.Pod
	var errs []error
	for _, pod := range all {
		ref := metav1.GetControllerOf(pod)
		if ref != nil {
			if ref.UID != set.UID {
				continue
			}
			if matches(pod) {
				claimed = append(claimed, pod)
				continue
			}
			if set.DeletionTimestamp != nil {
				continue
			}
			if err := c.releasePod(ctx, set, pod); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if set.DeletionTimestamp != nil || pod.DeletionTimestamp != nil || !matches(pod) {
			continue
		}
		if err := adopt.check(ctx); err != nil {
			errs = append(errs, fmt.Errorf("cannot adopt pod %s: %w", pod.Name, err))
			continue
		}
		adopted, err := c.adoptPod(ctx, set, pod)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if adopted != nil {
			claimed = append(claimed, adopted)
		}
	}
	return claimed, errors.Join(errs...)
}

func (c *Controller) adoptPod(ctx context.Context, set *apps.StatefulSet, pod *v1.Pod) (*v1.Pod, error) {
	patch, err := ownerRefPatch(set, pod.UID)
	if err != nil {
		return nil, err
	}
	adopted, err := c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("adopt pod %s: %w", pod.Name, err)
	}
	logging.FromContext(ctx).Info("adopted pod", "pod", pod.Name)
	return adopted, nil
}

func (c *Controller) releasePod(ctx context.Context, set *apps.StatefulSet, pod *v1.Pod) error {
	patch, err := releasePatch(set, pod.UID)
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) {
		return fmt.Errorf("release pod %s: %w", pod.Name, err)
	}
	if err == nil {
		logging.FromContext(ctx).Info("released pod", "pod", pod.Name)
	}
	return nil
}

// adoptOrphanRevisions gives orphan revisions selected by the set a
// controller reference to it.
func (c *Controller) adoptOrphanRevisions(ctx context.Context, set *apps.StatefulSet, selector labels.Selector, adopt *adoptionCheck) error {
	revs, err := c.history.list(set, selector)
	if err != nil {
		return err
	}
	var errs []error
	for _, rev := range revs {
		if metav1.GetControllerOf(rev) != nil {
			continue
		}
		if err := adopt.check(ctx); err != nil {
			return fmt.Errorf("cannot adopt revision %s: %w", rev.Name, err)
		}
		if err := c.history.adopt(ctx, set, rev); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Event handlers: they only enqueue.

func (c *Controller) enqueueSet(obj interface{}) {
	if key, ok := runner.ObjectKey(obj); ok {
		c.runner.Enqueue(key)
	}
}

func (c *Controller) deleteSet(obj interface{}) {
	if set, ok := obj.(*apps.StatefulSet); ok {
		c.writes.forget(set.UID)
		c.control.status.forget(set.UID)
	} else if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		if set, ok := tomb.Obj.(*apps.StatefulSet); ok {
			c.writes.forget(set.UID)
			c.control.status.forget(set.UID)
		}
	}
	c.enqueueSet(obj)
}

// ownerOf returns the set a controller reference points at, if it still
// exists with the same UID.
func (c *Controller) ownerOf(namespace string, ref *metav1.OwnerReference) *apps.StatefulSet {
	if ref == nil || ref.Kind != setKind.Kind {
		return nil
	}
	set, err := c.setLister.StatefulSets(namespace).Get(ref.Name)
	if err != nil || set.UID != ref.UID {
		return nil
	}
	return set
}

// setsSelecting returns the sets in the pod's namespace whose selector
// matches the pod's labels.
func (c *Controller) setsSelecting(pod *v1.Pod) []*apps.StatefulSet {
	if len(pod.Labels) == 0 {
		return nil
	}
	sets, err := c.setLister.StatefulSets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*apps.StatefulSet
	for _, set := range sets {
		sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, set)
	}
	return out
}

func (c *Controller) addPod(obj interface{}) {
	pod := obj.(*v1.Pod)
	if pod.DeletionTimestamp != nil {
		c.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if set := c.ownerOf(pod.Namespace, ref); set != nil {
			c.enqueueSet(set)
		}
		return
	}
	for _, set := range c.setsSelecting(pod) {
		c.enqueueSet(set)
	}
}

func (c *Controller) updatePod(oldObj, curObj interface{}) {
	cur, old := curObj.(*v1.Pod), oldObj.(*v1.Pod)
	if cur.ResourceVersion == old.ResourceVersion {
		return
	}
	labelsChanged := !reflect.DeepEqual(cur.Labels, old.Labels)
	curRef, oldRef := metav1.GetControllerOf(cur), metav1.GetControllerOf(old)
	refChanged := !reflect.DeepEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		if set := c.ownerOf(old.Namespace, oldRef); set != nil {
			c.enqueueSet(set)
		}
	}
	if curRef != nil {
		set := c.ownerOf(cur.Namespace, curRef)
		if set == nil {
			return
		}
		c.enqueueSet(set)
		if !isRunningAndReady(old) && isRunningAndReady(cur) && set.Spec.MinReadySeconds > 0 {
			if key, err := cache.MetaNamespaceKeyFunc(set); err == nil {
				c.runner.EnqueueAfter(key, time.Duration(set.Spec.MinReadySeconds)*time.Second+time.Second)
			}
		}
		return
	}
	if labelsChanged || refChanged {
		for _, set := range c.setsSelecting(cur) {
			c.enqueueSet(set)
		}
	}
}

func (c *Controller) deletePod(obj interface{}) {
	pod, ok := obj.(*v1.Pod)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = tomb.Obj.(*v1.Pod); !ok {
			return
		}
	}
	if set := c.ownerOf(pod.Namespace, metav1.GetControllerOf(pod)); set != nil {
		c.enqueueSet(set)
	}
}
