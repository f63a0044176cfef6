// Package nodeauth limits what node agents may do, as kube-apiserver's Node
// authorizer and NodeRestriction admission plugin do for kubelets. A node
// authenticates as user system:node:<name> in group system:nodes (its
// client certificate).
//
// The Authorizer allows a node what kube's system:node role allows
// (read nodes, pods, services, endpoints and endpoint slices; create
// events and CSRs; write node and pod status; its own Lease) and reads of
// the Secrets, ConfigMaps, PersistentVolumeClaims and PersistentVolumes,
// and ServiceAccount tokens, that pods bound to it refer to — by name
// only, never a list. The references are looked up in an informer of pods
// indexed by spec.nodeName (and of claims, for their volumes), so a pod
// scheduled to a node grants access as soon as the API server's informer
// sees it. petset's agent also reclaims its node's local volumes, so nodes
// may get PersistentVolumes, list and watch those pinned to them (the
// field selector petset.io/pinned-node=<node>, package pvnode, and no
// other) and update those.
//
// Admission (NodeRestriction) checks the objects: a node may create,
// update or delete only its own Node and Lease, may not set labels under
// node-restriction.kubernetes.io/ nor kubernetes.io/k8s.io labels other
// than kubelet's, may update the status of, delete or evict only pods
// bound to it, may create no pods but mirror pods bound to it, and may
// update only PersistentVolumes pinned to it, and there only metadata,
// and may request service-account tokens only bound (by name and UID) to
// a pod bound to it.
//
// Concurrency: the informers run in Run; Authorize and Validate are safe
// for concurrent use and deny node requests (no opinion) until the
// informers have synced.
package nodeauth
