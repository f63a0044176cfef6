// Package volume resolves a pod's volumes to directories on the node and does
// the node's part of petset's local-volume contract.
//
// It owns:
//   - Mount: persistentVolumeClaim → bound PV (a claim being deleted is
//     refused unless kubernetes.io/pvc-protection still holds it, as kubelet) → spec.local.path or
//     spec.hostPath.path (created with MkdirAll, mode 0777, when the path lies
//     under this node's volume directory or its shared volume root); hostPath volumes with their type
//     checks (DirectoryOrCreate, Directory, FileOrCreate, File, Socket,
//     CharDevice, BlockDevice); emptyDir as a per-pod directory; configMap,
//     secret, downwardAPI and projected volumes as per-pod directories whose
//     files are written on a pod's first Mount and rewritten by a later Mount
//     once the refresh period has passed (or at once when the pod's labels or
//     annotations changed), so the agent's periodic resync refreshes them
//     after the source objects change; other Mounts of a pod read no object
//     and return what was set up (a pod's volumes and its claims' bindings
//     never change). Files are replaced atomically
//     (write to a temporary name, rename) and files no longer projected are
//     removed.
//   - fsGroup (SetOwnership): the pod's fsGroup applied as kubelet's
//     SetVolumeOwnership does to emptyDir, configMap, secret, downwardAPI,
//     projected and local (or petset-provisioned) claim volumes, never to
//     hostPath: group ownership, group read/write, setgid directories;
//     once per pod for directories (every Mount for projected files, which
//     are rewritten), or whenever the root mismatches with
//     fsGroupChangePolicy OnRootMismatch.
//   - Unmount: removal of a pod's per-pod directories (emptyDir, projected
//     files) when the pod is gone. PV directories are never touched there.
//   - ReconcilePV: reclaim on the node. A PV being deleted that carries the
//     petset.io/local-volume finalizer and whose node affinity names this node
//     gets its directory removed (only when it lies under the volume
//     directory), then the finalizer dropped — but only once the
//     kubernetes.io/pv-protection finalizer is gone (a PV deleted while
//     Bound keeps its data until its claim is gone). (Recycle is not done
//     here: the volume controller scrubs with a recycler pod, as upstream.)
//
// It does not own watching objects (the agent's informers feed it through the
// Objects interface), bind mounting into containers (the runtime does that),
// nor provisioning PV objects (the control plane's volume controller).
//
// Concurrency: a Manager is safe for concurrent use (a mutex guards the
// memory of applied fsGroups); Mount and Unmount of one
// pod must not run concurrently (the agent calls them from the pod's worker).
package volume
