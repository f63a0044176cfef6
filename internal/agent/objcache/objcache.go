package objcache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Kind is the kind of a referenced object.
type Kind string

// The kinds the cache keeps.
const (
	ConfigMaps Kind = "configmaps"
	Secrets    Kind = "secrets"
)

// Ref names one object.
type Ref struct {
	Kind      Kind
	Namespace string
	Name      string
}

// syncWait bounds how long a read waits for a new watch's first list
// before it reads the object with a GET instead (kubelet waits up to a
// second too).
const syncWait = time.Second

// Cache keeps the objects registered pods refer to.
type Cache struct {
	client kubernetes.Interface

	mu      sync.Mutex
	stopped bool
	items   map[Ref]*item
	pods    map[types.UID][]Ref
}

// item is one object's watch and the pods that name it.
type item struct {
	store  cache.Store
	synced func() bool
	stop   chan struct{}
	done   chan struct{}
	pods   map[types.UID]struct{}
}

// New returns a cache reading through client.
func New(client kubernetes.Interface) *Cache {
	return &Cache{client: client, items: map[Ref]*item{}, pods: map[types.UID][]Ref{}}
}

// Register records the objects pod names, starting a watch for each one
// not yet watched, and drops the pod's references it no longer names.
func (c *Cache) Register(pod *corev1.Pod) {
	refs := References(pod)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	old := c.pods[pod.UID]
	c.pods[pod.UID] = refs
	for _, r := range refs {
		it := c.items[r]
		if it == nil {
			it = c.watch(r)
			c.items[r] = it
		}
		it.pods[pod.UID] = struct{}{}
	}
	for _, r := range old {
		if !contains(refs, r) {
			c.release(r, pod.UID)
		}
	}
}

// Unregister drops pod's references; a watch no pod needs stops.
func (c *Cache) Unregister(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.pods[uid] {
		c.release(r, uid)
	}
	delete(c.pods, uid)
}

// Stop stops every watch and waits for them to end.
func (c *Cache) Stop() {
	c.mu.Lock()
	c.stopped = true
	items := c.items
	c.items, c.pods = map[Ref]*item{}, map[types.UID][]Ref{}
	c.mu.Unlock()
	for _, it := range items {
		close(it.stop)
		<-it.done
	}
}

// Watches is how many objects are watched.
func (c *Cache) Watches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// ConfigMap returns the named ConfigMap.
func (c *Cache) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	obj, err := c.get(ctx, Ref{ConfigMaps, namespace, name})
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.ConfigMap), nil
}

// Secret returns the named Secret.
func (c *Cache) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	obj, err := c.get(ctx, Ref{Secrets, namespace, name})
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Secret), nil
}

// get reads r from its watch once synced; without a watch, or one that has
// not synced within syncWait, from the API server.
func (c *Cache) get(ctx context.Context, r Ref) (runtime.Object, error) {
	c.mu.Lock()
	it := c.items[r]
	c.mu.Unlock()
	if it != nil && waitSynced(ctx, it) {
		obj, ok, err := it.store.GetByKey(r.Namespace + "/" + r.Name)
		if err != nil {
			return nil, fmt.Errorf("reading %s %s/%s from its watch: %w", r.Kind, r.Namespace, r.Name, err)
		}
		if !ok {
			return nil, apierrors.NewNotFound(groupResource(r.Kind), r.Name)
		}
		return obj.(runtime.Object), nil
	}
	switch r.Kind {
	case ConfigMaps:
		return c.client.CoreV1().ConfigMaps(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
	default:
		return c.client.CoreV1().Secrets(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
	}
}

// waitSynced waits up to syncWait for it's first list.
func waitSynced(ctx context.Context, it *item) bool {
	if it.synced() {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, syncWait)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return it.synced()
		case <-t.C:
			if it.synced() {
				return true
			}
		}
	}
}

// watch starts r's watch; c.mu is held.
func (c *Cache) watch(r Ref) *item {
	sel := fields.OneTermEqualSelector("metadata.name", r.Name).String()
	var lw *cache.ListWatch
	var expected runtime.Object
	switch r.Kind {
	case ConfigMaps:
		expected, lw = &corev1.ConfigMap{}, byName(sel, c.client.CoreV1().ConfigMaps(r.Namespace))
	default:
		expected, lw = &corev1.Secret{}, byName(sel, c.client.CoreV1().Secrets(r.Namespace))
	}
	store := &listedStore{Store: cache.NewStore(cache.MetaNamespaceKeyFunc)}
	// The client tells the reflector whether it can stream the initial
	// list in the watch (the API server can; client-go's fake cannot), as
	// client-go's informers do.
	refl := cache.NewReflectorWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, c.client), expected, store, cache.ReflectorOptions{
		Name: fmt.Sprintf("objcache %s %s/%s", r.Kind, r.Namespace, r.Name),
	})
	it := &item{store: store, synced: store.listed.Load,
		stop: make(chan struct{}), done: make(chan struct{}), pods: map[types.UID]struct{}{}}
	go func() {
		defer close(it.done)
		refl.Run(it.stop)
	}()
	return it
}

// lister is the part of a typed namespaced client a watch of one object
// needs.
type lister[L runtime.Object] interface {
	List(ctx context.Context, o metav1.ListOptions) (L, error)
	Watch(ctx context.Context, o metav1.ListOptions) (watch.Interface, error)
}

// byName lists and watches through api only the objects that sel (a
// metadata.name selector) picks.
func byName[L runtime.Object](sel string, api lister[L]) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return api.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return api.Watch(ctx, o)
		},
	}
}

// release drops uid's reference to r; c.mu is held.
func (c *Cache) release(r Ref, uid types.UID) {
	it := c.items[r]
	if it == nil {
		return
	}
	delete(it.pods, uid)
	if len(it.pods) == 0 {
		delete(c.items, r)
		close(it.stop) // the reflector ends on its own; nobody waits here
	}
}

func contains(refs []Ref, r Ref) bool {
	for _, x := range refs {
		if x == r {
			return true
		}
	}
	return false
}

// listedStore is a store that knows whether its reflector has listed once
// (the reflector's first Replace).
type listedStore struct {
	cache.Store
	listed atomic.Bool
}

func (s *listedStore) Replace(list []any, rv string) error {
	err := s.Store.Replace(list, rv)
	s.listed.Store(true)
	return err
}
