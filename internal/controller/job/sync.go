package job

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"petset/internal/batchindex"
	"petset/internal/controller/runner"
	"petset/internal/logging"
)

const (
	// Pod failure back-off: new pods wait initialBackoff after the first
	// failure, doubling per failure, at most maxBackoff (kube's
	// DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff).
	initialBackoff = 10 * time.Second
	maxBackoff     = 10 * time.Minute
	// maxCreatesPerSync bounds the pods one reconcile creates.
	maxCreatesPerSync = 500
	indexKey          = batchv1.JobCompletionIndexAnnotation
	indexEnv          = "JOB_COMPLETION_INDEX"
)

// state is what one reconcile learned from the job's pods.
type state struct {
	active      []*corev1.Pod // neither terminal nor being deleted
	ready       int32
	terminating int32
	// failedAt is when the newest failed pod failed (zero if none is listed).
	failedAt time.Time
	// finalize are the pods counted or to count whose finalizer is still on.
	finalize []*corev1.Pod
	listed   map[types.UID]*corev1.Pod
}

// sync runs a job that has not finished; job is a copy it may change.
func (c *Controller) sync(ctx context.Context, job *batchv1.Job, pods []*corev1.Pod) (runner.Result, error) {
	now := c.clock.Now()
	st := &job.Status
	old := st.DeepCopy()
	if st.UncountedTerminatedPods == nil {
		st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	suspended := ptr.Deref(job.Spec.Suspend, false)
	if suspended {
		if setCondition(st, batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended", now) {
			c.recorder.Event(job, corev1.EventTypeNormal, "Suspended", "Job suspended")
		}
	} else if conditionStatus(st, batchv1.JobSuspended) == corev1.ConditionTrue {
		setCondition(st, batchv1.JobSuspended, corev1.ConditionFalse, "JobResumed", "Job resumed", now)
		c.recorder.Event(job, corev1.EventTypeNormal, "Resumed", "Job resumed")
		st.StartTime = &metav1.Time{Time: now}
	}
	if st.StartTime == nil && !suspended {
		st.StartTime = &metav1.Time{Time: now}
	}

	key := job.Namespace + "/" + job.Name
	s := classify(job, pods, c.expect.isReleased)
	indexed := isIndexed(job)
	completed := completedIndexes(job)
	succeeded := st.Succeeded + int32(len(st.UncountedTerminatedPods.Succeeded))
	if indexed {
		succeeded = int32(len(completed))
	}
	failed := st.Failed + int32(len(st.UncountedTerminatedPods.Failed))

	var requeue time.Duration // 0: none
	finishing := finishingCondition(st)
	if finishing == nil {
		switch {
		case failed > ptr.Deref(job.Spec.BackoffLimit, 6) || pastBackoffLimitOnFailure(job, s.active):
			finishing = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit", now)
		case !suspended && job.Spec.ActiveDeadlineSeconds != nil:
			left := time.Duration(*job.Spec.ActiveDeadlineSeconds)*time.Second - now.Sub(st.StartTime.Time)
			if left <= 0 {
				finishing = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, "Job was active longer than specified deadline", now)
			} else {
				requeue = left
			}
		}
	}
	if finishing == nil && succeededEnough(job, succeeded, len(s.active)) {
		finishing = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, "Reached expected number of succeeded pods", now)
	}
	if finishing != nil && conditionStatus(st, finishing.Type) != corev1.ConditionTrue {
		st.Conditions = append(st.Conditions, *finishing)
	}

	var manageErr error
	switch {
	case !c.expect.satisfied(key, now):
		// The cache does not show all this controller did yet; the pod
		// events that will show it requeue the job.
	case finishing != nil || suspended:
		deleted, err := c.deletePods(ctx, job, s.active)
		manageErr = err
		s.terminating += deleted
		s.active, s.ready = s.active[deleted:], 0
	default:
		var wait time.Duration
		wait, manageErr = c.manage(ctx, job, s, succeeded, failed, completed)
		if wait > 0 && (requeue == 0 || wait < requeue) {
			requeue = wait
		}
	}

	st.Active, st.Ready, st.Terminating = int32(len(s.active)), ptr.To(s.ready), ptr.To(s.terminating)
	if indexed {
		st.CompletedIndexes = batchindex.Format(completed)
		st.Succeeded = int32(len(completed))
	}
	job, err := c.writeStatus(ctx, job, old)
	if err != nil {
		return runner.Done, err
	}
	if err := c.removeFinalizers(ctx, s.finalize); err != nil {
		return runner.Done, err
	}
	// Every finalizer is off: the uncounted pods are counted.
	old = job.Status.DeepCopy()
	st = &job.Status
	st.Failed += int32(len(st.UncountedTerminatedPods.Failed))
	if !indexed {
		st.Succeeded += int32(len(st.UncountedTerminatedPods.Succeeded))
	}
	st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	if finishing != nil && s.terminating == 0 && st.Active == 0 {
		c.finish(job, finishing, now)
		requeue = 0
	}
	if _, err := c.writeStatus(ctx, job, old); err != nil {
		return runner.Done, err
	}
	if manageErr != nil {
		return runner.Done, manageErr
	}
	logging.FromContext(ctx).Debug("synced", "active", st.Active, "succeeded", st.Succeeded, "failed", st.Failed)
	if requeue > 0 {
		return runner.RequeueAfter(requeue), nil
	}
	return runner.Done, nil
}

// classify sorts the job's pods, putting each newly terminated pod that
// still carries the finalizer into status.uncountedTerminatedPods (and an
// Indexed job's succeeded index into completedIndexes).
// A pod whose finalizer this controller removed counts as without it.
func classify(job *batchv1.Job, pods []*corev1.Pod, released func(types.UID) bool) *state {
	s := &state{listed: map[types.UID]*corev1.Pod{}}
	u := job.Status.UncountedTerminatedPods
	uncounted := map[types.UID]bool{}
	for _, uid := range append(append([]types.UID(nil), u.Succeeded...), u.Failed...) {
		uncounted[uid] = true
	}
	onlyFailed := ptr.Deref(job.Spec.PodReplacementPolicy, batchv1.TerminatingOrFailed) == batchv1.Failed
	var completed []int32
	sort.Slice(pods, func(i, j int) bool { return pods[i].CreationTimestamp.Before(&pods[j].CreationTimestamp) })
	for _, p := range pods {
		s.listed[p.UID] = p
		succeeded := p.Status.Phase == corev1.PodSucceeded
		failed := p.Status.Phase == corev1.PodFailed || (!onlyFailed && p.DeletionTimestamp != nil && !succeeded)
		if p.DeletionTimestamp != nil && !succeeded && p.Status.Phase != corev1.PodFailed {
			s.terminating++
		}
		if failed {
			if t := failedTime(p); t.After(s.failedAt) {
				s.failedAt = t
			}
		}
		switch {
		case succeeded || failed:
			if !hasFinalizer(p) || released(p.UID) {
				continue
			}
			s.finalize = append(s.finalize, p)
			if uncounted[p.UID] {
				continue
			}
			if succeeded {
				u.Succeeded = append(u.Succeeded, p.UID)
				if i, ok := podIndex(p); ok && isIndexed(job) && i < ptr.Deref(job.Spec.Completions, 0) {
					completed = append(completed, i)
				}
			} else {
				u.Failed = append(u.Failed, p.UID)
			}
		case p.DeletionTimestamp != nil:
		default:
			s.active = append(s.active, p)
			if podReady(p) {
				s.ready++
			}
		}
	}
	if len(completed) > 0 {
		prev, _ := batchindex.Parse(job.Status.CompletedIndexes, ptr.Deref(job.Spec.Completions, 0))
		job.Status.CompletedIndexes = batchindex.Format(append(prev, completed...))
	}
	return s
}

// manage creates and deletes pods so the job runs as many as it should. It
// returns how long new pods wait for the failure back-off (0: none waits).
func (c *Controller) manage(ctx context.Context, job *batchv1.Job, s *state, succeeded, failed int32, completed []int32) (time.Duration, error) {
	parallelism := ptr.Deref(job.Spec.Parallelism, 1)
	busy := int32(len(s.active))
	if ptr.Deref(job.Spec.PodReplacementPolicy, batchv1.TerminatingOrFailed) == batchv1.Failed {
		busy += s.terminating
	}
	want := parallelism
	switch completions := job.Spec.Completions; {
	case completions != nil:
		want = min(want, max(*completions-succeeded, 0))
	case succeeded > 0:
		want = int32(len(s.active))
	}

	var excess []*corev1.Pod
	var indexes []int32
	if isIndexed(job) {
		excess, indexes = indexedPlan(job, s.active, completed)
	}
	if keep := int32(len(s.active) - len(excess)); keep > want {
		// The newest go first.
		rest := without(s.active, excess)
		excess = append(excess, rest[len(rest)-int(keep-want):]...)
	}
	if len(excess) > 0 {
		deleted, err := c.deletePods(ctx, job, excess)
		s.terminating += deleted
		s.active = without(s.active, excess[:deleted])
		s.ready = countReady(s.active)
		return 0, err
	}

	create := min(want-busy, maxCreatesPerSync)
	if create <= 0 {
		return 0, nil
	}
	if wait := backoffLeft(failed, s.failedAt, c.clock.Now()); wait > 0 {
		return wait, nil
	}
	if isIndexed(job) {
		create = min(create, int32(len(indexes)))
	}
	// Expected before the first create: its event may come before the loop ends.
	key := job.Namespace + "/" + job.Name
	c.expect.expect(key, int(create), 0, c.clock.Now())
	var firstErr error
	for i := int32(0); i < create; i++ {
		index := int32(-1)
		if isIndexed(job) {
			index = indexes[i]
		}
		pod, err := c.client.CoreV1().Pods(job.Namespace).Create(ctx, newPod(job, index), metav1.CreateOptions{})
		if err != nil {
			c.recorder.Eventf(job, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
			firstErr = fmt.Errorf("create pod: %w", err)
			for ; i < create; i++ {
				c.expect.observed(key, true) // never coming
			}
			break
		}
		c.recorder.Eventf(job, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", pod.Name)
		s.active = append(s.active, pod)
	}
	return 0, firstErr
}

// indexedPlan returns the active pods of an Indexed job to delete (no
// valid index, an index already completed or held by an older pod) and the
// missing indexes to start, lowest first.
func indexedPlan(job *batchv1.Job, active []*corev1.Pod, completed []int32) (excess []*corev1.Pod, missing []int32) {
	completions := ptr.Deref(job.Spec.Completions, 0)
	held := map[int32]bool{}
	for _, i := range completed {
		held[i] = true
	}
	running := map[int32]bool{}
	for _, p := range active {
		i, ok := podIndex(p)
		if !ok || i >= completions || held[i] || running[i] {
			excess = append(excess, p)
			continue
		}
		running[i] = true
	}
	for i := int32(0); i < completions; i++ {
		if !held[i] && !running[i] {
			missing = append(missing, i)
		}
	}
	return excess, missing
}

// newPod is a pod of the job from its template; index ≥ 0 for an Indexed job.
func newPod(job *batchv1.Job, index int32) *corev1.Pod {
	t := job.Spec.Template.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: job.Name + "-", Namespace: job.Namespace,
			Labels: t.Labels, Annotations: t.Annotations,
			Finalizers:      append(t.Finalizers, trackingFinalizer),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))},
		},
		Spec: t.Spec,
	}
	if index < 0 {
		return pod
	}
	idx := strconv.Itoa(int(index))
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Labels[indexKey], pod.Annotations[indexKey] = idx, idx
	pod.GenerateName = fmt.Sprintf("%s-%d-", job.Name, index)
	if pod.Spec.Hostname == "" {
		pod.Spec.Hostname = fmt.Sprintf("%s-%d", job.Name, index)
	}
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			addIndexEnv(&list[i])
		}
	}
	return pod
}

func addIndexEnv(c *corev1.Container) {
	for _, e := range c.Env {
		if e.Name == indexEnv {
			return
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: indexEnv, ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: fmt.Sprintf("metadata.labels['%s']", indexKey)}}})
}

// deletePods deletes pods in order, their finalizers kept; it returns how
// many it deleted before the first error.
func (c *Controller) deletePods(ctx context.Context, job *batchv1.Job, pods []*corev1.Pod) (int32, error) {
	key := job.Namespace + "/" + job.Name
	c.expect.expect(key, 0, len(pods), c.clock.Now())
	for i, p := range pods {
		err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
		if apierrors.IsNotFound(err) {
			c.expect.observed(key, false) // gone already: no event to wait for
			continue
		}
		if err != nil {
			c.recorder.Eventf(job, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
			for range pods[i:] {
				c.expect.observed(key, false)
			}
			return int32(i), fmt.Errorf("delete pod %s: %w", p.Name, err)
		}
		c.recorder.Eventf(job, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
	}
	return int32(len(pods)), nil
}

// removeFinalizers takes the tracking finalizer off pods.
func (c *Controller) removeFinalizers(ctx context.Context, pods []*corev1.Pod) error {
	patch := []byte(fmt.Sprintf(`{"metadata":{"$deleteFromPrimitiveList/finalizers":[%q]}}`, trackingFinalizer))
	for _, p := range pods {
		if !hasFinalizer(p) {
			continue
		}
		_, err := c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("remove finalizer of pod %s: %w", p.Name, err)
		}
		c.expect.release(p.UID)
	}
	return nil
}

// writeStatus writes job's status if it differs from old and returns the
// job as stored.
func (c *Controller) writeStatus(ctx context.Context, job *batchv1.Job, old *batchv1.JobStatus) (*batchv1.Job, error) {
	if apiequality.Semantic.DeepEqual(&job.Status, old) {
		return job, nil
	}
	updated, err := c.client.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update status: %w", err)
	}
	return updated, nil
}

// finish turns FailureTarget into Failed and SuccessCriteriaMet into
// Complete (with completionTime), and records the event.
func (c *Controller) finish(job *batchv1.Job, target *batchv1.JobCondition, now time.Time) {
	st := &job.Status
	if target.Type == batchv1.JobSuccessCriteriaMet {
		setCondition(st, batchv1.JobComplete, corev1.ConditionTrue, target.Reason, target.Message, now)
		st.CompletionTime = &metav1.Time{Time: now}
		if n := job.Spec.Completions; n != nil && st.Succeeded > *n {
			c.recorder.Event(job, corev1.EventTypeWarning, "TooManySucceededPods", "Too many succeeded pods running after completion count reached")
		}
		c.recorder.Event(job, corev1.EventTypeNormal, "Completed", "Job completed")
		return
	}
	setCondition(st, batchv1.JobFailed, corev1.ConditionTrue, target.Reason, target.Message, now)
	c.recorder.Event(job, corev1.EventTypeWarning, target.Reason, target.Message)
}

// expire deletes a finished job ttlSecondsAfterFinished after it finished
// (kube's ttl-after-finished controller, foreground deletion).
func (c *Controller) expire(ctx context.Context, job *batchv1.Job) (runner.Result, error) {
	ttl := job.Spec.TTLSecondsAfterFinished
	if ttl == nil || job.DeletionTimestamp != nil {
		return runner.Done, nil
	}
	var at time.Time
	for _, cond := range job.Status.Conditions {
		if (cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed) && cond.Status == corev1.ConditionTrue {
			at = cond.LastTransitionTime.Time
		}
	}
	if left := at.Add(time.Duration(*ttl) * time.Second).Sub(c.clock.Now()); left > 0 {
		return runner.RequeueAfter(left), nil
	}
	policy := metav1.DeletePropagationForeground
	err := c.client.BatchV1().Jobs(job.Namespace).Delete(ctx, job.Name, metav1.DeleteOptions{
		PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &job.UID, ResourceVersion: &job.ResourceVersion}})
	if err != nil && !apierrors.IsNotFound(err) {
		return runner.Done, fmt.Errorf("delete expired job: %w", err)
	}
	logging.FromContext(ctx).Info("deleted a finished job whose ttlSecondsAfterFinished passed")
	return runner.Done, nil
}
