// Package cronjob is the cronjob controller: it creates each batch/v1
// CronJob's Jobs on its schedule as kube-controller-manager's cronjob
// controller (v2) does (its semantics, petset's code).
//
// Schedules are parsed by github.com/robfig/cron/v3's standard parser, as
// upstream: five fields or a descriptor (@hourly, @every 90m, …), in
// spec.timeZone when set (else the server's zone). Each reconcile: the
// status's active list drops jobs that finished or are gone
// (lastSuccessfulTime from the newest Complete one); a suspended or
// deleted CronJob stops there. The most recent schedule time since
// lastScheduleTime (or creation, and no earlier than startingDeadlineSeconds
// ago) that has no job yet gets one, named <cronjob>-<minutes since the
// epoch>, from spec.jobTemplate with the annotation
// batch.kubernetes.io/cronjob-scheduled-timestamp, unless
// concurrencyPolicy Forbid finds a job active (Replace deletes the active
// ones first) or the time is past startingDeadlineSeconds (MissSchedule).
// Finished jobs beyond successfulJobsHistoryLimit and
// failedJobsHistoryLimit are deleted, oldest first. The CronJob is queued
// again for its next schedule time on the controller's clock.
//
// A job created by hand from a CronJob (kubectl create job --from=cronjob/x)
// is owned by it and counted in its history but, as upstream, not added to
// its active list (event UnexpectedJob).
package cronjob
