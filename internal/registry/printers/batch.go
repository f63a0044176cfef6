package printers

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

var (
	jobSpecDoc      = batchv1.JobSpec{}.SwaggerDoc()
	cronJobSpecDoc  = batchv1.CronJobSpec{}.SwaggerDoc()
	templateColumns = []metav1.TableColumnDefinition{
		{Name: "Containers", Type: "string", Priority: 1, Description: containersDesc},
		{Name: "Images", Type: "string", Priority: 1, Description: imagesDesc},
		{Name: "Selector", Type: "string", Priority: 1, Description: jobSpecDoc["selector"]},
	}
)

// Job is kube's table of Job objects: its columns and rows.
var Job = Printer{
	columns: append([]metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Status", Type: "string", Description: "Status of the job."},
		{Name: "Completions", Type: "string", Description: batchv1.JobStatus{}.SwaggerDoc()["succeeded"]},
		{Name: "Duration", Type: "string", Description: "Time required to complete the job."},
		ageColumn,
	}, templateColumns...),
	row: rowFunc(jobRow),
}

// jobRow: STATUS is the first of Complete, Failed, Terminating (deleted),
// Suspended, FailureTarget, SuccessCriteriaMet that holds, else Running;
// COMPLETIONS succeeded/completions ("n/1 of p" for a work queue with
// parallelism above 1); DURATION from startTime to completionTime or now.
func jobRow(job *batchv1.Job, now time.Time) (metav1.TableRow, error) {
	var completions string
	switch p := job.Spec.Parallelism; {
	case job.Spec.Completions != nil:
		completions = fmt.Sprintf("%d/%d", job.Status.Succeeded, *job.Spec.Completions)
	case p != nil && *p > 1:
		completions = fmt.Sprintf("%d/1 of %d", job.Status.Succeeded, *p)
	default:
		completions = fmt.Sprintf("%d/1", job.Status.Succeeded)
	}
	var took string
	switch s := job.Status; {
	case s.StartTime == nil:
	case s.CompletionTime == nil:
		took = duration.HumanDuration(now.Sub(s.StartTime.Time))
	default:
		took = duration.HumanDuration(s.CompletionTime.Sub(s.StartTime.Time))
	}
	status := "Running"
	has := func(t batchv1.JobConditionType) bool {
		for _, c := range job.Status.Conditions {
			if c.Type == t && c.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	}
	switch {
	case has(batchv1.JobComplete):
		status = "Complete"
	case has(batchv1.JobFailed):
		status = "Failed"
	case job.DeletionTimestamp != nil:
		status = "Terminating"
	case has(batchv1.JobSuspended):
		status = "Suspended"
	case has(batchv1.JobFailureTarget):
		status = "FailureTarget"
	case has(batchv1.JobSuccessCriteriaMet):
		status = "SuccessCriteriaMet"
	}
	names, images := containerCells(job.Spec.Template.Spec.Containers)
	return metav1.TableRow{Cells: []any{
		job.Name, status, completions, took, since(job.CreationTimestamp, now),
		names, images, metav1.FormatLabelSelector(job.Spec.Selector),
	}}, nil
}

// CronJob is kube's table of CronJob objects: its columns and rows.
var CronJob = Printer{
	columns: append([]metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Schedule", Type: "string", Description: cronJobSpecDoc["schedule"]},
		{Name: "Timezone", Type: "string", Description: cronJobSpecDoc["timeZone"]},
		{Name: "Suspend", Type: "boolean", Description: cronJobSpecDoc["suspend"]},
		{Name: "Active", Type: "integer", Description: batchv1.CronJobStatus{}.SwaggerDoc()["active"]},
		{Name: "Last Schedule", Type: "string", Description: batchv1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]},
		ageColumn,
	}, templateColumns...),
	row: rowFunc(cronJobRow),
}

// cronJobRow: TIMEZONE and LAST SCHEDULE "<none>" when unset, SUSPEND
// "True"/"False" ("<unset>" when nil), ACTIVE the number of active jobs.
func cronJobRow(cj *batchv1.CronJob, now time.Time) (metav1.TableRow, error) {
	last, tz, suspend := "<none>", "<none>", "<unset>"
	if cj.Status.LastScheduleTime != nil {
		last = since(*cj.Status.LastScheduleTime, now)
	}
	if cj.Spec.TimeZone != nil {
		tz = *cj.Spec.TimeZone
	}
	if cj.Spec.Suspend != nil {
		suspend = "False"
		if *cj.Spec.Suspend {
			suspend = "True"
		}
	}
	names, images := containerCells(cj.Spec.JobTemplate.Spec.Template.Spec.Containers)
	return metav1.TableRow{Cells: []any{
		cj.Name, cj.Spec.Schedule, tz, suspend, int64(len(cj.Status.Active)), last, since(cj.CreationTimestamp, now),
		names, images, metav1.FormatLabelSelector(cj.Spec.JobTemplate.Spec.Selector),
	}}, nil
}
