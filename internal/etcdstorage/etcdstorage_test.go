package etcdstorage_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	cacherstorage "k8s.io/apiserver/pkg/storage/cacher"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/client-go/kubernetes/scheme"

	"petset/internal/etcd/etcdtest"
	"petset/internal/etcdstorage"
)

// codec stores and reads core/v1 as JSON.
func codec(t *testing.T) runtime.Codec {
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	if !ok {
		t.Fatal("no JSON serializer")
	}
	return scheme.Codecs.CodecForVersions(info.Serializer, info.Serializer, corev1.SchemeGroupVersion, corev1.SchemeGroupVersion)
}

var configMaps = schema.GroupResource{Resource: "configmaps"}

// startShared starts an embedded etcd and returns the Shared storages of
// one in-process client of it, with the context they run under; both are
// ended (the context canceled, the client closed) when t ends.
func startShared(t *testing.T) (context.Context, *etcdstorage.Shared) {
	t.Helper()
	e, _ := etcdtest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client := e.Client()
	t.Cleanup(func() { client.Close() })
	return ctx, etcdstorage.New(ctx, client, time.Minute)
}

// build makes the configmaps storage through the getter, as a registry
// store does with its REST options.
func build(t *testing.T, g generic.RESTOptionsGetter) (storage.Interface, factory.DestroyFunc) {
	t.Helper()
	opts, err := g.GetRESTOptions(configMaps, &corev1.ConfigMap{})
	if err != nil {
		t.Fatal(err)
	}
	keyFunc := func(obj runtime.Object) (string, error) {
		return storage.NamespaceKeyFunc(opts.ResourcePrefix+"/", obj)
	}
	s, destroy, err := opts.Decorator(opts.StorageConfig, opts.ResourcePrefix, keyFunc,
		func() runtime.Object { return &corev1.ConfigMap{} }, func() runtime.Object { return &corev1.ConfigMapList{} },
		storage.DefaultNamespaceScopedAttr, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, destroy
}

// TestStoragesShareOneClient builds storages of a resource without and
// with the watch cache on one in-process client of an embedded etcd, and
// checks what one writes the other reads and watches, and that destroying
// one (as the API server does per resource) leaves the shared client to
// the other, where the factory's storage would close its own.
func TestStoragesShareOneClient(t *testing.T) {
	ctx, shared := startShared(t)
	base := generic.RESTOptions{
		StorageConfig: &storagebackend.ConfigForResource{
			Config:        *storagebackend.NewDefaultConfig("/registry", codec(t)),
			GroupResource: configMaps,
		},
		Decorator:      generic.UndecoratedStorage,
		ResourcePrefix: "/configmaps",
	}
	raw, destroyRaw := build(t, shared.Getter(base, false))
	cached, destroyCached := build(t, shared.Getter(base, true))
	defer destroyCached()
	if _, ok := raw.(*cacherstorage.CacheDelegator); ok {
		t.Errorf("storage without watch cache is %T", raw)
	}
	if _, ok := cached.(*cacherstorage.CacheDelegator); !ok {
		t.Fatalf("storage with watch cache is %T", cached)
	}

	// The watch cache serves once it has listed.
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return cached.ReadinessCheck() == nil, nil
	}); err != nil {
		t.Fatalf("watch cache not ready: %v", cached.ReadinessCheck())
	}
	w, err := cached.Watch(ctx, "/configmaps/default", storage.ListOptions{ResourceVersion: "0", Recursive: true, Predicate: storage.Everything})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	put := func(s storage.Interface, name string) {
		t.Helper()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Data: map[string]string{"k": name}}
		if err := s.Create(ctx, "/configmaps/default/"+name, cm, &corev1.ConfigMap{}, 0); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	watched := func(name string) {
		t.Helper()
		select {
		case ev := <-w.ResultChan():
			// The watch cache sends its caching wrapper of the object.
			m, err := meta.Accessor(ev.Object)
			if ev.Type != watch.Added || err != nil || m.GetName() != name {
				t.Fatalf("watch: %s %#v, want %s added", ev.Type, ev.Object, name)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("watch: no event for %s", name)
		}
	}
	put(raw, "a")
	watched("a")
	var got corev1.ConfigMap
	if err := cached.Get(ctx, "/configmaps/default/a", storage.GetOptions{}, &got); err != nil || got.Data["k"] != "a" {
		t.Fatalf("get a through the cached storage: %v %v", err, got.Data)
	}

	destroyRaw()
	put(cached, "b")
	watched("b")
	if err := cached.Get(ctx, "/configmaps/default/b", storage.GetOptions{}, &got); err != nil || got.Data["k"] != "b" {
		t.Fatalf("get b after the other storage was destroyed: %v %v", err, got.Data)
	}
}

// TestEventsBypassTheWatchCache: with the watch cache on, events (core and
// events.k8s.io) are stored straight in etcd, as kube-apiserver's default
// --watch-cache-sizes has them, while other resources get the cache.
func TestEventsBypassTheWatchCache(t *testing.T) {
	_, shared := startShared(t)
	getter := shared.Getter(generic.RESTOptions{
		StorageConfig: &storagebackend.ConfigForResource{Config: *storagebackend.NewDefaultConfig("/registry", codec(t))},
		Decorator:     generic.UndecoratedStorage,
	}, true)
	for _, tc := range []struct {
		gr     schema.GroupResource
		cached bool
	}{
		{schema.GroupResource{Resource: "events"}, false},
		{schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, false},
		{schema.GroupResource{Resource: "pods"}, true},
	} {
		opts, err := getter.GetRESTOptions(tc.gr, &corev1.Event{})
		if err != nil {
			t.Fatal(err)
		}
		opts.StorageConfig.GroupResource = tc.gr
		prefix := "/" + tc.gr.String()
		s, destroy, err := opts.Decorator(opts.StorageConfig, prefix,
			func(obj runtime.Object) (string, error) { return storage.NamespaceKeyFunc(prefix+"/", obj) },
			func() runtime.Object { return &corev1.Event{} }, func() runtime.Object { return &corev1.EventList{} },
			storage.DefaultNamespaceScopedAttr, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, isCached := s.(*cacherstorage.CacheDelegator)
		destroy()
		if isCached != tc.cached {
			t.Errorf("%s: storage %T, cached %v, want %v", tc.gr, s, isCached, tc.cached)
		}
	}
	if got := etcdstorage.WatchCacheSizes(); len(got) != 2 || got[0] != "events#0" || got[1] != "events.events.k8s.io#0" {
		t.Errorf("WatchCacheSizes() = %v", got)
	}
}
