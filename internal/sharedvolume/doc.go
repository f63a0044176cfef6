// Package sharedvolume is the contract of petset's shared volumes: one
// directory (a "shared root") that every node of a machine — or of several
// machines that mount one filesystem, NFS or the like, at the same path —
// can reach, so a claim's data follows its pod from node to node.
//
// It owns the names the control plane and the node agents share (the
// petset.io/shared provisioner, the "shared" StorageClass, the Node label
// and annotation, the volume finalizer) and the root's identity: a file
// .petset-shared-root in the directory holding a random ID, made by
// whichever process comes first (Ensure). Nodes that read the same ID see
// the same files; a node whose directory is another filesystem at the same
// path reads another ID, so it is never taken for one that shares.
//
// It does not own provisioning, binding or reclaim (internal/controller/volume)
// nor mounting (internal/agent/volume).
//
// Concurrency: Ensure is safe to call from several processes at once; the
// first to link its file in place wins and the others read its ID.
package sharedvolume
