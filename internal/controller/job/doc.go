// Package job is the job controller: it runs each batch/v1 Job's pods to
// completion as kube-controller-manager's job controller does (its
// semantics, petset's code).
//
// A Job's pods carry a controller ownerReference to it, its template's
// labels (the generated batch.kubernetes.io/controller-uid selector among
// them) and the finalizer batch.kubernetes.io/job-tracking, so that no pod
// is gone before it is counted. Counting is upstream's two steps: a
// terminated pod's UID goes into status.uncountedTerminatedPods, its
// finalizer is removed, and then it moves into status.succeeded or
// status.failed. With podReplacementPolicy TerminatingOrFailed a pod being
// deleted counts as failed at once; with Failed it is replaced only once it
// has failed.
//
// Each reconcile, for a job not finished: parallelism pods run, no more
// than the completions still missing (a work queue job, completions unset,
// starts none once one succeeded); Indexed jobs run one pod per missing
// index, named <job>-<index>-xxxxx with hostname <job>-<index>, the index
// in the batch.kubernetes.io/job-completion-index annotation and label and
// in JOB_COMPLETION_INDEX. After failures new pods wait 10 s doubling per
// failure up to 10 min (pod failure back-off, from the last failed pod's
// finish). More failures than backoffLimit (for OnFailure pods, container
// restarts count too) set FailureTarget/BackoffLimitExceeded, an expired
// activeDeadlineSeconds FailureTarget/DeadlineExceeded; enough successes
// set SuccessCriteriaMet/CompletionsReached. The controller then deletes
// the active pods and, once none is left terminating and nothing is
// uncounted, adds Failed or Complete (with completionTime), as 1.37 does.
// suspend deletes the active pods and sets Suspended=True; resuming sets it
// False and restarts startTime. A finished job with ttlSecondsAfterFinished
// is deleted that long after it finished (upstream's ttl-after-finished
// controller, here in the same queue). A job whose spec.managedBy names
// another controller is left alone.
//
// Not done: podFailurePolicy and successPolicy rules are validated and
// stored but not acted on (failures count against backoffLimit),
// backoffLimitPerIndex, orphan adoption (pods matching the selector without
// an ownerReference are ignored), and the pod-failure back-off is derived
// from the failed pods still listed rather than upstream's in-memory
// records.
package job
