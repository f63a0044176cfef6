package registry

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// jobKind is batch/v1 Job, run by the job controller
// (internal/controller/job). On create, unless manualSelector is true, the
// selector and the template's labels are generated from the job's name and
// UID as kube's job strategy does.
func jobKind() *Kind {
	return &Kind{
		GVK: batchv1.SchemeGroupVersion.WithKind("Job"), Resource: "jobs", Singular: "job",
		Namespaced: true, Categories: []string{"all"}, HasStatus: true,
		New: func() runtime.Object { return &batchv1.Job{} }, NewList: func() runtime.Object { return &batchv1.JobList{} },

		PrepareForCreate:     func(_ context.Context, obj runtime.Object) { generateJobSelector(obj.(*batchv1.Job)) },
		Validate:             validateCreate(validation.ValidateJob),
		ValidateUpdate:       validateUpdate(validation.ValidateJobUpdate),
		ValidateStatusUpdate: validateUpdate(validation.ValidateJobStatusUpdate),
		Default:              defaulter(defaults.Job),
		Printer:              printers.Job,
	}
}

// generateJobSelector adds to the template the labels job-name and
// controller-uid, legacy and batch.kubernetes.io/-prefixed, where the
// client set none (a conflicting value is refused by validation), and
// selects batch.kubernetes.io/controller-uid=<uid>.
func generateJobSelector(job *batchv1.Job) {
	if job.Spec.ManualSelector != nil && *job.Spec.ManualSelector {
		return
	}
	t := &job.Spec.Template
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	for k, v := range map[string]string{
		"job-name": job.Name, batchv1.JobNameLabel: job.Name,
		"controller-uid": string(job.UID), batchv1.ControllerUidLabel: string(job.UID),
	} {
		if _, ok := t.Labels[k]; !ok {
			t.Labels[k] = v
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{}
	}
	if job.Spec.Selector.MatchLabels == nil {
		job.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; !ok {
		job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = string(job.UID)
	}
}
