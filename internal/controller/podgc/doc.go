// Package podgc is Kubernetes' pod garbage collector (kube-controller-manager's
// podgc controller): it removes pods nobody else will.
//
// It owns, each Config.Period:
//   - orphaned pods: a pod bound to a node that does not exist is deleted once
//     the node has been missing for Config.Quarantine (40 s, kube's
//     quarantineTime) and a GET of the node still says NotFound. The pod gets
//     a DisruptionTarget condition (reason DeletionByPodGC, "PodGC: node no
//     longer exists"), phase Failed, and is force-deleted (grace period 0):
//     no agent will ever confirm its end;
//   - terminating pods of an out-of-service node: a node that is not Ready
//     and carries the node.kubernetes.io/out-of-service taint (kube's
//     non-graceful node shutdown) has its terminating pods marked Failed and
//     force-deleted;
//   - unscheduled terminating pods: a pod with a deletionTimestamp and no
//     node is marked Failed and force-deleted;
//   - terminated pods (phase Succeeded or Failed) above
//     Config.TerminatedPodThreshold (12500, kube's
//     --terminated-pod-gc-threshold) are deleted, evicted ones first, then
//     oldest first (name breaks ties).
//
// It does not own: deciding that a node is lost (nodelifecycle), evicting
// pods of a live node, nor pods' graceful termination (the agent).
//
// Concurrency: it runs on the shared controller runner
// (internal/controller/runner) with one key, a pass over every pod: the
// first once the caches have synced, the next Period after each pass (a
// failed one too, logged by the runner). The one key is never reconciled
// twice at once, so a pass alone reads and writes the quarantine record.
// Quarantine and condition times come from Config.Clock.
package podgc
