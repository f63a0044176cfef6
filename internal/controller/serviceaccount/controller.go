package serviceaccount

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"petset/internal/controller/runner"
)

// DefaultName is the ServiceAccount every namespace has.
const DefaultName = "default"

// Controller creates the default ServiceAccount of each namespace.
type Controller struct {
	client     kubernetes.Interface
	namespaces corelisters.NamespaceLister
	accounts   corelisters.ServiceAccountLister
	runner     *runner.Runner[string]
}

// New wires the controller; workers namespaces are synced at once.
func New(ctx context.Context, client kubernetes.Interface, namespaces coreinformers.NamespaceInformer, accounts coreinformers.ServiceAccountInformer, workers int) *Controller {
	c := &Controller{client: client, namespaces: namespaces.Lister(), accounts: accounts.Lister()}
	c.runner = runner.New(runner.Config[string]{
		Name:        "serviceaccount",
		Workers:     workers,
		Reconcile:   c.reconcile,
		Synced:      []cache.InformerSynced{namespaces.Informer().HasSynced, accounts.Informer().HasSynced},
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 30*time.Second),
		LogAttrs:    func(ns string) []any { return []any{"namespace", ns} },
	})
	_, _ = namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueueNamespace(obj) },
		UpdateFunc: func(_, obj any) { c.enqueueNamespace(obj) },
	})
	_, _ = accounts.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if sa, ok := obj.(*corev1.ServiceAccount); ok && sa.Name == DefaultName {
				c.runner.Enqueue(sa.Namespace)
			}
		},
	})
	return c
}

func (c *Controller) enqueueNamespace(obj any) {
	if ns, ok := obj.(*corev1.Namespace); ok {
		c.runner.Enqueue(ns.Name)
	}
}

// Run syncs namespaces until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Ready is closed once the caches have synced and the workers run.
func (c *Controller) Ready() <-chan struct{} { return c.runner.Ready() }

func (c *Controller) reconcile(ctx context.Context, name string) (runner.Result, error) {
	return runner.Done, c.sync(ctx, name)
}

// sync creates the default ServiceAccount of an active namespace.
func (c *Controller) sync(ctx context.Context, name string) error {
	ns, err := c.namespaces.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	if _, err := c.accounts.ServiceAccounts(name).Get(DefaultName); err == nil {
		return nil
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	_, err = c.client.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultName}}, metav1.CreateOptions{})
	switch {
	case err == nil, apierrors.IsAlreadyExists(err), apierrors.IsNotFound(err):
		return nil
	case apierrors.IsForbidden(err) && isTerminating(err):
		return nil
	}
	return fmt.Errorf("create: %w", err)
}

// isTerminating reports NamespaceLifecycle's refusal in a namespace being
// deleted, which needs no retry.
func isTerminating(err error) bool {
	return apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) || strings.Contains(err.Error(), "because it is being terminated")
}
