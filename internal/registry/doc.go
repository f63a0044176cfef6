// Package registry owns the per-kind rules of every resource petset serves:
// which fields can be selected, how objects are prepared on create and
// update (server-owned metadata, the spec/status split, generation),
// validation (through internal/registry/validation), graceful deletion,
// table columns (internal/registry/printers) and the subresources that are
// more than a status split (binding, scale, eviction, the pod connect
// subresources). Each kind is described by a Kind; NewStorage turns it
// into k8s.io/apiserver registry.Store instances backed by etcd.
//
// It does not own HTTP, discovery or etcd itself: the apiserver package
// installs what this package builds. Stores are safe for concurrent use;
// the package starts no goroutines of its own.
package registry
