package fencing

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

const (
	// FailoverAnnotation on a pod, with the value FailoverAuto, opts the pod
	// into automatic failover: its agent kills it when the node cannot
	// confirm it for the fence timeout, and the control plane deletes it
	// once its node is lost and fenced. On a StatefulSet the same
	// annotation makes the StatefulSet controller put it on the set's pods.
	FailoverAnnotation = "petset.io/failover"
	// FailoverAuto is the value of FailoverAnnotation that opts in.
	FailoverAuto = "auto"

	// FenceTimeoutAnnotation on a Node is the timeout of the agent's network
	// fence as a Go duration ("20s"). An agent without a fence does not set
	// it, and then the control plane never fails its pods over.
	FenceTimeoutAnnotation = "petset.io/fence-timeout"

	// FencedAtAnnotation on a node's Lease (kube-node-lease/<node>) is the
	// control plane's mark, an RFC 3339 time: while it is present the agent
	// must not extend its fence.
	FencedAtAnnotation = "petset.io/fenced-at"

	// ReasonNodeFenced is the reason of the event recorded on a pod that the
	// control plane deleted because its node was lost and fenced.
	ReasonNodeFenced = "NodeFenced"
)

// AutoFailover reports whether the pod opted into automatic failover.
func AutoFailover(pod *corev1.Pod) bool {
	return pod.Annotations[FailoverAnnotation] == FailoverAuto
}

// FenceTimeout returns the fence timeout a node announces, and false when
// it announces none or a value that is not a positive duration.
func FenceTimeout(node *corev1.Node) (time.Duration, bool) {
	v, ok := node.Annotations[FenceTimeoutAnnotation]
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}

// Margin is how much longer than a node's fence timeout the control plane
// waits after marking the node's lease before it deletes the node's pods:
// a tenth of the timeout, at least two seconds. It covers clock rates that
// differ between the node and the control plane by up to 10%, and the
// moment between an agent's check and its write to the kernel.
func Margin(fenceTimeout time.Duration) time.Duration {
	m := fenceTimeout / 10
	if m < 2*time.Second {
		m = 2 * time.Second
	}
	return m
}

// FormatTimeout renders a fence timeout as FenceTimeoutAnnotation holds it.
func FormatTimeout(d time.Duration) string { return fmt.Sprint(d) }
