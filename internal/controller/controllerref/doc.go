// Package controllerref is how a controller claims its dependents by
// controller reference, as kube's ControllerRefManager does: it keeps the
// dependents it controls that its selector matches, releases the ones that
// stop matching, and adopts matching orphans once a live read confirms the
// owner still exists. The ReplicaSet controller claims pods with it, the
// Deployment controller ReplicaSets.
//
// It does not own: reading the dependents (the caller lists them from its
// informer) or the owner's live read (the caller's Recheck).
//
// Concurrency: Claim runs in the caller's goroutine; it holds no state.
package controllerref
