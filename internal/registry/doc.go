// Package registry owns the per-kind rules of every resource petset serves:
// which fields can be selected, how objects are prepared on create and
// update (server-owned metadata, the spec/status split, generation),
// validation (through internal/registry/validation), graceful deletion,
// table columns (internal/registry/printers) and the subresources that are
// more than a status split (binding, scale, eviction, the pod connect
// subresources). Each kind is declared by one Kind in one file,
// kind_<name>.go, naming every rule it has (validation, defaulting, table,
// subresources included); Kinds lists them and NewStore turns one into a
// k8s.io/apiserver registry.Store backed by etcd.
//
// It does not own HTTP, discovery or etcd itself: the apiserver package
// installs what this package builds. Stores are safe for concurrent use;
// the package starts no goroutines of its own.
package registry
