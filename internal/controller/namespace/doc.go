// Package namespace owns namespace deletion: when a namespace is marked
// Terminating (deleted while its spec.finalizers holds "kubernetes"), the
// controller deletes everything in it, waits until every object is gone
// (pods end their grace period on their nodes), then removes the
// finalizer through namespaces/finalize and deletes the namespace.
//
// Concurrency: one informer on namespaces feeds a rate-limited workqueue;
// Run's workers process one namespace at a time each. A namespace whose
// content is not gone yet is requeued with back-off.
package namespace
