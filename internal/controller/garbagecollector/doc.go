// Package garbagecollector deletes objects whose owners are gone and carries
// out the Foreground and Orphan deletion propagation policies, as the
// Kubernetes garbage collector (kube-controller-manager "garbagecollector")
// does.
//
// It owns:
//   - Background collection: a dependent whose ownerReferences all point at
//     absent owners is deleted (UID precondition); dangling references next to
//     a surviving owner are removed from the dependent instead.
//   - Foreground deletion: an owner carrying a deletionTimestamp and the
//     "foregroundDeletion" finalizer gets its dependents deleted (with
//     Foreground propagation when they have dependents of their own), and the
//     finalizer is removed once no dependent with blockOwnerDeletion=true
//     remains.
//   - Orphan deletion: an owner carrying a deletionTimestamp and the "orphan"
//     finalizer has its ownerReference removed from every dependent, then the
//     finalizer is removed.
//
// It does not own: setting finalizers or deletionTimestamps (the API server
// does that when a DELETE names a propagation policy), graceful pod
// termination (the node agent finishes it), or discovery of resources (the
// caller passes the list of resources to watch).
//
// Deletion decisions never rest on the informer cache alone: an owner is
// absent only when a live GET returns 404 or an object with a different UID.
// The cache only lets the collector skip the live check while every owner
// of an object is cached and not being deleted. Owner kinds not in the
// resource list are never treated as absent. A dependent that would be
// deleted in the foreground while one of its own dependents waits in
// foreground deletion first stops blocking its owners (upstream's cycle
// rule), so ownership cycles cannot deadlock.
//
// Concurrency: one metadata informer per resource feeds a shared ownership
// graph (guarded by a mutex) and the shared controller runner's work queue
// (internal/controller/runner); Run starts the collector's own metadata
// informer factory, waits for its caches, then runs the given number of
// workers, and returns after all of them have stopped once ctx is cancelled.
package garbagecollector
