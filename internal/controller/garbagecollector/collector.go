package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"petset/internal/controller/runner"
	"petset/internal/logging"
)

// Finalizers the API server sets for the Orphan and Foreground propagation
// policies.
const (
	FinalizerOrphan             = metav1.FinalizerOrphanDependents
	FinalizerForegroundDeletion = metav1.FinalizerDeleteDependents
)

// Resource is one kind of object the collector watches: its resource path, the
// Kind that ownerReferences use for it, and whether it lives in namespaces.
type Resource struct {
	GVR        schema.GroupVersionResource
	Kind       string
	Namespaced bool
}

// objectID names one object: the index of its Resource, its namespace and
// name, and its UID.
type objectID struct {
	res       int
	namespace string
	name      string
	uid       types.UID
}

// node is what the graph knows about one object from the informer caches.
type node struct {
	id         objectID
	owners     []metav1.OwnerReference
	deleting   bool
	finalizers []string
}

func (n *node) foregroundDeleting() bool {
	return n.deleting && hasString(n.finalizers, FinalizerForegroundDeletion)
}

func (n *node) orphaning() bool {
	return n.deleting && hasString(n.finalizers, FinalizerOrphan)
}

// Collector is the garbage collector. Build it with New, start it with Run.
type Collector struct {
	client    metadata.Interface
	resources []Resource
	byKind    map[schema.GroupKind]int

	factory metadatainformer.SharedInformerFactory
	runner  *runner.Runner[objectID]

	mu sync.Mutex
	// nodes holds every object seen in the caches, by UID.
	nodes map[types.UID]*node
	// dependents maps an owner UID to the UIDs of objects referring to it.
	dependents map[types.UID]map[types.UID]struct{}
}

// New wires a collector over the given resources, workers objects processed
// at once. It registers one metadata informer per resource; nothing runs
// until Run.
func New(ctx context.Context, client metadata.Interface, resources []Resource, workers int) (*Collector, error) {
	if client == nil {
		return nil, errors.New("garbagecollector: nil metadata client")
	}
	c := &Collector{
		client:    client,
		resources: append([]Resource(nil), resources...),
		byKind:    make(map[schema.GroupKind]int, len(resources)),
		// The graph needs names, UIDs, owners, finalizers and deletion
		// state only; managedFields would just take memory.
		factory:    metadatainformer.NewSharedInformerFactoryWithOptions(client, 0, metadatainformer.WithTransform(dropManagedFields)),
		nodes:      make(map[types.UID]*node),
		dependents: make(map[types.UID]map[types.UID]struct{}),
	}
	var synced []cache.InformerSynced
	for i, r := range c.resources {
		if r.Kind == "" || r.GVR.Resource == "" || r.GVR.Version == "" {
			return nil, fmt.Errorf("garbagecollector: resource %d (%v, kind %q) is incomplete", i, r.GVR, r.Kind)
		}
		gk := schema.GroupKind{Group: r.GVR.Group, Kind: r.Kind}
		if _, dup := c.byKind[gk]; dup {
			return nil, fmt.Errorf("garbagecollector: kind %v listed twice", gk)
		}
		c.byKind[gk] = i
		inf := c.factory.ForResource(r.GVR).Informer()
		res := i
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { c.observe(res, obj) },
			UpdateFunc: func(_, obj any) { c.observe(res, obj) },
			DeleteFunc: func(obj any) { c.forget(res, obj) },
		}); err != nil {
			return nil, fmt.Errorf("garbagecollector: add handler for %v: %w", r.GVR, err)
		}
		synced = append(synced, inf.HasSynced)
	}
	c.runner = runner.New(runner.Config[objectID]{
		Name:      "garbagecollector",
		Workers:   workers,
		Reconcile: c.reconcile,
		Synced:    synced,
		LogAttrs: func(id objectID) []any {
			return []any{"resource", c.resources[id.res].GVR.String(), "object", key(id.namespace, id.name), "uid", id.uid}
		},
	})
	logging.FromContext(ctx).Debug("garbage collector wired", "resources", len(c.resources))
	return c, nil
}

// Run starts the collector's metadata informers (its own factory: the
// control plane's shared one is typed), waits for their caches and processes
// objects until ctx is cancelled. It returns after every goroutine it
// started has stopped.
func (c *Collector) Run(ctx context.Context) error {
	c.factory.Start(ctx.Done())
	defer c.factory.Shutdown()
	return c.runner.Run(ctx)
}

// Ready is closed once Run has synced every informer and started its
// workers.
func (c *Collector) Ready() <-chan struct{} { return c.runner.Ready() }

// reconcile makes the collector's one decision about the object.
func (c *Collector) reconcile(ctx context.Context, id objectID) (runner.Result, error) {
	return runner.Done, c.process(ctx, id)
}

func key(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// accessor extracts object metadata from an informer object, including a
// tombstone.
func metaOf(obj any) (*metav1.PartialObjectMetadata, bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(*metav1.PartialObjectMetadata)
	return m, ok
}

// observe records an added or updated object in the graph and queues the
// objects whose decision may have changed.
func (c *Collector) observe(res int, obj any) {
	m, ok := metaOf(obj)
	if !ok {
		return
	}
	n := &node{
		id:         objectID{res: res, namespace: m.Namespace, name: m.Name, uid: m.UID},
		owners:     append([]metav1.OwnerReference(nil), m.OwnerReferences...),
		deleting:   m.DeletionTimestamp != nil,
		finalizers: append([]string(nil), m.Finalizers...),
	}

	c.mu.Lock()
	old := c.nodes[m.UID]
	if old != nil {
		c.unlinkLocked(old)
	}
	c.nodes[m.UID] = n
	c.linkLocked(n)

	var enqueue []objectID
	if len(n.owners) > 0 || n.foregroundDeleting() || n.orphaning() {
		enqueue = append(enqueue, n.id)
	}
	// An owner that just started foreground deletion: its dependents must
	// now be deleted.
	if n.foregroundDeleting() && (old == nil || !old.foregroundDeleting()) {
		for _, d := range c.dependentsLocked(n) {
			enqueue = append(enqueue, d.id)
		}
	}
	// Owners waiting for their dependents re-check whenever a dependent
	// changes (a reference dropped, blockOwnerDeletion cleared, ...).
	enqueue = append(enqueue, c.waitingOwnersLocked(n, old)...)
	c.mu.Unlock()

	for _, id := range enqueue {
		c.runner.Enqueue(id)
	}
}

// forget removes a deleted object from the graph, queues its dependents (their
// reference now dangles) and the owners that may have been waiting for it.
func (c *Collector) forget(res int, obj any) {
	m, ok := metaOf(obj)
	if !ok {
		return
	}
	c.mu.Lock()
	n := c.nodes[m.UID]
	if n == nil {
		// Never seen (a missed add): its dependents may still be known.
		n = &node{id: objectID{res: res, namespace: m.Namespace, name: m.Name, uid: m.UID}}
	} else {
		c.unlinkLocked(n)
		delete(c.nodes, m.UID)
	}
	var enqueue []objectID
	for _, d := range c.dependentsLocked(n) {
		enqueue = append(enqueue, d.id)
	}
	enqueue = append(enqueue, c.waitingOwnersLocked(n, nil)...)
	c.mu.Unlock()

	for _, id := range enqueue {
		c.runner.Enqueue(id)
	}
}

// dropManagedFields is the informer transform that strips managedFields.
func dropManagedFields(obj any) (any, error) {
	if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
		m.ManagedFields = nil
	}
	return obj, nil
}

func (c *Collector) linkLocked(n *node) {
	for _, ref := range n.owners {
		deps := c.dependents[ref.UID]
		if deps == nil {
			deps = make(map[types.UID]struct{})
			c.dependents[ref.UID] = deps
		}
		deps[n.id.uid] = struct{}{}
	}
}

func (c *Collector) unlinkLocked(n *node) {
	for _, ref := range n.owners {
		deps := c.dependents[ref.UID]
		delete(deps, n.id.uid)
		if len(deps) == 0 {
			delete(c.dependents, ref.UID)
		}
	}
}

// dependentsLocked lists the cached objects that refer to owner. A namespaced
// owner only has dependents in its own namespace.
func (c *Collector) dependentsLocked(owner *node) []*node {
	var out []*node
	namespaced := c.resources[owner.id.res].Namespaced
	for uid := range c.dependents[owner.id.uid] {
		d := c.nodes[uid]
		if d == nil {
			continue
		}
		if namespaced && d.id.namespace != owner.id.namespace {
			continue
		}
		out = append(out, d)
	}
	return out
}

// waitingOwnersLocked returns the owners (from the current and previous
// references of n) that are in foreground deletion and so wait on n.
func (c *Collector) waitingOwnersLocked(n, old *node) []objectID {
	var out []objectID
	seen := map[types.UID]bool{}
	refs := n.owners
	if old != nil {
		refs = append(append([]metav1.OwnerReference(nil), refs...), old.owners...)
	}
	for _, ref := range refs {
		if seen[ref.UID] {
			continue
		}
		seen[ref.UID] = true
		if o := c.nodes[ref.UID]; o != nil && o.foregroundDeleting() {
			out = append(out, o.id)
		}
	}
	return out
}

func (c *Collector) cached(uid types.UID) (node, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[uid]
	if n == nil {
		return node{}, false
	}
	return *n, true
}

func (c *Collector) cachedDependents(owner objectID) []node {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.nodes[owner.uid]
	if o == nil {
		o = &node{id: owner}
	}
	deps := c.dependentsLocked(o)
	out := make([]node, len(deps))
	for i, d := range deps {
		out[i] = *d
	}
	return out
}

func hasString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
