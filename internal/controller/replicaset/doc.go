// Package replicaset is kube-controller-manager's ReplicaSet controller:
// it keeps spec.replicas pods of each ReplicaSet's template running and
// writes the ReplicaSet's status, as kube 1.37 does.
//
// A sync of one ReplicaSet:
//   - claims pods: pods of its namespace whose controller reference names
//     it and that its selector matches are its own; owned pods that no
//     longer match are released (the reference removed); orphans that match
//     and are not being deleted are adopted (a controller reference added,
//     after a live read confirms the ReplicaSet still exists with the same
//     UID and is not being deleted). A ReplicaSet being deleted neither
//     adopts nor releases;
//   - counts its active pods (neither Succeeded, Failed nor terminating)
//     and, once its expectations are met and it is not being deleted,
//     creates the missing pods from its template (name <rs>-<random>,
//     labels, annotations and finalizers of the template, a controller
//     reference with blockOwnerDeletion) in slow-start batches of 1, 2, 4…
//     (at most 500 per sync), or deletes the extra ones in kube's order
//     (rank.go: unscheduled before scheduled, Pending before Unknown before
//     Running, not ready before ready, lower pod-deletion-cost first, more
//     pods of the same owner on the node first, ready for less time, more
//     restarts, newer first — times compared on a log2 scale);
//   - writes status: replicas (active pods), fullyLabeledReplicas (those
//     whose labels carry every template label), readyReplicas,
//     availableReplicas (ready for minReadySeconds), observedGeneration and
//     the ReplicaFailure condition while creating or deleting pods fails
//     (FailedCreate / FailedDelete), cleared when a sync succeeds. With
//     minReadySeconds it syncs again when a ready pod becomes available.
//
// Expectations (expectations.go) make it never create or delete twice: a
// sync that creates n pods expects n adds, one that deletes expects the
// deletes of those pods' UIDs, and the next sync manages replicas only
// once the pod informer has seen them (or five minutes passed).
//
// Not done: status.terminatingReplicas (kube's DeploymentReplicaSetTerminatingReplicas
// feature) stays unset; no metrics.
//
// Concurrency: it runs on the shared controller runner
// (internal/controller/runner) keyed by namespace/name of the ReplicaSet;
// informer handlers only record expectations and enqueue. A reconcile reads
// listers and writes pods and one status update.
package replicaset
