// Package etcdstorage builds the storage of every API resource, petset's
// and the apiextensions server's (CustomResourceDefinitions and custom
// resources), on one shared etcd client.
//
// k8s.io/apiserver v0.37's storage factory dials a client of its own for
// every resource (storage/storagebackend/factory/etcd3.go, newETCD3Storage
// calling newETCD3Client, an unexported variable): one gRPC connection,
// with its buffers and goroutines, and one watch stream per resource, ~34
// in petset, and one more for the compactor (startCompactorOnce). It has no
// hook to pass a client in, so Getter swaps the storage decorator of every
// resource's REST options for one that does what the factory does on the
// shared client: etcd3.New with the resource's codec, transformer
// (encryption at rest), lease manager configuration and the one compactor,
// and the watch cache in front as the registry's StorageWithCacher does.
//
// The control plane uses it for a server alone, on the in-process client
// of its embedded etcd; clustered servers and an external etcd keep the
// factory's client per resource (a --cluster-init server with one shared
// network client never became ready; the cause is not known yet).
//
// It owns the compactor, not the client: the client's owner (the control
// plane) closes it once the API server has stopped. Destroying a storage
// ends only that storage. The etcd health and readiness checks and the
// database size monitor stay k8s.io/apiserver's (server/options/etcd.go).
//
// Concurrency: storages are built while the API server is wired, from one
// goroutine; the shared client and the compactor are safe for concurrent
// use by every storage.
package etcdstorage
