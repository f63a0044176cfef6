package job

import (
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"petset/internal/batchindex"
)

func hasFinalizer(p *corev1.Pod) bool {
	for _, f := range p.Finalizers {
		if f == trackingFinalizer {
			return true
		}
	}
	return false
}

func isIndexed(job *batchv1.Job) bool {
	return ptr.Deref(job.Spec.CompletionMode, batchv1.NonIndexedCompletion) == batchv1.IndexedCompletion
}

// finished: the job has Complete=True or Failed=True.
func finished(job *batchv1.Job) bool {
	return conditionStatus(&job.Status, batchv1.JobComplete) == corev1.ConditionTrue ||
		conditionStatus(&job.Status, batchv1.JobFailed) == corev1.ConditionTrue
}

func conditionStatus(st *batchv1.JobStatus, t batchv1.JobConditionType) corev1.ConditionStatus {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

// finishingCondition is the SuccessCriteriaMet or FailureTarget condition
// an earlier reconcile set, or nil.
func finishingCondition(st *batchv1.JobStatus) *batchv1.JobCondition {
	for i, c := range st.Conditions {
		if (c.Type == batchv1.JobSuccessCriteriaMet || c.Type == batchv1.JobFailureTarget) && c.Status == corev1.ConditionTrue {
			return &st.Conditions[i]
		}
	}
	return nil
}

func newCondition(t batchv1.JobConditionType, reason, message string, now time.Time) *batchv1.JobCondition {
	at := metav1.NewTime(now)
	return &batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message, LastProbeTime: at, LastTransitionTime: at}
}

// setCondition sets condition t and reports whether its status changed
// (the transition time moves only then).
func setCondition(st *batchv1.JobStatus, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) bool {
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != t {
			continue
		}
		if c.Status == status && c.Reason == reason && c.Message == message {
			return false
		}
		changed := c.Status != status
		if changed {
			c.LastTransitionTime = metav1.NewTime(now)
		}
		c.Status, c.Reason, c.Message, c.LastProbeTime = status, reason, message, metav1.NewTime(now)
		return changed
	}
	st.Conditions = append(st.Conditions, *newCondition(t, reason, message, now))
	st.Conditions[len(st.Conditions)-1].Status = status
	return true
}

// completedIndexes are an Indexed job's completed indexes below its
// completions.
func completedIndexes(job *batchv1.Job) []int32 {
	if !isIndexed(job) {
		return nil
	}
	completions := ptr.Deref(job.Spec.Completions, 0)
	var out []int32
	prev, err := batchindex.Parse(job.Status.CompletedIndexes, 1<<31-1)
	if err != nil {
		return nil
	}
	for _, i := range prev {
		if i < completions {
			out = append(out, i)
		}
	}
	return out
}

// succeededEnough: Indexed jobs need every index, other jobs with
// completions that many successes, work queues (completions unset) one
// success with no pod left running.
func succeededEnough(job *batchv1.Job, succeeded int32, active int) bool {
	if c := job.Spec.Completions; c != nil {
		return succeeded >= *c
	}
	return succeeded > 0 && active == 0
}

// pastBackoffLimitOnFailure: for OnFailure pods, the container restarts of
// the running pods reach backoffLimit (any restart when it is 0).
func pastBackoffLimitOnFailure(job *batchv1.Job, active []*corev1.Pod) bool {
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	var restarts int32
	for _, p := range active {
		for _, cs := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			restarts += cs.RestartCount
		}
	}
	limit := ptr.Deref(job.Spec.BackoffLimit, 6)
	if limit == 0 {
		return restarts > 0
	}
	return restarts >= limit
}

// backoffLeft is how long new pods still wait after failed failures, the
// newest at failedAt: 10 s doubling per failure, at most 10 min.
func backoffLeft(failed int32, failedAt, now time.Time) time.Duration {
	if failed == 0 || failedAt.IsZero() {
		return 0
	}
	d := initialBackoff
	for i := int32(1); i < failed && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff) - now.Sub(failedAt)
}

// failedTime is when a pod failed: its containers' last finish, else its
// deletion, else its Ready condition's last change.
func failedTime(p *corev1.Pod) time.Time {
	var t time.Time
	for _, cs := range p.Status.ContainerStatuses {
		if term := cs.State.Terminated; term != nil && term.FinishedAt.After(t) {
			t = term.FinishedAt.Time
		}
	}
	if !t.IsZero() {
		return t
	}
	if p.DeletionTimestamp != nil {
		return p.DeletionTimestamp.Time
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time
		}
	}
	return p.CreationTimestamp.Time
}

func podIndex(p *corev1.Pod) (int32, bool) {
	v, ok := p.Annotations[indexKey]
	if !ok {
		v, ok = p.Labels[indexKey]
	}
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(v, 10, 32)
	return int32(i), err == nil && i >= 0
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func countReady(pods []*corev1.Pod) int32 {
	var n int32
	for _, p := range pods {
		if podReady(p) {
			n++
		}
	}
	return n
}

// without is pods minus drop, in order.
func without(pods, drop []*corev1.Pod) []*corev1.Pod {
	gone := map[*corev1.Pod]bool{}
	for _, p := range drop {
		gone[p] = true
	}
	var out []*corev1.Pod
	for _, p := range pods {
		if !gone[p] {
			out = append(out, p)
		}
	}
	return out
}
