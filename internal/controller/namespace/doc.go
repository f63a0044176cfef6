// Package namespace owns namespace deletion: when a namespace is marked
// Terminating (deleted while its spec.finalizers holds "kubernetes"), the
// controller deletes everything in it, waits until every object is gone
// (pods end their grace period on their nodes), then removes the
// finalizer through namespaces/finalize and deletes the namespace.
//
// Concurrency: one informer on namespaces feeds the shared controller runner
// (internal/controller/runner), keyed by namespace name; each worker
// processes one namespace at a time. A namespace whose content is not gone
// yet is requeued with back-off.
package namespace
