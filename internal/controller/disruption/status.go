package disruption

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	podutil "k8s.io/kubectl/pkg/util/podutils"
)

// DeletionTimeout is how long an admitted eviction keeps its pod out of
// currentHealthy before the pod is expected to be terminating (kube's
// DeletionTimeout).
const DeletionTimeout = 2 * time.Minute

// scaleFunc returns the scale (spec.replicas) and UID of the controller a
// pod's controller reference names, found false when no such controller
// exists.
type scaleFunc func(namespace string, ref *metav1.OwnerReference) (uid types.UID, scale int32, found bool, err error)

// computed is a budget's status as computed from its pods, and what the
// controller reports beside it.
type computed struct {
	status policyv1.PodDisruptionBudgetStatus
	// unmanaged are matching pods without a controller, left out of a
	// scale-based expectedPods.
	unmanaged []string
	// expired are pods whose disruptedPods entry timed out while the pod
	// was not deleted.
	expired []string
	// recheck is when the earliest disruptedPods entry expires (zero: none).
	recheck time.Time
}

// computeStatus computes pdb's status from the pods its selector matches
// at now, as kube 1.37's disruption controller does. The conditions are
// pdb's with DisruptionAllowed set for the result.
func computeStatus(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, scale scaleFunc, now time.Time) (computed, error) {
	var c computed
	expected, desired, unmanaged, err := expectedPods(pdb, pods, scale)
	if err != nil {
		return c, err
	}
	c.unmanaged = unmanaged

	disrupted := map[string]metav1.Time{}
	for _, pod := range pods {
		t, listed := pdb.Status.DisruptedPods[pod.Name]
		if !listed || pod.DeletionTimestamp != nil {
			continue
		}
		due := t.Add(DeletionTimeout)
		if due.Before(now) {
			c.expired = append(c.expired, pod.Name)
			continue
		}
		disrupted[pod.Name] = t
		if c.recheck.IsZero() || due.Before(c.recheck) {
			c.recheck = due
		}
	}
	if pdb.Status.DisruptedPods == nil {
		disrupted = nil
	}

	var healthy int32
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		if _, ok := disrupted[pod.Name]; ok {
			continue
		}
		if podutil.IsPodReady(pod) {
			healthy++
		}
	}
	allowed := healthy - desired
	if expected <= 0 || allowed <= 0 {
		allowed = 0
	}
	c.status = policyv1.PodDisruptionBudgetStatus{
		ObservedGeneration: pdb.Generation,
		DisruptedPods:      disrupted,
		DisruptionsAllowed: allowed,
		CurrentHealthy:     healthy,
		DesiredHealthy:     desired,
		ExpectedPods:       expected,
		Conditions:         append([]metav1.Condition(nil), pdb.Status.Conditions...),
	}
	cond := metav1.Condition{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
		Reason: policyv1.InsufficientPodsReason, ObservedGeneration: pdb.Generation}
	if allowed > 0 {
		cond.Status, cond.Reason = metav1.ConditionTrue, policyv1.SufficientPodsReason
	}
	setCondition(&c.status, cond, now)
	return c, nil
}

// failedStatus is the status of a budget whose sync failed: no disruption
// allowed, DisruptionAllowed False with reason SyncFailed and the error.
func failedStatus(pdb *policyv1.PodDisruptionBudget, err error, now time.Time) policyv1.PodDisruptionBudgetStatus {
	s := *pdb.Status.DeepCopy()
	s.DisruptionsAllowed = 0
	setCondition(&s, metav1.Condition{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
		Reason: policyv1.SyncFailedReason, Message: err.Error(), ObservedGeneration: s.ObservedGeneration}, now)
	return s
}

// setCondition sets cond in s; its transition time is now when its status
// changes, and kept otherwise.
func setCondition(s *policyv1.PodDisruptionBudgetStatus, cond metav1.Condition, now time.Time) {
	cond.LastTransitionTime = metav1.NewTime(now)
	apimeta.SetStatusCondition(&s.Conditions, cond)
}

// statusEqual reports whether writing next over cur would change nothing
// the controller owns.
func statusEqual(cur, next *policyv1.PodDisruptionBudgetStatus) bool {
	return apiequality.Semantic.DeepEqual(cur, next)
}

// expectedPods returns expectedPods and desiredHealthy (kube's
// getExpectedPodCount) and the pods without a controller.
func expectedPods(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, scale scaleFunc) (expected, desired int32, unmanaged []string, err error) {
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		expected, unmanaged, err = expectedScale(pods, scale)
		if err != nil {
			return 0, 0, nil, err
		}
		maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return 0, 0, nil, err
		}
		desired = max(expected-int32(maxUnavailable), 0)
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type == intstr.Int:
		desired = pdb.Spec.MinAvailable.IntVal
		expected = int32(len(pods))
	case pdb.Spec.MinAvailable != nil:
		expected, unmanaged, err = expectedScale(pods, scale)
		if err != nil {
			return 0, 0, nil, err
		}
		minAvailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(expected), true)
		if err != nil {
			return 0, 0, nil, err
		}
		desired = int32(minAvailable)
	}
	return expected, desired, unmanaged, nil
}

// expectedScale sums the scales of the pods' controllers, each counted
// once; pods without a controller are returned, a controller that cannot be
// found fails.
func expectedScale(pods []*corev1.Pod, scale scaleFunc) (int32, []string, error) {
	scales := map[types.UID]int32{}
	var unmanaged []string
	for _, pod := range pods {
		ref := metav1.GetControllerOf(pod)
		if ref == nil {
			unmanaged = append(unmanaged, pod.Name)
			continue
		}
		if _, seen := scales[ref.UID]; seen {
			continue
		}
		uid, n, found, err := scale(pod.Namespace, ref)
		if err != nil {
			return 0, nil, err
		}
		if !found {
			return 0, nil, fmt.Errorf("found no controllers for pod %q", pod.Name)
		}
		scales[uid] = n
	}
	var sum int32
	for _, n := range scales {
		sum += n
	}
	return sum, unmanaged, nil
}
