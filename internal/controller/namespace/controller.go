package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// errNotEmpty means content is still being deleted.
var errNotEmpty = errors.New("namespace still has content")

// Controller finalizes terminating namespaces.
type Controller struct {
	client    kubernetes.Interface
	dynamic   dynamic.Interface
	resources []schema.GroupVersionResource
	lister    corelisters.NamespaceLister
	synced    cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	log       *slog.Logger
}

// New wires the controller. resources are the namespaced resources whose
// objects a namespace's deletion removes.
func New(ctx context.Context, client kubernetes.Interface, dyn dynamic.Interface, namespaces coreinformers.NamespaceInformer, resources []schema.GroupVersionResource) *Controller {
	c := &Controller{
		client: client, dynamic: dyn, resources: resources,
		lister: namespaces.Lister(), synced: namespaces.Informer().HasSynced,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 10*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "namespace"}),
		log: slog.Default().With("controller", "namespace"),
	}
	enqueue := func(obj any) {
		if ns, ok := obj.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
			c.queue.Add(ns.Name)
		}
	}
	_, _ = namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	return c
}

// Run processes terminating namespaces until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer c.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	c.log.Info("namespace controller started", "workers", workers)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.next(ctx) {
			}
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
}

func (c *Controller) next(ctx context.Context) bool {
	name, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(name)
	err := c.sync(ctx, name)
	switch {
	case err == nil:
		c.queue.Forget(name)
	case errors.Is(err, errNotEmpty):
		c.queue.AddRateLimited(name)
	default:
		c.log.Error("finalizing namespace", "namespace", name, "err", err)
		c.queue.AddRateLimited(name)
	}
	return true
}

// sync deletes the namespace's content and, once it is gone, finalizes
// and deletes the namespace.
func (c *Controller) sync(ctx context.Context, name string) error {
	ns, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp == nil {
		return nil
	}
	if hasFinalizer(ns) {
		remaining := 0
		background := metav1.DeletePropagationBackground
		for _, gvr := range c.resources {
			res := c.dynamic.Resource(gvr).Namespace(name)
			err := res.DeleteCollection(ctx, metav1.DeleteOptions{PropagationPolicy: &background}, metav1.ListOptions{})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
				return fmt.Errorf("delete %s in %s: %w", gvr.Resource, name, err)
			}
			l, err := res.List(ctx, metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("list %s in %s: %w", gvr.Resource, name, err)
			}
			remaining += len(l.Items)
		}
		if remaining > 0 {
			return fmt.Errorf("%w: %d objects left in %s", errNotEmpty, remaining, name)
		}
		cp := ns.DeepCopy()
		var keep []corev1.FinalizerName
		for _, f := range cp.Spec.Finalizers {
			if f != corev1.FinalizerKubernetes {
				keep = append(keep, f)
			}
		}
		cp.Spec.Finalizers = keep
		if _, err := c.client.CoreV1().Namespaces().Finalize(ctx, cp, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("finalize %s: %w", name, err)
		}
		if len(keep) > 0 {
			return nil // another finalizer's owner finishes the job
		}
	}
	err = c.client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &ns.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	c.log.Info("namespace deleted", "namespace", name)
	return nil
}

func hasFinalizer(ns *corev1.Namespace) bool {
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return true
		}
	}
	return false
}
