package cronjob

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"petset/internal/controller/runner"
	"petset/internal/logging"
)

// nextScheduleDelta is added to the wait for the next schedule time so the
// reconcile runs just after it (upstream's nextScheduleDelta).
const nextScheduleDelta = 100 * time.Millisecond

// Controller runs CronJobs.
type Controller struct {
	client   kubernetes.Interface
	cronJobs batchlisters.CronJobLister
	jobs     batchlisters.JobLister
	recorder record.EventRecorder
	clock    clock.Clock
	runner   *runner.Runner[string]
}

// New wires the controller; clk nil is the real clock.
func New(client kubernetes.Interface, cronJobs batchinformers.CronJobInformer, jobs batchinformers.JobInformer,
	recorder record.EventRecorder, clk clock.Clock, workers int) *Controller {
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Controller{client: client, cronJobs: cronJobs.Lister(), jobs: jobs.Lister(), recorder: recorder, clock: clk}
	c.runner = runner.New(runner.Config[string]{
		Name:      "cronjob",
		Workers:   workers,
		Reconcile: c.reconcile,
		Synced:    []cache.InformerSynced{cronJobs.Informer().HasSynced, jobs.Informer().HasSynced},
		LogAttrs:  func(key string) []any { return []any{"cronjob", key} },
	})
	enqueue := func(obj any) {
		if key, ok := runner.ObjectKey(obj); ok {
			c.runner.Enqueue(key)
		}
	}
	_, _ = cronJobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	jobChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if j, ok := obj.(*batchv1.Job); ok {
			if ref := metav1.GetControllerOf(j); ref != nil && ref.Kind == "CronJob" {
				c.runner.Enqueue(j.Namespace + "/" + ref.Name)
			}
		}
	}
	_, _ = jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    jobChanged,
		UpdateFunc: func(_, obj any) { jobChanged(obj) },
		DeleteFunc: jobChanged,
	})
	return c
}

// Run runs the CronJobs until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Ready is closed once the caches have synced and the controller works.
func (c *Controller) Ready() <-chan struct{} { return c.runner.Ready() }

func (c *Controller) reconcile(ctx context.Context, key string) (runner.Result, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return runner.Done, runner.Terminal(err)
	}
	cached, err := c.cronJobs.CronJobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return runner.Done, nil
	}
	if err != nil {
		return runner.Done, err
	}
	cj := cached.DeepCopy()
	all, err := c.jobs.Jobs(ns).List(labels.Everything())
	if err != nil {
		return runner.Done, fmt.Errorf("list jobs: %w", err)
	}
	var children []*batchv1.Job
	for _, j := range all {
		if ref := metav1.GetControllerOf(j); ref != nil && ref.UID == cj.UID {
			children = append(children, j)
		}
	}
	c.trackActive(cj, children)
	wait, syncErr := c.schedule(ctx, cj, children)
	if !apiequality.Semantic.DeepEqual(cj.Status, cached.Status) {
		if _, err := c.client.BatchV1().CronJobs(ns).UpdateStatus(ctx, cj, metav1.UpdateOptions{}); err != nil {
			return runner.Done, fmt.Errorf("update status: %w", err)
		}
	}
	if err := c.cleanupHistory(ctx, cj, children); err != nil {
		return runner.Done, err
	}
	if syncErr != nil {
		return runner.Done, syncErr
	}
	if wait > 0 {
		return runner.RequeueAfter(wait), nil
	}
	return runner.Done, nil
}

// trackActive drops from status.active the jobs that finished or are gone
// and moves lastSuccessfulTime to the newest completion.
func (c *Controller) trackActive(cj *batchv1.CronJob, children []*batchv1.Job) {
	byUID := map[string]*batchv1.Job{}
	for _, j := range children {
		byUID[string(j.UID)] = j
		done, complete := finished(j)
		if !done {
			if !inActive(cj, j) {
				c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Name)
			}
			continue
		}
		if inActive(cj, j) {
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %s", j.Name, map[bool]string{true: "Complete", false: "Failed"}[complete])
		}
		if complete && j.Status.CompletionTime != nil && (cj.Status.LastSuccessfulTime == nil || cj.Status.LastSuccessfulTime.Before(j.Status.CompletionTime)) {
			cj.Status.LastSuccessfulTime = j.Status.CompletionTime.DeepCopy()
		}
	}
	var active []corev1.ObjectReference
	for _, ref := range cj.Status.Active {
		if j, ok := byUID[string(ref.UID)]; ok {
			if done, _ := finished(j); done {
				continue
			}
			active = append(active, ref)
		} else if _, err := c.jobs.Jobs(cj.Namespace).Get(ref.Name); err == nil {
			active = append(active, ref) // the cache may not show its owner yet
		}
	}
	cj.Status.Active = active
}

// schedule creates the job of the most recent unmet schedule time and
// returns how long until the next one.
func (c *Controller) schedule(ctx context.Context, cj *batchv1.CronJob, children []*batchv1.Job) (time.Duration, error) {
	if cj.DeletionTimestamp != nil || ptr.Deref(cj.Spec.Suspend, false) {
		return 0, nil
	}
	sched, err := parse(cj)
	if err != nil {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return 0, runner.Terminal(fmt.Errorf("schedule: %w", err))
	}
	now := c.clock.Now()
	next := sched.Next(now).Add(nextScheduleDelta).Sub(now)
	scheduled, missed := mostRecent(cj, sched, now)
	if scheduled.IsZero() {
		return next, nil
	}
	if missed > 100 {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "TooManyMissedTimes", "too many missed start times: %d. Set or decrease .spec.startingDeadlineSeconds or check clock skew", missed)
	}
	if sds := cj.Spec.StartingDeadlineSeconds; sds != nil && scheduled.Add(time.Duration(*sds)*time.Second).Before(now) {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))
		return next, nil
	}
	name := jobName(cj, scheduled)
	for _, j := range children {
		if j.Name == name {
			return next, nil // this time has its job
		}
	}
	if len(cj.Status.Active) > 0 {
		switch cj.Spec.ConcurrencyPolicy {
		case batchv1.ForbidConcurrent:
			logging.FromContext(ctx).Debug("not starting a job: one is still active and concurrencyPolicy is Forbid")
			return next, nil
		case batchv1.ReplaceConcurrent:
			for _, ref := range cj.Status.Active {
				if err := c.deleteJob(ctx, cj, ref.Name); err != nil {
					return 0, err
				}
			}
			cj.Status.Active = nil
		}
	}
	job, err := c.client.BatchV1().Jobs(cj.Namespace).Create(ctx, newJob(cj, name, scheduled), metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		return next, nil
	case err != nil:
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return 0, fmt.Errorf("create job: %w", err)
	}
	c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", job.Name)
	cj.Status.Active = append(cj.Status.Active, corev1.ObjectReference{Kind: "Job", Namespace: job.Namespace, Name: job.Name,
		UID: job.UID, APIVersion: batchv1.SchemeGroupVersion.String(), ResourceVersion: job.ResourceVersion})
	cj.Status.LastScheduleTime = &metav1.Time{Time: scheduled}
	return next, nil
}

// parse reads the schedule in the CronJob's time zone.
func parse(cj *batchv1.CronJob) (cron.Schedule, error) {
	s := cj.Spec.Schedule
	if tz := cj.Spec.TimeZone; tz != nil {
		s = "TZ=" + *tz + " " + s
	}
	return cron.ParseStandard(s)
}

// mostRecent is the latest schedule time in (start, now] and how many
// there were, start being lastScheduleTime or the creation time, and no
// earlier than startingDeadlineSeconds before now; zero if none.
func mostRecent(cj *batchv1.CronJob, sched cron.Schedule, now time.Time) (time.Time, int) {
	start := cj.CreationTimestamp.Time
	if t := cj.Status.LastScheduleTime; t != nil {
		start = t.Time
	}
	if sds := cj.Spec.StartingDeadlineSeconds; sds != nil {
		if earliest := now.Add(-time.Duration(*sds) * time.Second); earliest.After(start) {
			start = earliest
		}
	}
	var last time.Time
	n := 0
	for t := sched.Next(start); !t.IsZero() && !t.After(now); t = sched.Next(t) {
		last = t
		n++
	}
	return last, n
}

// jobName is <cronjob>-<minutes since the epoch of the schedule time>.
func jobName(cj *batchv1.CronJob, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, scheduled.Unix()/60)
}

func newJob(cj *batchv1.CronJob, name string, scheduled time.Time) *batchv1.Job {
	t := cj.Spec.JobTemplate.DeepCopy()
	annotations := t.Annotations
	if annotations == nil {
		annotations = map[string]string{}
	}
	at := scheduled
	if tz := cj.Spec.TimeZone; tz != nil {
		if loc, err := time.LoadLocation(*tz); err == nil {
			at = at.In(loc)
		}
	}
	annotations[batchv1.CronJobScheduledTimestampAnnotation] = at.Format(time.RFC3339)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: cj.Namespace, Labels: t.Labels, Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))},
		},
		Spec: t.Spec,
	}
}

func (c *Controller) deleteJob(ctx context.Context, cj *batchv1.CronJob, name string) error {
	policy := metav1.DeletePropagationBackground
	err := c.client.BatchV1().Jobs(cj.Namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy})
	if err != nil && !apierrors.IsNotFound(err) {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedDelete", "Deleted job: %v", err)
		return fmt.Errorf("delete job %s: %w", name, err)
	}
	c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", name)
	return nil
}

// cleanupHistory deletes the oldest finished jobs beyond the history limits.
func (c *Controller) cleanupHistory(ctx context.Context, cj *batchv1.CronJob, children []*batchv1.Job) error {
	var succeeded, failed []*batchv1.Job
	for _, j := range children {
		if done, complete := finished(j); done && complete {
			succeeded = append(succeeded, j)
		} else if done {
			failed = append(failed, j)
		}
	}
	for _, h := range []struct {
		jobs  []*batchv1.Job
		limit *int32
	}{{succeeded, cj.Spec.SuccessfulJobsHistoryLimit}, {failed, cj.Spec.FailedJobsHistoryLimit}} {
		if h.limit == nil || len(h.jobs) <= int(*h.limit) {
			continue
		}
		sort.Slice(h.jobs, func(i, j int) bool { return startTime(h.jobs[i]).Before(startTime(h.jobs[j])) })
		for _, j := range h.jobs[:len(h.jobs)-int(*h.limit)] {
			if err := c.deleteJob(ctx, cj, j.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func startTime(j *batchv1.Job) time.Time {
	if j.Status.StartTime != nil {
		return j.Status.StartTime.Time
	}
	return j.CreationTimestamp.Time
}

// finished reports whether a job is Complete or Failed, and which.
func finished(j *batchv1.Job) (done, complete bool) {
	for _, c := range j.Status.Conditions {
		if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
			return true, c.Type == batchv1.JobComplete
		}
	}
	return false, false
}

func inActive(cj *batchv1.CronJob, j *batchv1.Job) bool {
	for _, ref := range cj.Status.Active {
		if ref.UID == j.UID {
			return true
		}
	}
	return false
}
