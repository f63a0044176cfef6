package namespace

import (
	"context"
	"errors"
	"fmt"
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

	"petset/internal/controller/runner"
	"petset/internal/logging"
)

// errNotEmpty means content is still being deleted.
var errNotEmpty = errors.New("namespace still has content")

// Controller finalizes terminating namespaces.
type Controller struct {
	client    kubernetes.Interface
	dynamic   dynamic.Interface
	resources []schema.GroupVersionResource
	lister    corelisters.NamespaceLister
	runner    *runner.Runner[string]
}

// New wires the controller. resources are the namespaced resources whose
// objects a namespace's deletion removes; workers namespaces are processed
// at once.
func New(ctx context.Context, client kubernetes.Interface, dyn dynamic.Interface, namespaces coreinformers.NamespaceInformer, resources []schema.GroupVersionResource, workers int) *Controller {
	c := &Controller{client: client, dynamic: dyn, resources: resources, lister: namespaces.Lister()}
	c.runner = runner.New(runner.Config[string]{
		Name:        "namespace",
		Workers:     workers,
		Reconcile:   c.reconcile,
		Synced:      []cache.InformerSynced{namespaces.Informer().HasSynced},
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 10*time.Second),
		LogAttrs:    func(name string) []any { return []any{"namespace", name} },
	})
	enqueue := func(obj any) {
		if ns, ok := obj.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
			c.runner.Enqueue(ns.Name)
		}
	}
	_, _ = namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	return c
}

// Run processes terminating namespaces until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Ready is closed once the cache has synced and the workers run.
func (c *Controller) Ready() <-chan struct{} { return c.runner.Ready() }

// reconcile finalizes one namespace; one whose content is still being
// deleted is looked at again after the key's back-off, without an error.
func (c *Controller) reconcile(ctx context.Context, name string) (runner.Result, error) {
	err := c.sync(ctx, name)
	if errors.Is(err, errNotEmpty) {
		return runner.Requeue, nil
	}
	return runner.Done, err
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
	logging.FromContext(ctx).Info("namespace deleted")
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
