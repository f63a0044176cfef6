// Package volume is petset's PersistentVolume controller: the part of
// kube-controller-manager that binds PersistentVolumeClaims to
// PersistentVolumes, provisions volumes for petset's own provisioner
// (petset.io/local) and reclaims volumes whose claims were deleted.
//
// It owns:
//   - binding: a claim without spec.volumeName gets the smallest Available
//     volume that satisfies it (capacity, access modes, storage class, label
//     selector, volume mode), or the volume pre-bound to it through
//     spec.volumeName or the volume's spec.claimRef; it writes
//     spec.claimRef, spec.volumeName, the bind-completed/bound-by-controller
//     annotations and the phases and status of both objects;
//   - the retroactive default storage class (upstream's
//     RetroactiveDefaultStorageClass): a claim created while no default
//     class existed keeps spec.storageClassName nil (the API server's
//     DefaultStorageClass admission sets it at creation otherwise); while
//     unbound it first tries the class-less volumes, as upstream, and only
//     when none satisfies it gets the default StorageClass's name once one
//     exists;
//   - WaitForFirstConsumer: such claims are neither bound nor provisioned
//     until the scheduler has written the volume.kubernetes.io/selected-node
//     annotation on the claim. The split with the scheduler is upstream's:
//     the scheduler chooses the node and, when it found a matching static
//     volume, pre-binds that volume by setting its spec.claimRef (and then
//     does not annotate the claim, so a pre-bound static volume is never
//     passed over for a provisioned one); this controller completes every
//     binding and does every provisioning. A volume pre-bound by a
//     controller to a claim that got bound elsewhere is released at once
//     (claim events also queue the volumes whose claimRef names the claim);
//   - provisioning for classes whose provisioner is petset.io/local: a PV
//     named pvc-<claim UID> with a local path under the chosen node's
//     petset.io/volume-dir annotation and node affinity to that node (the
//     contract shared with the node agent is in provision.go);
//   - provisioning for petset.io/shared when the server has a shared volume
//     root (ServeSharedRoot): a PV under the root whose node affinity is the
//     root's ID label (package sharedvolume), so any node reaching the root
//     may mount it; the directory is made here, and removed here when the
//     deleted PV is no longer bound (then its petset.io/shared-volume
//     finalizer goes). Claims of other provisioners get the storage-provisioner annotations and an
//     ExternalProvisioning event, as upstream;
//   - volumes deleted while Bound (held by kubernetes.io/pv-protection) are
//     still synced: once their claim is gone they turn Released, which lets
//     the pv-protection controller remove its finalizer; no reclaim policy
//     is applied to a volume already being deleted;
//   - reclaim of Released volumes: Retain leaves them, Delete deletes the PV
//     object of volumes petset provisioned (the node agent removes the data
//     and then the petset.io/local-volume finalizer), Recycle scrubs a
//     hostPath volume with upstream's recycler pod and makes it Available
//     again (recycle.go); other volume types cannot be recycled (Failed).
//
// It does not own: creating or removing directories on nodes (the node
// agent; a recycler pod scrubs on the node it runs on), the pvc-/pv-protection
// finalizers (package storageprotection), or choosing nodes for pods (the
// scheduler package, which also places recycler pods).
//
// Concurrency: it runs on the shared controller runner
// (internal/controller/runner) as upstream's two queues: claims, keyed by
// namespace/name, and volumes, keyed by name, each drained by its own
// workers (one each in the control plane), so a key is never synced twice at
// once. Handlers only enqueue keys; the control plane starts the informers.
// Failures are logged by the runner (per-item logger with "claim" or
// "volume") and retried with back-off.
package volume
