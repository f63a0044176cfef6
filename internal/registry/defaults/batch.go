package defaults

import (
	"math"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Job applies the batch/v1 Job defaults of kube 1.37: completions and
// parallelism 1 when both are unset (parallelism 1 when only it is),
// backoffLimit 6 (MaxInt32 with backoffLimitPerIndex), the job's labels
// from the template's when it has none, completionMode NonIndexed, suspend
// false, podReplacementPolicy Failed with a podFailurePolicy and
// TerminatingOrFailed without, manualSelector false; then the pod
// template's and the failure policy's defaults.
func Job(job *batchv1.Job) {
	spec := &job.Spec
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions = ptrTo(int32(1))
	}
	if spec.Parallelism == nil {
		spec.Parallelism = ptrTo(int32(1))
	}
	if spec.BackoffLimit == nil {
		spec.BackoffLimit = ptrTo(int32(6))
		if spec.BackoffLimitPerIndex != nil {
			spec.BackoffLimit = ptrTo(int32(math.MaxInt32))
		}
	}
	if spec.Template.Labels != nil && len(job.Labels) == 0 {
		job.Labels = spec.Template.Labels
	}
	if spec.CompletionMode == nil {
		spec.CompletionMode = ptrTo(batchv1.NonIndexedCompletion)
	}
	if spec.Suspend == nil {
		spec.Suspend = ptrTo(false)
	}
	if spec.PodReplacementPolicy == nil {
		spec.PodReplacementPolicy = ptrTo(batchv1.TerminatingOrFailed)
		if spec.PodFailurePolicy != nil {
			spec.PodReplacementPolicy = ptrTo(batchv1.Failed)
		}
	}
	if spec.ManualSelector == nil {
		spec.ManualSelector = ptrTo(false)
	}
	jobSpecNested(spec)
}

// CronJob applies the batch/v1 CronJob defaults: concurrencyPolicy Allow,
// suspend false, history limits 3 successful and 1 failed; the job
// template gets only its pod template's and failure policy's defaults (kube
// runs the Job defaults when the controller creates the job).
func CronJob(cj *batchv1.CronJob) {
	spec := &cj.Spec
	if spec.ConcurrencyPolicy == "" {
		spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if spec.Suspend == nil {
		spec.Suspend = ptrTo(false)
	}
	if spec.SuccessfulJobsHistoryLimit == nil {
		spec.SuccessfulJobsHistoryLimit = ptrTo(int32(3))
	}
	if spec.FailedJobsHistoryLimit == nil {
		spec.FailedJobsHistoryLimit = ptrTo(int32(1))
	}
	jobSpecNested(&spec.JobTemplate.Spec)
}

// jobSpecNested: an onPodConditions pattern's status defaults to True; the
// pod template gets the core defaults.
func jobSpecNested(spec *batchv1.JobSpec) {
	if pfp := spec.PodFailurePolicy; pfp != nil {
		for i := range pfp.Rules {
			for j := range pfp.Rules[i].OnPodConditions {
				if c := &pfp.Rules[i].OnPodConditions[j]; c.Status == "" {
					c.Status = corev1.ConditionTrue
				}
			}
		}
	}
	PodTemplateSpec(&spec.Template)
}
