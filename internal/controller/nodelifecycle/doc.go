// Package nodelifecycle notices lost nodes and acts as Kubernetes' node
// lifecycle and taint-eviction controllers do.
//
// It owns:
//   - node health: a node is healthy while its agent renews the Lease
//     kube-node-lease/<node> or posts node status (a new Ready heartbeat). When
//     neither happened within Config.GracePeriod (Config.StartupGracePeriod for
//     a node that never posted Ready), every node condition (Ready,
//     MemoryPressure, DiskPressure, PIDPressure) is set to Unknown with reason
//     NodeStatusUnknown ("Kubelet stopped posting node status.");
//   - the taints derived from node conditions: node.kubernetes.io/unreachable
//     (Ready=Unknown) or node.kubernetes.io/not-ready (Ready=False), each with
//     NoSchedule and NoExecute; memory-pressure, disk-pressure, pid-pressure,
//     network-unavailable and unschedulable as NoSchedule. They are removed
//     when the condition clears (the agent posts Ready=True again);
//   - marking the pods of a node that is not Ready as Ready=False;
//   - eviction (when Config.EvictionEnabled): a pod on a node with NoExecute
//     taints it does not tolerate is deleted at once; one whose tolerations
//     carry tolerationSeconds is deleted when the shortest of them has passed
//     since the taint was added. The delete is graceful, so the pod stays
//     Terminating until its agent (never, for a lost node) or a user's forced
//     delete removes it. A pod evicted for the not-ready or unreachable taint
//     first gets status.reason NodeLost and kube ≤1.8's message, so kubectl
//     shows it Unknown (a departure from kube 1.37, docs/force-delete.md);
//   - automatic failover (failover.go, the control plane's half of the
//     fencing protocol in docs/fencing.md): for a lost node that announces
//     a fence timeout (petset.io/fence-timeout) and runs pods annotated
//     petset.io/failover=auto, the fenced-at mark on its Lease (an update
//     conditioned on the resourceVersion the health decision saw), the
//     wait of the fence timeout plus fencing.Margin on Config.Clock, the
//     force delete (grace 0, UID precondition) of those pods with a
//     NodeFenced event on each, and the mark's removal; a node that comes
//     back before the deletes loses nothing, and a healthy node's lease
//     never keeps a mark.
//
// It does not own: posting node status or renewing leases (the agent), the
// default tolerations of pods (the API server adds them), scheduling, or
// rescheduling evicted pods (the StatefulSet controller re-creates a pod once
// it is really gone).
//
// Time comes from Config.Clock, so tests step a fake clock. Concurrency: the
// informers (started by the caller's factory) only fill caches; Run runs one
// monitor loop, every Config.MonitorPeriod, that alone reads and writes the
// per-node health and failover records, and returns when ctx is cancelled.
//
// Why it is not on the controller runner (internal/controller/runner): there
// is no per-object work queue to drain. Like upstream's monitorNodeHealth
// (wait.UntilWithContext every --node-monitor-period), the unit of work is a
// pass over every node, and the time that matters (grace periods,
// tolerationSeconds, taint timeAdded) is Config.Clock's: a pass decides the
// conditions, taints, not-ready marks and evictions of each node at the
// clock's now. Handing the per-node or per-pod work to the runner would time
// its retries and delayed keys by the workqueue's real clock instead, and a
// pass would no longer be one step of the fake clock. A failed pass is
// logged (warning, under logging.ErrKey) and done again at the next tick; Run
// returns an error only when ctx ends before the caches synced.
package nodelifecycle
