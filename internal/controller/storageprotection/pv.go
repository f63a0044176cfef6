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

// PVController removes PVFinalizer from volumes being deleted that are not
// Bound, and adds it to volumes that lack it.
type PVController struct {
	client  kubernetes.Interface
	volumes corelisters.PersistentVolumeLister
	synced  []cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[string]
	ready   chan struct{}
}

// NewPV wires the pv-protection controller to its informer (the caller
// starts it).
func NewPV(client kubernetes.Interface, volumes coreinformers.PersistentVolumeInformer) (*PVController, error) {
	c := &PVController{
		client:  client,
		volumes: volumes.Lister(),
		synced:  []cache.InformerSynced{volumes.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "pvprotection"}),
		ready: make(chan struct{}),
	}
	changed := func(obj any) {
		pv, ok := obj.(*v1.PersistentVolume)
		if ok && (needToAddFinalizer(pv, PVFinalizer) || isDeletionCandidate(pv, PVFinalizer)) {
			c.queue.Add(pv.Name)
		}
	}
	if _, err := volumes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
	}); err != nil {
		return nil, fmt.Errorf("pv-protection: volume handler: %w", err)
	}
	return c, nil
}

// Ready is closed once Run has synced its cache and started its workers.
func (c *PVController) Ready() <-chan struct{} { return c.ready }

// Run waits for the cache, then runs workers until ctx ends.
func (c *PVController) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	log := logging.FromContext(ctx).With("controller", "pv-protection")
	ctx = logging.IntoContext(ctx, log)
	defer c.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	log.Info("pv-protection controller started", "workers", workers)
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

func (c *PVController) next(ctx context.Context) bool {
	name, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(name)
	if err := c.sync(ctx, name); err != nil {
		logging.FromContext(ctx).Info("volume protection not done, retrying", "volume", name, "err", err)
		c.queue.AddRateLimited(name)
		return true
	}
	c.queue.Forget(name)
	return true
}

// sync removes the finalizer of volume name if it is being deleted and not
// Bound, or adds it if it is missing.
func (c *PVController) sync(ctx context.Context, name string) error {
	pv, err := c.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	log := logging.FromContext(ctx).With("volume", name)
	switch {
	case isDeletionCandidate(pv, PVFinalizer):
		if pv.Status.Phase == v1.VolumeBound {
			log.Debug("keeping volume: it is bound", "claim", claimOf(pv))
			return nil
		}
		if err := c.update(ctx, pv, func(f []string) []string {
			return slices.DeleteFunc(f, func(s string) bool { return s == PVFinalizer })
		}); err != nil {
			return fmt.Errorf("removing %s: %w", PVFinalizer, err)
		}
		log.Info("volume not bound: protection finalizer removed")
	case needToAddFinalizer(pv, PVFinalizer):
		if err := c.update(ctx, pv, func(f []string) []string { return append(f, PVFinalizer) }); err != nil {
			return fmt.Errorf("adding %s: %w", PVFinalizer, err)
		}
		log.Debug("protection finalizer added")
	}
	return nil
}

func (c *PVController) update(ctx context.Context, pv *v1.PersistentVolume, finalizers func([]string) []string) error {
	upd := pv.DeepCopy()
	upd.Finalizers = finalizers(upd.Finalizers)
	_, err := c.client.CoreV1().PersistentVolumes().Update(ctx, upd, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func claimOf(pv *v1.PersistentVolume) string {
	if pv.Spec.ClaimRef == nil {
		return ""
	}
	return pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name
}
