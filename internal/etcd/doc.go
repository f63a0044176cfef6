// Package etcd owns the embedded etcd server that petset uses as its store
// when no external cluster is given: its data directory, listeners and
// lifecycle. It does not know about Kubernetes objects; the API server talks
// to it through its client URL like any etcd.
//
// Concurrency: Start blocks until the server is ready or failed; Close stops
// it and waits. The embedded server runs its own goroutines.
package etcd
