package etcdstorage

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/kubernetes"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericfeatures "k8s.io/apiserver/pkg/features"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	cacherstorage "k8s.io/apiserver/pkg/storage/cacher"
	"k8s.io/apiserver/pkg/storage/etcd3"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/apiserver/pkg/storage/value/encrypt/identity"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// compactor is etcd3's compactor: the revision it last compacted to, and
// Stop.
type compactor interface {
	etcd3.Compactor
	Stop()
}

// Shared is one etcd client and its compactor, for the storage of every
// resource.
type Shared struct {
	client    *kubernetes.Client
	compactor compactor
}

// New shares c, whose owner closes it after the API server has stopped,
// among the storages Getter builds, and compacts etcd's history through it
// every interval (0: never) until ctx is done, as the factory's compactor
// does.
func New(ctx context.Context, c *clientv3.Client, interval time.Duration) *Shared {
	// The factory tracks every storage's etcd latency per request; the
	// tracker keeps nothing per resource, so one decorates the shared KV.
	kc := &kubernetes.Client{Client: c}
	kc.Kubernetes = kc
	c.KV = etcd3.NewETCDLatencyTracker(c.KV)
	s := &Shared{client: kc, compactor: etcd3.NewCompactor(c, interval, clock.RealClock{}, nil)}
	context.AfterFunc(ctx, s.compactor.Stop)
	return s
}

// Getter returns g's REST options with storage on the shared client: with
// the watch cache in front when watchCache is set, as the options'
// StorageWithCacher decorator has it, without otherwise. A nil Shared
// returns g.
func (s *Shared) Getter(g generic.RESTOptionsGetter, watchCache bool) generic.RESTOptionsGetter {
	if s == nil {
		return g
	}
	return getter{shared: s, next: g, watchCache: watchCache}
}

type getter struct {
	shared     *Shared
	next       generic.RESTOptionsGetter
	watchCache bool
}

func (g getter) GetRESTOptions(resource schema.GroupResource, example runtime.Object) (generic.RESTOptions, error) {
	opts, err := g.next.GetRESTOptions(resource, example)
	if err != nil {
		return opts, err
	}
	opts.Decorator = g.shared.raw
	if g.watchCache && !isUncached(resource) {
		opts.Decorator = g.shared.cached
	}
	return opts, nil
}

// Uncached are the resources served straight from etcd even with the watch
// cache on, as kube-apiserver's default --watch-cache-sizes has them:
// events, written once or twice each and rarely watched, whose cache would
// hold every event of the last hour in memory and decode each write again.
var Uncached = []schema.GroupResource{{Resource: "events"}, {Group: "events.k8s.io", Resource: "events"}}

// WatchCacheSizes is Uncached as options.EtcdOptions.WatchCacheSizes takes
// it ("resource[.group]#0"), for storage that is not on a Shared client.
func WatchCacheSizes() []string {
	var sizes []string
	for _, gr := range Uncached {
		sizes = append(sizes, gr.String()+"#0")
	}
	return sizes
}

func isUncached(gr schema.GroupResource) bool {
	for _, u := range Uncached {
		if u == gr {
			return true
		}
	}
	return false
}

// raw is generic.UndecoratedStorage on the shared client.
func (s *Shared) raw(config *storagebackend.ConfigForResource, resourcePrefix string, _ func(obj runtime.Object) (string, error),
	newFunc, newListFunc func() runtime.Object, _ storage.AttrFunc, _ storage.IndexerFuncs, _ *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
	return s.store(config, newFunc, newListFunc, resourcePrefix)
}

// store is the factory's newETCD3Storage on the shared client: the client
// and the compactor outlive the store, so destroying it ends only the
// store.
func (s *Shared) store(c *storagebackend.ConfigForResource, newFunc, newListFunc func() runtime.Object, resourcePrefix string) (storage.Interface, factory.DestroyFunc, error) {
	transformer := c.Transformer
	if transformer == nil {
		transformer = identity.NewEncryptCheckTransformer()
	}
	versioner := storage.APIObjectVersioner{}
	decoder := etcd3.NewDefaultDecoder(c.Codec, versioner)
	unsafeDelete := utilfeature.DefaultFeatureGate.Enabled(genericfeatures.AllowUnsafeMalformedObjectDeletion)
	if unsafeDelete {
		transformer = etcd3.WithCorruptObjErrorHandlingTransformer(transformer)
		decoder = etcd3.WithCorruptObjErrorHandlingDecoder(decoder)
	}
	st, err := etcd3.New(s.client, s.compactor, c.Codec, newFunc, newListFunc, c.Prefix, resourcePrefix, c.GroupResource,
		transformer, c.LeaseManagerConfig, decoder, versioner)
	if err != nil {
		return nil, nil, fmt.Errorf("etcd storage of %s: %w", c.GroupResource, err)
	}
	// Destroy funcs are called more than once (subresources share them).
	var once sync.Once
	destroy := func() { once.Do(st.Close) }
	var si storage.Interface = st
	if unsafeDelete {
		si = etcd3.NewStoreWithUnsafeCorruptObjectDeletion(si, c.GroupResource)
	}
	return si, destroy, nil
}

// cached is the registry's StorageWithCacher on the shared client.
func (s *Shared) cached(config *storagebackend.ConfigForResource, resourcePrefix string, keyFunc func(obj runtime.Object) (string, error),
	newFunc, newListFunc func() runtime.Object, getAttrs storage.AttrFunc, triggers storage.IndexerFuncs, indexers *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
	st, destroyStore, err := s.store(config, newFunc, newListFunc, resourcePrefix)
	if err != nil {
		return nil, nil, err
	}
	cacher, err := cacherstorage.NewCacherFromConfig(cacherstorage.Config{
		Storage:             st,
		Versioner:           storage.APIObjectVersioner{},
		GroupResource:       config.GroupResource,
		EventsHistoryWindow: config.EventsHistoryWindow,
		ResourcePrefix:      resourcePrefix,
		KeyFunc:             keyFunc,
		NewFunc:             newFunc,
		NewListFunc:         newListFunc,
		GetAttrsFunc:        getAttrs,
		IndexerFuncs:        triggers,
		Indexers:            indexers,
		Codec:               config.Codec,
	})
	if err != nil {
		destroyStore()
		return nil, nil, fmt.Errorf("watch cache of %s: %w", config.GroupResource, err)
	}
	delegator := cacherstorage.NewCacheDelegator(cacher, st)
	var once sync.Once
	destroy := func() {
		once.Do(func() {
			delegator.Stop()
			cacher.Stop()
			destroyStore()
		})
	}
	return delegator, destroy, nil
}
