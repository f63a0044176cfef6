package registry

import (
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// cronJobKind is batch/v1 CronJob, run by the cronjob controller
// (internal/controller/cronjob).
func cronJobKind() *Kind {
	return &Kind{
		GVK: batchv1.SchemeGroupVersion.WithKind("CronJob"), Resource: "cronjobs", Singular: "cronjob",
		Namespaced: true, ShortNames: []string{"cj"}, Categories: []string{"all"}, HasStatus: true,
		New: func() runtime.Object { return &batchv1.CronJob{} }, NewList: func() runtime.Object { return &batchv1.CronJobList{} },

		Validate:             validateCreate(validation.ValidateCronJob),
		ValidateUpdate:       validateUpdate(validation.ValidateCronJobUpdate),
		ValidateStatusUpdate: validateUpdate(validation.ValidateCronJobStatusUpdate),
		Default:              defaulter(defaults.CronJob),
		Printer:              printers.CronJob,
	}
}
