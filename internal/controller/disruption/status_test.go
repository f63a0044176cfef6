package disruption

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

const setUID = types.UID("set-uid")

func pod(name string, ready bool, owned bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "web"}}}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	if owned {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web", UID: setUID, Controller: ptr(true)}}
	}
	return p
}

func ptr[T any](v T) *T { return &v }

func budget(minAvailable, maxUnavailable *intstr.IntOrString) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Generation: 2},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: minAvailable, MaxUnavailable: maxUnavailable,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}
}

// scaleOf is a scaleFunc with one StatefulSet of the given replicas.
func scaleOf(replicas int32) scaleFunc {
	return func(_ string, ref *metav1.OwnerReference) (types.UID, int32, bool, error) {
		if ref.Kind == "StatefulSet" && ref.UID == setUID {
			return setUID, replicas, true, nil
		}
		return "", 0, false, nil
	}
}

func int32p(v int32) *intstr.IntOrString   { x := intstr.FromInt32(v); return &x }
func percent(v string) *intstr.IntOrString { x := intstr.FromString(v); return &x }

// TestComputeStatus: kube 1.37's arithmetic for each way to state a budget.
func TestComputeStatus(t *testing.T) {
	three := []*corev1.Pod{pod("web-0", true, true), pod("web-1", true, true), pod("web-2", true, true)}
	oneNotReady := []*corev1.Pod{pod("web-0", true, true), pod("web-1", true, true), pod("web-2", false, true)}
	terminating := pod("web-2", true, true)
	terminating.DeletionTimestamp = &metav1.Time{Time: now}
	cases := []struct {
		name                                string
		pdb                                 *policyv1.PodDisruptionBudget
		pods                                []*corev1.Pod
		replicas                            int32
		expected, desired, healthy, allowed int32
		reason                              string
		unmanaged                           int
	}{
		{"minAvailable 2 of 3 ready", budget(int32p(2), nil), three, 3, 3, 2, 3, 1, policyv1.SufficientPodsReason, 0},
		{"minAvailable 3 of 3 ready", budget(int32p(3), nil), three, 3, 3, 3, 3, 0, policyv1.InsufficientPodsReason, 0},
		{"minAvailable counts pods, not the scale", budget(int32p(1), nil), three[:2], 5, 2, 1, 2, 1, policyv1.SufficientPodsReason, 0},
		{"minAvailable a not-ready pod", budget(int32p(2), nil), oneNotReady, 3, 3, 2, 2, 0, policyv1.InsufficientPodsReason, 0},
		{"terminating pods are not healthy", budget(int32p(2), nil), []*corev1.Pod{three[0], three[1], terminating}, 3, 3, 2, 2, 0, policyv1.InsufficientPodsReason, 0},
		{"minAvailable 50% rounds up", budget(percent("50%"), nil), three, 3, 3, 2, 3, 1, policyv1.SufficientPodsReason, 0},
		{"minAvailable percent uses the scale", budget(percent("50%"), nil), three[:2], 4, 4, 2, 2, 0, policyv1.InsufficientPodsReason, 0},
		{"maxUnavailable 1", budget(nil, int32p(1)), three, 3, 3, 2, 3, 1, policyv1.SufficientPodsReason, 0},
		{"maxUnavailable 0", budget(nil, int32p(0)), three, 3, 3, 3, 3, 0, policyv1.InsufficientPodsReason, 0},
		{"maxUnavailable 34% rounds up", budget(nil, percent("34%")), three, 3, 3, 1, 3, 2, policyv1.SufficientPodsReason, 0},
		{"maxUnavailable above the scale", budget(nil, int32p(5)), three, 3, 3, 0, 3, 3, policyv1.SufficientPodsReason, 0},
		{"no pods", budget(int32p(1), nil), nil, 3, 0, 1, 0, 0, policyv1.InsufficientPodsReason, 0},
		{"no pods expected allows nothing", budget(nil, int32p(1)), three, 0, 0, 0, 3, 0, policyv1.InsufficientPodsReason, 0},
		{"neither set", budget(nil, nil), three, 3, 0, 0, 3, 0, policyv1.InsufficientPodsReason, 0},
		{"unmanaged pods are left out of the scale", budget(nil, int32p(1)), append([]*corev1.Pod{pod("stray", true, false)}, three...), 3, 3, 2, 4, 2, policyv1.SufficientPodsReason, 1},
		{"unmanaged pods with an integer minAvailable", budget(int32p(1), nil), []*corev1.Pod{pod("a", true, false), pod("b", true, false)}, 0, 2, 1, 2, 1, policyv1.SufficientPodsReason, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := computeStatus(tc.pdb, tc.pods, scaleOf(tc.replicas), now)
			if err != nil {
				t.Fatal(err)
			}
			s := got.status
			if s.ExpectedPods != tc.expected || s.DesiredHealthy != tc.desired || s.CurrentHealthy != tc.healthy || s.DisruptionsAllowed != tc.allowed {
				t.Errorf("expected/desired/healthy/allowed = %d/%d/%d/%d, want %d/%d/%d/%d",
					s.ExpectedPods, s.DesiredHealthy, s.CurrentHealthy, s.DisruptionsAllowed, tc.expected, tc.desired, tc.healthy, tc.allowed)
			}
			if s.ObservedGeneration != 2 {
				t.Errorf("observedGeneration %d, want 2", s.ObservedGeneration)
			}
			c := apimeta.FindStatusCondition(s.Conditions, policyv1.DisruptionAllowedCondition)
			if c == nil || c.Reason != tc.reason || (c.Status == metav1.ConditionTrue) != (tc.allowed > 0) || c.ObservedGeneration != 2 {
				t.Errorf("condition %+v, want reason %s", c, tc.reason)
			}
			if len(got.unmanaged) != tc.unmanaged {
				t.Errorf("unmanaged %v, want %d", got.unmanaged, tc.unmanaged)
			}
		})
	}
}

// TestComputeStatusMissingController: a pod whose controller is not found
// fails the sync with kube's message.
func TestComputeStatusMissingController(t *testing.T) {
	p := pod("web-0", true, true)
	p.OwnerReferences[0].UID = "other"
	_, err := computeStatus(budget(nil, int32p(1)), []*corev1.Pod{p}, scaleOf(3), now)
	if err == nil || err.Error() != `found no controllers for pod "web-0"` {
		t.Fatalf("err = %v", err)
	}
	s := failedStatus(budget(nil, int32p(1)), err, now)
	c := apimeta.FindStatusCondition(s.Conditions, policyv1.DisruptionAllowedCondition)
	if s.DisruptionsAllowed != 0 || c == nil || c.Reason != policyv1.SyncFailedReason || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "web-0") {
		t.Errorf("fail-safe status %+v", s)
	}
	if _, err := computeStatus(budget(nil, int32p(1)), []*corev1.Pod{pod("web-0", true, true)}, func(string, *metav1.OwnerReference) (types.UID, int32, bool, error) {
		return "", 0, false, errors.New("boom")
	}, now); err == nil {
		t.Error("a scale error did not fail")
	}
}

// TestDisruptedPods: an admitted eviction keeps its pod out of
// currentHealthy for two minutes; then it is dropped (reported expired);
// a terminating or gone pod's entry is dropped.
func TestDisruptedPods(t *testing.T) {
	pdb := budget(int32p(2), nil)
	pdb.Status.DisruptedPods = map[string]metav1.Time{
		"web-0": metav1.NewTime(now.Add(-30 * time.Second)),
		"web-1": metav1.NewTime(now.Add(-3 * time.Minute)),
		"gone":  metav1.NewTime(now),
	}
	pods := []*corev1.Pod{pod("web-0", true, true), pod("web-1", true, true), pod("web-2", true, true)}
	got, err := computeStatus(pdb, pods, scaleOf(3), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.status.DisruptedPods) != 1 || got.status.DisruptedPods["web-0"].Time.IsZero() {
		t.Errorf("disruptedPods %v, want web-0 only", got.status.DisruptedPods)
	}
	if got.status.CurrentHealthy != 2 || got.status.DisruptionsAllowed != 0 {
		t.Errorf("healthy %d allowed %d, want 2 and 0", got.status.CurrentHealthy, got.status.DisruptionsAllowed)
	}
	if len(got.expired) != 1 || got.expired[0] != "web-1" {
		t.Errorf("expired %v, want [web-1]", got.expired)
	}
	if want := now.Add(90 * time.Second); !got.recheck.Equal(want) {
		t.Errorf("recheck %v, want %v", got.recheck, want)
	}
}

// TestConditionTransitionTime: the condition's transition time moves only
// when its status changes, so an unchanged budget computes an equal status.
func TestConditionTransitionTime(t *testing.T) {
	pdb := budget(int32p(2), nil)
	pods := []*corev1.Pod{pod("web-0", true, true), pod("web-1", true, true), pod("web-2", true, true)}
	first, err := computeStatus(pdb, pods, scaleOf(3), now)
	if err != nil {
		t.Fatal(err)
	}
	pdb.Status = first.status
	again, err := computeStatus(pdb, pods, scaleOf(3), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !statusEqual(&pdb.Status, &again.status) {
		t.Errorf("recomputed status differs:\n%+v\n%+v", pdb.Status, again.status)
	}
	pods[2] = pod("web-2", false, true)
	changed, err := computeStatus(pdb, pods, scaleOf(3), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	c := apimeta.FindStatusCondition(changed.status.Conditions, policyv1.DisruptionAllowedCondition)
	if c.Status != metav1.ConditionFalse || !c.LastTransitionTime.Time.Equal(now.Add(time.Hour)) {
		t.Errorf("condition %+v, want False since now+1h", c)
	}
}
