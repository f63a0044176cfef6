// Package etcd owns the embedded etcd server that petset uses as its store
// when no external cluster is given: its data directory, listeners and
// lifecycle, and how a client connects to an etcd with mutual TLS. The
// embedded etcd serves its client and peer ports on loopback over https and
// accepts only clients with a certificate of its CA (files made by
// internal/pki). It does not know about Kubernetes objects; the API server
// talks to it through its client URL like any etcd. Several petset servers
// make their members one cluster (cluster.go): a new member is added as a
// learner through a member of the cluster, starts with the initial cluster
// it was given and is promoted once it has caught up.
//
// Concurrency: Start blocks until the server is ready or failed; Close stops
// it and waits. The embedded server runs its own goroutines.
package etcd
