// Package fencing names the parts of petset's node fencing protocol that the
// agent and the control plane share: the annotations by which a pod opts into
// automatic failover, a node announces the timeout of its network fence, and
// the control plane marks a node's lease while it fails the node's pods over.
//
// The protocol and its timing argument are in docs/fencing.md. In short: an
// agent lets its pods' traffic through only while it can confirm, within
// the fence timeout, that the API still assigns them to it (the kernel
// expires the permission by itself, so a cut-off or paused agent fences its
// pods without running); the control plane, once a node is lost, marks its
// lease, waits the fence timeout and a margin, and only then deletes the
// node's pods that opted in, so their StatefulSets replace them elsewhere.
package fencing
