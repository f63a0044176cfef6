package registry

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Subresources returns the subresources of kind k beyond /status, given
// every kind's store.
func Subresources(k *Kind, stores map[schema.GroupResource]*Store) map[string]rest.Storage {
	if k.Subresources == nil {
		return nil
	}
	return k.Subresources(stores[k.GroupResource()], stores)
}

// Main returns the storage that serves a kind's main resource: the store
// itself, or a wrapper where a kind's verbs differ (namespace deletion).
func Main(k *Kind, store *Store) rest.Storage {
	if k.Storage != nil {
		return k.Storage(store)
	}
	return store
}
