// Package lostvolume applies a StatefulSet's policy for the node-local
// volume of a lost node (k8s #78756): a pod whose claim is bound to a
// volume pinned to one node cannot run while that node is gone, and by
// default (Wait) it stays Pending until the node returns, as on Kubernetes.
// A set annotated petset.io/lost-volume-policy: Recreate trades that data
// for availability: once the node has been lost for the set's bound
// (petset.io/lost-volume-after, 5m by default), the pod's claim and the pod
// are deleted, and the statefulset controller makes a new pod with a new,
// empty claim, provisioned wherever the pod is scheduled.
//
// It owns: reading the policy, judging whether a pinned node is lost (gone,
// or its Ready condition not True for the bound: NodeLost, which the
// scheduler also uses to explain a Pending pod), and the deletions with a
// Warning event on the set that names the claim, the volume and the node
// where the data was left behind.
//
// It does not own: creating the replacement pod and claim (the statefulset
// controller, which waits for a claim being deleted to go), releasing or
// deleting the old volume (the volume controller; the lost node's agent
// removes the data if the node comes back), nor deciding a node is lost
// (the node lifecycle controller sets the Ready condition it reads).
//
// It is a controller of its own rather than part of the statefulset
// controller because it needs Nodes and PersistentVolumes, which that
// controller (upstream's split, upstream's informers) does not watch.
//
// Concurrency: it runs on the shared controller runner
// (internal/controller/runner), keyed by the set's namespace/name; a set is
// never reconciled twice at once. Handlers only enqueue. A set whose node is
// not lost yet is looked at again when the bound ends.
package lostvolume
