package volume

import (
	"context"
	"fmt"
	"sync"
	"time"

	"petset/internal/logging"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	storagehelpers "k8s.io/component-helpers/storage/volume"
)

// Controller binds, provisions and reclaims persistent volumes.
type Controller struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
	factory  informers.SharedInformerFactory

	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	// byClaim indexes volumes by the namespace/name of their claimRef.
	byClaim cache.Indexer
	classes storagelisters.StorageClassLister
	nodes   corelisters.NodeLister
	pods    corelisters.PodLister
	synced  []cache.InformerSynced
	ready   chan struct{}

	claimQueue  workqueue.TypedRateLimitingInterface[string]
	volumeQueue workqueue.TypedRateLimitingInterface[string]
}

// New wires the controller to the informers of factory. It registers event
// handlers only; nothing runs until Run.
func New(ctx context.Context, client kubernetes.Interface, factory informers.SharedInformerFactory, recorder record.EventRecorder) *Controller {
	c := &Controller{
		client:   client,
		recorder: recorder,
		factory:  factory,
		ready:    make(chan struct{}),
		claimQueue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "volume-claims"}),
		volumeQueue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "volume-volumes"}),
	}
	claimInf := factory.Core().V1().PersistentVolumeClaims()
	volumeInf := factory.Core().V1().PersistentVolumes()
	classInf := factory.Storage().V1().StorageClasses()
	nodeInf := factory.Core().V1().Nodes()
	podInf := factory.Core().V1().Pods()
	c.claims = claimInf.Lister()
	c.volumes = volumeInf.Lister()
	c.classes = classInf.Lister()
	c.nodes = nodeInf.Lister()
	c.pods = podInf.Lister()

	log := logging.FromContext(ctx)
	if err := volumeInf.Informer().AddIndexers(cache.Indexers{claimRefIndex: indexByClaimRef}); err != nil {
		log.Error("volume controller: adding the claimRef index", "err", err)
	}
	c.byClaim = volumeInf.Informer().GetIndexer()
	add := func(reg cache.ResourceEventHandlerRegistration, err error) {
		if err != nil {
			log.Error("volume controller: registering event handler", "err", err)
			return
		}
		c.synced = append(c.synced, reg.HasSynced)
	}
	add(claimInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.claimChanged,
		UpdateFunc: func(_, obj any) { c.claimChanged(obj) },
		DeleteFunc: c.claimDeleted,
	}))
	add(volumeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.volumeChanged,
		UpdateFunc: func(_, obj any) { c.volumeChanged(obj) },
		DeleteFunc: c.volumeChanged,
	}))
	add(classInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.enqueueUnboundClaims(func(*v1.PersistentVolumeClaim) bool { return true }) },
		UpdateFunc: func(_, _ any) { c.enqueueUnboundClaims(func(*v1.PersistentVolumeClaim) bool { return true }) },
	}))
	add(podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.recyclerPodChanged,
		UpdateFunc: func(_, obj any) { c.recyclerPodChanged(obj) },
		DeleteFunc: c.recyclerPodChanged,
	}))
	add(nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.nodeChanged,
		UpdateFunc: func(old, obj any) {
			o, ok1 := old.(*v1.Node)
			n, ok2 := obj.(*v1.Node)
			if ok1 && ok2 && o.Annotations[VolumeDirAnnotation] == n.Annotations[VolumeDirAnnotation] &&
				nodeReady(o) == nodeReady(n) {
				return
			}
			c.nodeChanged(obj)
		},
	}))
	return c
}

// Ready is closed once Run has synced its caches and started working.
func (c *Controller) Ready() <-chan struct{} { return c.ready }

// Run starts the informers of the factory given to New, waits for their caches
// and processes claims and volumes until ctx is done. It returns after its
// workers have stopped.
func (c *Controller) Run(ctx context.Context) {
	log := logging.FromContext(ctx).With("controller", "persistentvolume")
	defer c.claimQueue.ShutDown()
	defer c.volumeQueue.ShutDown()
	c.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	close(c.ready)
	log.Info("volume controller started")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for c.process(ctx, c.claimQueue, c.syncClaim) {
		}
	}()
	go func() {
		defer wg.Done()
		for c.process(ctx, c.volumeQueue, c.syncVolume) {
		}
	}()
	<-ctx.Done()
	c.claimQueue.ShutDown()
	c.volumeQueue.ShutDown()
	wg.Wait()
	log.Info("volume controller stopped")
}

func (c *Controller) process(ctx context.Context, q workqueue.TypedRateLimitingInterface[string], sync func(context.Context, string) error) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	if err := sync(ctx, key); err != nil {
		if ctx.Err() == nil {
			logging.FromContext(ctx).Info("volume controller: sync failed, retrying", "key", key, "err", err)
		}
		q.AddRateLimited(key)
		return true
	}
	q.Forget(key)
	return true
}

// claimRefIndex indexes volumes by the claim their spec.claimRef names.
const claimRefIndex = "claimRef"

func indexByClaimRef(obj any) ([]string, error) {
	vol, ok := obj.(*v1.PersistentVolume)
	if !ok || vol.Spec.ClaimRef == nil {
		return nil, nil
	}
	return []string{vol.Spec.ClaimRef.Namespace + "/" + vol.Spec.ClaimRef.Name}, nil
}

// claimChanged queues the claim and every volume whose claimRef names it:
// a volume pre-bound to a claim that got bound elsewhere (or was bound,
// or lost) is re-examined at once, never left half-bound until some other
// event comes by.
func (c *Controller) claimChanged(obj any) {
	key, err := cache.MetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	c.claimQueue.Add(key)
	c.enqueueVolumesOf(key)
}

func (c *Controller) enqueueVolumesOf(claimKey string) {
	vols, err := c.byClaim.ByIndex(claimRefIndex, claimKey)
	if err != nil {
		return
	}
	for _, v := range vols {
		if vol, ok := v.(*v1.PersistentVolume); ok {
			c.volumeQueue.Add(vol.Name)
		}
	}
}

func (c *Controller) claimDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	claim, ok := obj.(*v1.PersistentVolumeClaim)
	if !ok {
		return
	}
	if claim.Spec.VolumeName != "" {
		c.volumeQueue.Add(claim.Spec.VolumeName)
	}
	// Volumes that point at the claim (pre-bound or provisioned) must notice.
	c.enqueueVolumesOf(claim.Namespace + "/" + claim.Name)
}

func podOf(obj any) (*v1.Pod, bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*v1.Pod)
	return pod, ok
}

func (c *Controller) volumeChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	vol, ok := obj.(*v1.PersistentVolume)
	if !ok {
		return
	}
	c.volumeQueue.Add(vol.Name)
	if ref := vol.Spec.ClaimRef; ref != nil {
		c.claimQueue.Add(ref.Namespace + "/" + ref.Name)
	}
	// A new or freed volume may satisfy a pending claim.
	if vol.Spec.ClaimRef == nil || vol.Status.Phase == v1.VolumeAvailable {
		c.enqueueUnboundClaims(func(*v1.PersistentVolumeClaim) bool { return true })
	}
}

func (c *Controller) nodeChanged(obj any) {
	node, ok := obj.(*v1.Node)
	if !ok {
		return
	}
	c.enqueueUnboundClaims(func(claim *v1.PersistentVolumeClaim) bool {
		sel, has := claim.Annotations[storagehelpers.AnnSelectedNode]
		return !has || sel == node.Name
	})
}

func (c *Controller) enqueueUnboundClaims(match func(*v1.PersistentVolumeClaim) bool) {
	claims, err := c.claims.List(labels.Everything())
	if err != nil {
		return
	}
	for _, claim := range claims {
		if claim.Status.Phase != v1.ClaimBound && match(claim) {
			c.claimQueue.Add(claim.Namespace + "/" + claim.Name)
		}
	}
}

// defaultClass returns the default StorageClass, or nil.
func (c *Controller) defaultClass() (*storagev1.StorageClass, error) {
	classes, err := c.classes.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing storage classes: %w", err)
	}
	return DefaultClassOf(classes), nil
}

// DefaultClassOf returns the class a claim without spec.storageClassName
// gets: of the classes annotated as default, the newest (ties by name), as
// upstream's DefaultStorageClass admission chooses. Nil when none is default.
func DefaultClassOf(classes []*storagev1.StorageClass) *storagev1.StorageClass {
	var best *storagev1.StorageClass
	for _, sc := range classes {
		if !isDefaultClass(sc) {
			continue
		}
		if best == nil || sc.CreationTimestamp.After(best.CreationTimestamp.Time) ||
			(sc.CreationTimestamp.Equal(&best.CreationTimestamp) && sc.Name < best.Name) {
			best = sc
		}
	}
	return best
}

func isDefaultClass(sc *storagev1.StorageClass) bool {
	return sc.Annotations[IsDefaultClassAnnotation] == "true" || sc.Annotations[betaIsDefaultClassAnnotation] == "true"
}

func nodeReady(n *v1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == v1.NodeReady {
			return cond.Status == v1.ConditionTrue
		}
	}
	return false
}

// now is the clock for condition and status timestamps.
var now = time.Now
