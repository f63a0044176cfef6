package endpointslice

import (
	"context"
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"petset/internal/controller/runner"
	"petset/internal/logging"
)

// Labels and annotations written on slices and Endpoints.
const (
	ManagedBy           = "endpointslice-controller.k8s.io"
	LabelServiceName    = discovery.LabelServiceName // kubernetes.io/service-name
	LabelManagedBy      = discovery.LabelManagedBy   // endpointslice.kubernetes.io/managed-by
	LabelSkipMirror     = discovery.LabelSkipMirror  // endpointslice.kubernetes.io/skip-mirror
	LabelHeadless       = v1.IsHeadlessService       // service.kubernetes.io/headless
	AnnotationTriggered = v1.EndpointsLastChangeTriggerTime
	// MaxEndpointsPerSlice is upstream's default --max-endpoints-per-slice.
	MaxEndpointsPerSlice = 100
)

// Controller keeps EndpointSlices and Endpoints in step with Services and
// their pods. Build it with New, start it with Run.
type Controller struct {
	client    kubernetes.Interface
	services  corelisters.ServiceLister
	pods      corelisters.PodLister
	slices    discoverylisters.EndpointSliceLister
	endpoints corelisters.EndpointsLister
	runner    *runner.Runner[string]

	// pending records, per Service key, slices this controller created or
	// deleted that the slice cache does not show yet. A sync waits for the
	// cache instead of acting on a stale view (and creating duplicates).
	mu      sync.Mutex
	pending map[string]*pendingWrites
}

type pendingWrites struct {
	created map[string]bool
	deleted map[string]bool
}

// New wires the controller to its informers; workers Services are synced at
// once. The caller starts the informer factory; Run waits for the caches.
func New(ctx context.Context, client kubernetes.Interface, services coreinformers.ServiceInformer, pods coreinformers.PodInformer, slices discoveryinformers.EndpointSliceInformer, endpoints coreinformers.EndpointsInformer, workers int) *Controller {
	c := &Controller{
		client:    client,
		services:  services.Lister(),
		pods:      pods.Lister(),
		slices:    slices.Lister(),
		endpoints: endpoints.Lister(),
		pending:   map[string]*pendingWrites{},
	}
	log := logging.FromContext(ctx)
	var synced []cache.InformerSynced
	add := func(inf cache.SharedIndexInformer, h cache.ResourceEventHandler) {
		if _, err := inf.AddEventHandler(h); err != nil {
			// Only fails on a stopped informer; the caches never sync then
			// and Run reports it.
			log.Error("adding event handler", logging.ErrKey, err)
		}
		synced = append(synced, inf.HasSynced)
	}
	add(services.Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueObject,
		UpdateFunc: func(_, obj any) { c.enqueueObject(obj) },
		DeleteFunc: c.enqueueObject,
	})
	add(pods.Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.podChanged(nil, obj) },
		UpdateFunc: func(old, obj any) {
			c.podChanged(old, obj)
		},
		DeleteFunc: func(obj any) { c.podChanged(nil, obj) },
	})
	add(slices.Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc:    c.sliceChanged,
		UpdateFunc: func(_, obj any) { c.sliceChanged(obj) },
		DeleteFunc: c.sliceChanged,
	})
	add(endpoints.Informer(), cache.ResourceEventHandlerFuncs{
		// Someone else edited or deleted our Endpoints: put it back.
		UpdateFunc: func(_, obj any) { c.enqueueObject(obj) },
		DeleteFunc: c.enqueueObject,
	})
	c.runner = runner.New(runner.Config[string]{
		Name:      "endpointslice",
		Workers:   workers,
		Reconcile: c.reconcile,
		Synced:    synced,
		LogAttrs:  func(key string) []any { return []any{"service", key} },
	})
	return c
}

// Run syncs Services once the caches have synced, until ctx is cancelled. It
// returns after every worker has stopped.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Ready is closed once Run has synced its caches and started its workers.
func (c *Controller) Ready() <-chan struct{} { return c.runner.Ready() }

func (c *Controller) enqueueObject(obj any) {
	if key, ok := runner.ObjectKey(obj); ok {
		c.runner.Enqueue(key)
	}
}

func (c *Controller) sliceChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, ok := obj.(*discovery.EndpointSlice)
	if !ok || s.Labels[LabelManagedBy] != ManagedBy || s.Labels[LabelServiceName] == "" {
		return
	}
	c.runner.Enqueue(s.Namespace + "/" + s.Labels[LabelServiceName])
}

// podChanged queues every Service whose selector matches the pod, before or
// after the change.
func (c *Controller) podChanged(old, obj any) {
	pods := make([]*v1.Pod, 0, 2)
	for _, o := range []any{old, obj} {
		if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = t.Obj
		}
		if p, ok := o.(*v1.Pod); ok {
			pods = append(pods, p)
		}
	}
	if len(pods) == 0 {
		return
	}
	svcs, err := c.services.Services(pods[0].Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, svc := range svcs {
		if svc.Spec.Selector == nil {
			continue
		}
		sel := labels.Set(svc.Spec.Selector).AsSelectorPreValidated()
		for _, p := range pods {
			if sel.Matches(labels.Set(p.Labels)) {
				c.runner.Enqueue(svc.Namespace + "/" + svc.Name)
				break
			}
		}
	}
}

// reconcile brings one Service's Endpoints and EndpointSlices in line with its
// pods.
func (c *Controller) reconcile(ctx context.Context, key string) (runner.Result, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return runner.Done, runner.Terminal(fmt.Errorf("invalid key: %w", err))
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return runner.Done, c.serviceGone(ctx, ns, name)
	}
	if err != nil {
		return runner.Done, fmt.Errorf("get service: %w", err)
	}
	if c.sliceCacheStale(key) {
		// The slice informer has not caught up with our own writes; its
		// events queue this Service again.
		logging.FromContext(ctx).Debug("slice cache behind own writes; waiting")
		return runner.Done, nil
	}
	if svc.Spec.Selector == nil || svc.Spec.Type == v1.ServiceTypeExternalName {
		// Not ours: the user manages these Endpoints and slices.
		return runner.Done, nil
	}
	pods, err := c.pods.Pods(ns).List(labels.Set(svc.Spec.Selector).AsSelectorPreValidated())
	if err != nil {
		return runner.Done, fmt.Errorf("list pods: %w", err)
	}
	trigger := lastChange(svc, pods)
	errEndpoints := c.syncEndpoints(ctx, svc, pods, trigger)
	errSlices := c.syncSlices(ctx, svc, pods, trigger)
	if errEndpoints != nil {
		return runner.Done, errEndpoints
	}
	return runner.Done, errSlices
}

// serviceGone deletes the Endpoints and the managed slices of a deleted
// Service. (The slices carry an ownerReference, so the garbage collector
// would remove them too.)
func (c *Controller) serviceGone(ctx context.Context, ns, name string) error {
	c.mu.Lock()
	delete(c.pending, ns+"/"+name)
	c.mu.Unlock()
	if _, err := c.endpoints.Endpoints(ns).Get(name); err == nil {
		err := c.client.CoreV1().Endpoints(ns).Delete(ctx, name, deleteOptions())
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete endpoints: %w", err)
		}
	}
	slices, err := c.managedSlices(ns, name)
	if err != nil {
		return err
	}
	for _, s := range slices {
		err := c.client.DiscoveryV1().EndpointSlices(ns).Delete(ctx, s.Name, deleteOptions())
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete endpointslice %s: %w", s.Name, err)
		}
	}
	return nil
}

// sliceCacheStale reports whether the slice cache still misses a slice we
// created or still holds one we deleted, forgetting writes it has caught up
// with.
func (c *Controller) sliceCacheStale(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	pw := c.pending[key]
	if pw == nil {
		return false
	}
	ns, _, _ := cache.SplitMetaNamespaceKey(key)
	for name := range pw.created {
		if _, err := c.slices.EndpointSlices(ns).Get(name); err == nil {
			delete(pw.created, name)
		}
	}
	for name := range pw.deleted {
		if _, err := c.slices.EndpointSlices(ns).Get(name); apierrors.IsNotFound(err) {
			delete(pw.deleted, name)
		}
	}
	if len(pw.created) == 0 && len(pw.deleted) == 0 {
		delete(c.pending, key)
		return false
	}
	return true
}

// wrote records a slice create (created=true) or delete for the staleness
// check.
func (c *Controller) wrote(svcKey, slice string, created bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pw := c.pending[svcKey]
	if pw == nil {
		pw = &pendingWrites{created: map[string]bool{}, deleted: map[string]bool{}}
		c.pending[svcKey] = pw
	}
	if created {
		pw.created[slice] = true
	} else {
		pw.deleted[slice] = true
	}
}

func (c *Controller) managedSlices(ns, service string) ([]*discovery.EndpointSlice, error) {
	sel := labels.SelectorFromSet(labels.Set{LabelServiceName: service, LabelManagedBy: ManagedBy})
	slices, err := c.slices.EndpointSlices(ns).List(sel)
	if err != nil {
		return nil, fmt.Errorf("list endpointslices: %w", err)
	}
	return slices, nil
}

// lastChange is the trigger time published in
// endpoints.kubernetes.io/last-change-trigger-time: the latest change seen on
// the Service or its pods (creation, deletion, condition transitions).
func lastChange(svc *v1.Service, pods []*v1.Pod) time.Time {
	t := svc.CreationTimestamp.Time
	later := func(u time.Time) {
		if u.After(t) {
			t = u
		}
	}
	for _, p := range pods {
		later(p.CreationTimestamp.Time)
		if p.DeletionTimestamp != nil {
			later(p.DeletionTimestamp.Time.Add(-time.Duration(ptrOr(p.DeletionGracePeriodSeconds, 0)) * time.Second))
		}
		for _, cond := range p.Status.Conditions {
			later(cond.LastTransitionTime.Time)
		}
	}
	return t
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
