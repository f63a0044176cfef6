package storageprotection

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"petset/internal/logging"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// podClaimIndex indexes pods by "<namespace>/<claim name>" of every claim
// they name.
const podClaimIndex = "petset.io/pod-claims"

// PVCController removes PVCFinalizer from claims being deleted that no pod
// uses, and adds it to claims that lack it.
type PVCController struct {
	client kubernetes.Interface
	claims corelisters.PersistentVolumeClaimLister
	pods   cache.Indexer
	synced []cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string]
	ready  chan struct{}
}

// NewPVC wires the pvc-protection controller to its informers (the caller
// starts them). It adds an index to the pod informer, so it must be called
// before that informer starts.
func NewPVC(client kubernetes.Interface, claims coreinformers.PersistentVolumeClaimInformer, pods coreinformers.PodInformer) (*PVCController, error) {
	c := &PVCController{
		client: client,
		claims: claims.Lister(),
		pods:   pods.Informer().GetIndexer(),
		synced: []cache.InformerSynced{claims.Informer().HasSynced, pods.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "pvcprotection"}),
		ready: make(chan struct{}),
	}
	if _, ok := c.pods.GetIndexers()[podClaimIndex]; !ok {
		err := pods.Informer().AddIndexers(cache.Indexers{podClaimIndex: func(obj any) ([]string, error) {
			pod, ok := obj.(*v1.Pod)
			if !ok {
				return nil, nil
			}
			var keys []string
			for _, name := range claimNames(pod) {
				keys = append(keys, pod.Namespace+"/"+name)
			}
			return keys, nil
		}})
		if err != nil {
			return nil, fmt.Errorf("pvc-protection: pod index: %w", err)
		}
	}
	if _, err := claims.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.claimChanged,
		UpdateFunc: func(_, obj any) { c.claimChanged(obj) },
	}); err != nil {
		return nil, fmt.Errorf("pvc-protection: claim handler: %w", err)
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: c.podUpdated,
		DeleteFunc: func(obj any) {
			if pod := podOf(obj); pod != nil {
				c.enqueueClaims(pod)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("pvc-protection: pod handler: %w", err)
	}
	return c, nil
}

// Ready is closed once Run has synced its caches and started its workers.
func (c *PVCController) Ready() <-chan struct{} { return c.ready }

func (c *PVCController) claimChanged(obj any) {
	claim, ok := obj.(*v1.PersistentVolumeClaim)
	if !ok {
		return
	}
	if needToAddFinalizer(claim, PVCFinalizer) || isDeletionCandidate(claim, PVCFinalizer) {
		c.queue.Add(claim.Namespace + "/" + claim.Name)
	}
}

// podUpdated enqueues the claims of a pod that stopped counting as their
// user: shut down (its ephemeral claims), or replaced by a pod of the same
// name (the update hides the old pod's deletion).
func (c *PVCController) podUpdated(old, obj any) {
	pod, oldPod := podOf(obj), podOf(old)
	if pod == nil {
		return
	}
	if podIsShutDown(pod) {
		c.enqueueClaims(pod)
	}
	if oldPod != nil && oldPod.UID != pod.UID {
		c.enqueueClaims(oldPod)
	}
}

func (c *PVCController) enqueueClaims(pod *v1.Pod) {
	for _, name := range claimNames(pod) {
		c.queue.Add(pod.Namespace + "/" + name)
	}
}

func podOf(obj any) *v1.Pod {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, _ := obj.(*v1.Pod)
	return pod
}

// Run waits for the caches, then runs workers until ctx ends.
func (c *PVCController) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	log := logging.FromContext(ctx).With("controller", "pvc-protection")
	ctx = logging.IntoContext(ctx, log)
	defer c.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	log.Info("pvc-protection controller started", "workers", workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c.next(ctx) {
			}
		})
	}
	close(c.ready)
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
}

func (c *PVCController) next(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.sync(ctx, key); err != nil {
		logging.FromContext(ctx).Info("claim protection not done, retrying", "claim", key, "err", err)
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

// sync removes the finalizer of the claim key if it is being deleted and
// unused, or adds it if it is missing.
func (c *PVCController) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not a key of ours: nothing to retry
	}
	claim, err := c.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	log := logging.FromContext(ctx).With("claim", key)
	switch {
	case isDeletionCandidate(claim, PVCFinalizer):
		user, err := c.user(ctx, claim)
		if err != nil {
			return err
		}
		if user != "" {
			log.Debug("keeping claim: a pod uses it", "pod", user)
			return nil
		}
		if err := c.update(ctx, claim, func(f []string) []string {
			return slices.DeleteFunc(f, func(s string) bool { return s == PVCFinalizer })
		}); err != nil {
			return fmt.Errorf("removing %s: %w", PVCFinalizer, err)
		}
		log.Info("claim unused: protection finalizer removed")
	case needToAddFinalizer(claim, PVCFinalizer):
		if err := c.update(ctx, claim, func(f []string) []string { return append(f, PVCFinalizer) }); err != nil {
			return fmt.Errorf("adding %s: %w", PVCFinalizer, err)
		}
		log.Debug("protection finalizer added")
	}
	return nil
}

// user names a pod that uses claim, or "" if none does. The informer
// cache is asked first; it may not have seen a new pod yet, so an unused
// verdict is only given after a live list of the namespace's pods.
func (c *PVCController) user(ctx context.Context, claim *v1.PersistentVolumeClaim) (string, error) {
	objs, err := c.pods.ByIndex(podClaimIndex, claim.Namespace+"/"+claim.Name)
	if err != nil {
		return "", fmt.Errorf("pods of claim from cache: %w", err)
	}
	for _, obj := range objs {
		if pod, ok := obj.(*v1.Pod); ok && PodUsesClaim(pod, claim) {
			return pod.Name, nil
		}
	}
	pods, err := c.client.CoreV1().Pods(claim.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("live list of pods in %s: %w", claim.Namespace, err)
	}
	for i := range pods.Items {
		if PodUsesClaim(&pods.Items[i], claim) {
			return pods.Items[i].Name, nil
		}
	}
	return "", nil
}

func (c *PVCController) update(ctx context.Context, claim *v1.PersistentVolumeClaim, finalizers func([]string) []string) error {
	upd := claim.DeepCopy()
	upd.Finalizers = finalizers(upd.Finalizers)
	_, err := c.client.CoreV1().PersistentVolumeClaims(upd.Namespace).Update(ctx, upd, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func isDeletionCandidate(obj metav1.Object, finalizer string) bool {
	return obj.GetDeletionTimestamp() != nil && slices.Contains(obj.GetFinalizers(), finalizer)
}

func needToAddFinalizer(obj metav1.Object, finalizer string) bool {
	return obj.GetDeletionTimestamp() == nil && !slices.Contains(obj.GetFinalizers(), finalizer)
}
