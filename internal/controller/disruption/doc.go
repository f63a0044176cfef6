// Package disruption is kube-controller-manager's disruption controller:
// it keeps the status of every PodDisruptionBudget, which the pods/eviction
// subresource (internal/registry) reads and decrements.
//
// For each budget it counts the pods its selector matches in its namespace
// and writes, as kube 1.37 does:
//   - expectedPods: with an integer minAvailable, the number of matching
//     pods; with a percentage or maxUnavailable, the sum of the scales
//     (spec.replicas) of the pods' controllers, read from listers: a
//     StatefulSet, a ReplicaSet, or the Deployment controlling that
//     ReplicaSet (counted once under its UID); a pod whose controller is
//     none of these with that UID fails the sync ("found no controllers for
//     pod …"). Pods without a controller are left out of the
//     count and reported in an UnmanagedPods warning event, as upstream;
//   - desiredHealthy: minAvailable (an integer, or the percentage of
//     expectedPods rounded up), or expectedPods minus maxUnavailable (the
//     percentage rounded up), never below 0;
//   - currentHealthy: matching pods that are Ready, not terminating, and not
//     listed in disruptedPods (an eviction the API admitted less than two
//     minutes ago, DeletionTimeout);
//   - disruptionsAllowed: currentHealthy − desiredHealthy, 0 when negative
//     or when no pod is expected;
//   - disruptedPods: the entries the eviction subresource added, kept while
//     their pod exists, is not yet terminating and the two minutes have not
//     passed (the budget is reconciled again when the first one expires; an
//     expired one gets a NotDeleted warning event on the pod);
//   - observedGeneration and the DisruptionAllowed condition: True with
//     reason SufficientPods when a disruption is allowed, False with
//     InsufficientPods otherwise, and False with SyncFailed (the error as
//     message, disruptionsAllowed 0) when the status cannot be computed.
//
// It also resets to False a pod's DisruptionTarget=True condition that has
// been there for two minutes (StalePodDisruptionTimeout) while the pod is
// neither terminating nor finished (an eviction or another disruption
// marked it and the delete never came), unless the node set it for its own
// termination (TerminationByKubelet) — upstream's stale pod disruption
// worker.
//
// It does not own: refusing or admitting evictions (pods/eviction in
// internal/registry).
//
// Concurrency: it runs on the shared controller runner
// (internal/controller/runner) keyed by namespace/name of the budget, and
// by "pod:<namespace>/<name>" for a pod's stale condition (enqueued for
// when it becomes stale); pod events enqueue every budget that selects the
// pod. A reconcile reads listers only and writes one status update; a
// conflict is retried.
package disruption
