package volume

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	storagehelpers "k8s.io/component-helpers/storage/volume"
	"petset/internal/logging"

	"petset/internal/controller/runner"
)

// Controller binds, provisions and reclaims persistent volumes.
type Controller struct {
	client   kubernetes.Interface
	recorder record.EventRecorder

	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	// byClaim indexes volumes by the namespace/name of their claimRef.
	byClaim cache.Indexer
	classes storagelisters.StorageClassLister
	nodes   corelisters.NodeLister
	pods    corelisters.PodLister

	// claimRunner syncs claims (namespace/name), volumeRunner volumes
	// (name): upstream's claim and volume queues, each with its own workers.
	claimRunner  *runner.Runner[string]
	volumeRunner *runner.Runner[string]

	// writtenClaims and writtenVolumes hold what the controller wrote
	// until the informers show it; syncs read the newer of the two.
	writtenClaims  *written[*v1.PersistentVolumeClaim]
	writtenVolumes *written[*v1.PersistentVolume]

	// shared is the shared volume root this server provisions under and
	// reclaims from (ServeSharedRoot); zero without one.
	shared sharedRoot
}

// sharedRoot is a shared volume directory and its ID.
type sharedRoot struct{ dir, id string }

// ServeSharedRoot makes the controller provision petset.io/shared volumes
// under dir (whose ID is id, from sharedvolume.Ensure) and remove their
// data once deleted. Call it before Run.
func (c *Controller) ServeSharedRoot(dir, id string) { c.shared = sharedRoot{dir: dir, id: id} }

// Workers is how many claims and how many volumes the control plane syncs
// at once. Upstream's in-tree binder has one worker per queue; its external
// provisioners (csi-provisioner --worker-threads, default 100) provision
// many claims at once. Here one controller does both, and a claim's sync is
// several API round trips (volume create, claim and volume updates), so one
// worker provisions a set of 100 claims one after the other. Concurrent
// syncs of different claims are safe: a volume's binding is written with
// its resourceVersion (a lost race is a conflict, retried), and a
// provisioned volume's name comes from its claim's UID.
const Workers = 8

// New wires the controller to the informers of factory. It registers event
// handlers only; nothing runs until Run, and the factory is started by the
// caller. workers claims and workers volumes are synced at once.
func New(ctx context.Context, client kubernetes.Interface, factory informers.SharedInformerFactory, recorder record.EventRecorder, workers int) *Controller {
	c := &Controller{client: client, recorder: recorder,
		writtenClaims: newWritten[*v1.PersistentVolumeClaim](), writtenVolumes: newWritten[*v1.PersistentVolume]()}
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
	if err := EnsureClaimRefIndex(volumeInf.Informer()); err != nil {
		log.Error("volume controller: adding the claimRef index", logging.ErrKey, err)
	}
	c.byClaim = volumeInf.Informer().GetIndexer()
	var synced []cache.InformerSynced
	add := func(reg cache.ResourceEventHandlerRegistration, err error) {
		if err != nil {
			log.Error("volume controller: registering event handler", logging.ErrKey, err)
			return
		}
		synced = append(synced, reg.HasSynced)
	}
	add(claimInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.claimChanged,
		UpdateFunc: func(_, obj any) { c.claimChanged(obj) },
		DeleteFunc: c.claimDeleted,
	}))
	add(volumeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.volumeChanged,
		UpdateFunc: func(_, obj any) { c.volumeChanged(obj) },
		DeleteFunc: c.volumeDeleted,
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
	// Handlers run only once the factory is started, after the runners exist.
	c.claimRunner = runner.New(runner.Config[string]{
		Name:    "persistentvolume",
		Workers: workers,
		Reconcile: func(ctx context.Context, key string) (runner.Result, error) {
			return runner.Done, c.syncClaim(ctx, key)
		},
		Synced:   synced,
		LogAttrs: func(key string) []any { return []any{"claim", key} },
	})
	c.volumeRunner = runner.New(runner.Config[string]{
		Name:    "persistentvolume",
		Workers: workers,
		Reconcile: func(ctx context.Context, name string) (runner.Result, error) {
			return runner.Done, c.syncVolume(ctx, name)
		},
		Synced:   synced,
		LogAttrs: func(name string) []any { return []any{"volume", name} },
	})
	return c
}

// Ready is closed once Run has synced its caches and both the claim and the
// volume workers run.
func (c *Controller) Ready() <-chan struct{} { return c.volumeRunner.Ready() }

// Run waits for the caches and syncs claims and volumes until ctx is done;
// it returns after every worker has stopped. The volume runner starts once
// the claim runner works, so that Ready means both do.
func (c *Controller) Run(ctx context.Context) error {
	claimsDone := make(chan error, 1)
	go func() { claimsDone <- c.claimRunner.Run(ctx) }()
	select {
	case <-c.claimRunner.Ready():
	case <-ctx.Done():
	}
	err := c.volumeRunner.Run(ctx)
	return errors.Join(<-claimsDone, err)
}

// claimRefIndex indexes volumes by the claim their spec.claimRef names
// (namespace/name), and volumes without a claimRef under unclaimedKey.
const claimRefIndex = "claimRef"

// unclaimedKey is the claimRefIndex key of volumes without a claimRef; a
// claim's key always holds a "/".
const unclaimedKey = ""

// EnsureClaimRefIndex adds the claimRef index to a PersistentVolume
// informer unless it has it (the volume controller and the scheduler share
// one informer). Candidates reads it.
func EnsureClaimRefIndex(inf cache.SharedIndexInformer) error {
	if _, ok := inf.GetIndexer().GetIndexers()[claimRefIndex]; ok {
		return nil
	}
	if err := inf.AddIndexers(cache.Indexers{claimRefIndex: indexByClaimRef}); err != nil {
		return fmt.Errorf("volume claimRef index: %w", err)
	}
	return nil
}

func indexByClaimRef(obj any) ([]string, error) {
	vol, ok := obj.(*v1.PersistentVolume)
	if !ok {
		return nil, nil
	}
	if vol.Spec.ClaimRef == nil {
		return []string{unclaimedKey}, nil
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
	if claim, ok := obj.(*v1.PersistentVolumeClaim); ok {
		c.writtenClaims.seen(claim, false)
	}
	c.claimRunner.Enqueue(key)
	c.enqueueVolumesOf(key)
}

func (c *Controller) enqueueVolumesOf(claimKey string) {
	vols, err := c.byClaim.ByIndex(claimRefIndex, claimKey)
	if err != nil {
		return
	}
	for _, v := range vols {
		if vol, ok := v.(*v1.PersistentVolume); ok {
			c.volumeRunner.Enqueue(vol.Name)
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
	c.writtenClaims.seen(claim, true)
	if claim.Spec.VolumeName != "" {
		c.volumeRunner.Enqueue(claim.Spec.VolumeName)
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

func (c *Controller) volumeChanged(obj any) { c.volumeEvent(obj, false) }

func (c *Controller) volumeDeleted(obj any) { c.volumeEvent(obj, true) }

func (c *Controller) volumeEvent(obj any, deleted bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	vol, ok := obj.(*v1.PersistentVolume)
	if !ok {
		return
	}
	c.writtenVolumes.seen(vol, deleted)
	c.volumeRunner.Enqueue(vol.Name)
	if ref := vol.Spec.ClaimRef; ref != nil {
		c.claimRunner.Enqueue(ref.Namespace + "/" + ref.Name)
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
			c.claimRunner.Enqueue(claim.Namespace + "/" + claim.Name)
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
