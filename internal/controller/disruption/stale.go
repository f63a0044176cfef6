package disruption

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"

	"petset/internal/controller/runner"
)

// StalePodDisruptionTimeout is how long a pod may carry DisruptionTarget=True
// without being deleted before the condition is reset to False (kube's
// stalePodDisruptionTimeout).
const StalePodDisruptionTimeout = 2 * time.Minute

// podKeyPrefix marks the runner's keys that name a pod whose
// DisruptionTarget condition may be stale ("pod:<namespace>/<name>"); a
// budget's key is "<namespace>/<name>", and a namespace has no ':'.
const podKeyPrefix = "pod:"

// terminalPhases are the phases of a pod that has finished.
var terminalPhases = sets.New(corev1.PodSucceeded, corev1.PodFailed)

// staleDisruption reports whether pod carries a DisruptionTarget=True
// condition that the cleanup owns — the pod is not terminating, has not
// finished, and the condition was not set by the node for its own
// termination — and how long until it is stale.
func staleDisruption(pod *corev1.Pod, now time.Time) (bool, time.Duration) {
	if pod.DeletionTimestamp != nil || terminalPhases.Has(pod.Status.Phase) {
		return false, 0
	}
	for _, c := range pod.Status.Conditions {
		if c.Type != corev1.DisruptionTarget {
			continue
		}
		if c.Status != corev1.ConditionTrue || c.Reason == corev1.PodReasonTerminationByKubelet {
			return false, 0
		}
		return true, max(StalePodDisruptionTimeout-now.Sub(c.LastTransitionTime.Time), 0)
	}
	return false, 0
}

// enqueueStale schedules the cleanup of pod's DisruptionTarget condition
// for when it becomes stale.
func (c *Controller) enqueueStale(pod *corev1.Pod) {
	if has, after := staleDisruption(pod, c.clock.Now()); has {
		c.runner.EnqueueAfter(podKeyPrefix+pod.Namespace+"/"+pod.Name, after)
	}
}

// resetStale sets a pod's stale DisruptionTarget condition to False, as
// kube's disruption controller does for a pod an eviction (or another
// disruption) marked but that was never deleted.
func (c *Controller) resetStale(ctx context.Context, key string) (runner.Result, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return runner.Done, runner.Terminal(err)
	}
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return runner.Done, nil
	}
	if err != nil {
		return runner.Done, err
	}
	has, after := staleDisruption(pod, c.clock.Now())
	if !has {
		return runner.Done, nil
	}
	if after > 0 {
		return runner.RequeueAfter(after), nil
	}
	next := pod.DeepCopy()
	for i := range next.Status.Conditions {
		if next.Status.Conditions[i].Type == corev1.DisruptionTarget {
			next.Status.Conditions[i] = corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionFalse,
				LastTransitionTime: metav1.NewTime(c.clock.Now())}
		}
	}
	if _, err := c.client.CoreV1().Pods(ns).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return runner.Done, fmt.Errorf("reset stale DisruptionTarget: %w", err)
	}
	return runner.Done, nil
}
