// Package storageprotection is kube-controller-manager's storage-object-in-use
// protection: the pvc-protection and pv-protection controllers. The API
// server's StorageObjectInUseProtection admission (internal/apiserver) puts
// PVCFinalizer on every new PersistentVolumeClaim and PVFinalizer on every
// new PersistentVolume; these controllers take the finalizers off once
// deleting the object is safe, so a claim deleted under a running pod stays
// Terminating (and its volume and data stay) until no pod uses it.
//
// It owns:
//   - PVCController: a claim being deleted loses PVCFinalizer once no pod
//     uses it. A pod uses a claim when it is scheduled (spec.nodeName set:
//     the agent sees only scheduled pods, and the scheduler never places a
//     pod on a claim being deleted) and names the claim in a
//     persistentVolumeClaim volume, or in an ephemeral volume whose claim
//     the pod owns unless the pod is shut down (deleted with a zero grace
//     period). This is upstream's rule: a Succeeded or Failed pod that
//     still exists keeps its persistentVolumeClaim claims. The informer
//     cache is asked first; only when it knows no user is the namespace's
//     pods listed live from the API server, so a pod the cache has not seen
//     yet still protects the claim;
//   - PVController: a volume being deleted loses PVFinalizer once it is not
//     Bound;
//   - both add their finalizer to objects that lack it and are not being
//     deleted (objects stored before the admission existed), as upstream.
//
// It does not own: deleting claims or volumes (users, the StatefulSet
// controller's retention policy, the garbage collector, the namespace
// controller), moving a volume whose claim is gone to Released (the volume
// controller), nor removing a volume's data (the node agent, which waits
// until PVFinalizer is gone).
//
// Both controllers have one shape (protection.go): a key names a claim or
// a volume; reconcile reads it from the cache and removes or adds the
// finalizer; what differs per kind is how the object is read and written
// and what holds it (a pod, or the volume being Bound).
//
// Concurrency: each runs on the shared controller runner
// (internal/controller/runner); the constructors register informer event
// handlers that only enqueue keys, and a key is never reconciled by two
// workers at once.
package storageprotection
