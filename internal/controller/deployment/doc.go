// Package deployment is kube-controller-manager's Deployment controller:
// it rolls each Deployment's pod template out through ReplicaSets it owns,
// as kube 1.37 does, and writes the Deployment's status.
//
//   - ReplicaSets: a Deployment claims the ReplicaSets its selector matches
//     (adopting orphans, releasing owned ones that stop matching). The one
//     whose template equals the Deployment's (the pod-template-hash label
//     aside) is the new one; the others are old. A new one is named
//     <deployment>-<hash>, the hash being kube's (fnv32a of the template's
//     dump and status.collisionCount, safe-encoded), and carries the hash
//     as the pod-template-hash label in its labels, selector and template;
//     a name taken by a ReplicaSet of another template bumps
//     collisionCount.
//   - Annotations: each ReplicaSet gets the Deployment's annotations (but
//     last-applied-configuration and the deployment.kubernetes.io ones),
//     deployment.kubernetes.io/revision (the new one: the highest old
//     revision + 1; an old revision reused is recorded in revision-history),
//     desired-replicas and max-replicas (replicas + maxSurge); the
//     Deployment carries the new ReplicaSet's revision. kubectl rollout
//     history and undo read these.
//   - RollingUpdate: the new ReplicaSet grows while the sum of every
//     ReplicaSet's replicas stays within replicas + maxSurge (rounded up);
//     old ones shrink — first their unavailable pods, then oldest first —
//     while replicas − maxUnavailable (rounded down) pods stay available.
//     Recreate: the old ones go to 0 and, once none of their pods runs, the
//     new one goes to replicas.
//   - A change of replicas alone (a desired-replicas annotation differing),
//     and a paused Deployment, only scale: the one active ReplicaSet, or all
//     of them in proportion to their size (kube's proportional scaling),
//     leftovers to the largest.
//   - Status: replicas, updatedReplicas, readyReplicas, availableReplicas,
//     unavailableReplicas, observedGeneration, collisionCount; conditions
//     Available (MinimumReplicasAvailable / MinimumReplicasUnavailable) and
//     Progressing (NewReplicaSetCreated, FoundNewReplicaSet,
//     ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded
//     after progressDeadlineSeconds without progress, DeploymentPaused /
//     DeploymentResumed) and ReplicaFailure copied from a ReplicaSet.
//   - Old ReplicaSets scaled to 0 beyond revisionHistoryLimit are deleted,
//     oldest revision first, once the rollout is complete (or paused).
//
// Rollback is kubectl's: rollout undo patches the Deployment's template
// with an old ReplicaSet's, which then becomes the new one again.
//
// Concurrency: it runs on the shared controller runner
// (internal/controller/runner) keyed by namespace/name of the Deployment;
// informer handlers only enqueue. A sync reads listers and writes
// ReplicaSets and one status update; a stale read fails on a conflict and
// is retried.
package deployment
