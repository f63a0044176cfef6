package registry

import (
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDecremented: a budget's answer to one eviction, with kube's status
// codes and causes.
func TestDecremented(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	budget := func(mutate func(*policyv1.PodDisruptionBudget)) *policyv1.PodDisruptionBudget {
		p := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: 1},
			Status: policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, DisruptionsAllowed: 1, CurrentHealthy: 3, DesiredHealthy: 2, ExpectedPods: 3}}
		mutate(p)
		return p
	}
	cases := []struct {
		name   string
		pdb    *policyv1.PodDisruptionBudget
		code   int32 // 0: admitted
		reason metav1.StatusReason
		cause  string
	}{
		{"one allowed", budget(func(*policyv1.PodDisruptionBudget) {}), 0, "", ""},
		{"none allowed", budget(func(p *policyv1.PodDisruptionBudget) { p.Status.DisruptionsAllowed, p.Status.CurrentHealthy = 0, 2 }),
			429, metav1.StatusReasonTooManyRequests, "The disruption budget web needs 2 healthy pods and has 2 currently"},
		{"sync failed", budget(func(p *policyv1.PodDisruptionBudget) {
			p.Status.DisruptionsAllowed = 0
			p.Status.Conditions = []metav1.Condition{{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse, Reason: policyv1.SyncFailedReason, Message: `found no controllers for pod "web-0"`}}
		}), 429, metav1.StatusReasonTooManyRequests, `The disruption budget web does not allow evicting pods currently because it failed sync: found no controllers for pod "web-0"`},
		{"healthy but none allowed", budget(func(p *policyv1.PodDisruptionBudget) { p.Status.DisruptionsAllowed = 0 }),
			429, metav1.StatusReasonTooManyRequests, "The disruption budget web does not allow evicting pods currently"},
		{"spec not yet observed", budget(func(p *policyv1.PodDisruptionBudget) { p.Generation = 2 }),
			429, metav1.StatusReasonTooManyRequests, "The disruption budget web is still being processed by the server."},
		{"negative", budget(func(p *policyv1.PodDisruptionBudget) { p.Status.DisruptionsAllowed = -1 }),
			403, metav1.StatusReasonForbidden, "The disruption budget web does not allow evicting pods currently: pdb disruptions allowed is negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next, err := decremented(tc.pdb, "web-0", now)
			if tc.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if next.Status.DisruptionsAllowed != 0 || !next.Status.DisruptedPods["web-0"].Time.Equal(now) || tc.pdb.Status.DisruptedPods != nil {
					t.Errorf("status %+v (the read budget must stay unchanged)", next.Status)
				}
				c := apimeta.FindStatusCondition(next.Status.Conditions, policyv1.DisruptionAllowedCondition)
				if c == nil || c.Reason != policyv1.InsufficientPodsReason {
					t.Errorf("condition %+v, want InsufficientPods once none is left", c)
				}
				return
			}
			var st apierrors.APIStatus
			st, ok := err.(apierrors.APIStatus)
			if !ok {
				t.Fatalf("err %v is no API status", err)
			}
			s := st.Status()
			if s.Code != tc.code || s.Reason != tc.reason || len(s.Details.Causes) != 1 || s.Details.Causes[0].Message != tc.cause ||
				s.Details.Causes[0].Type != policyv1.DisruptionBudgetCause {
				t.Errorf("status %+v", s)
			}
			if tc.code == 429 && s.Message != "Cannot evict pod as it would violate the pod's disruption budget." {
				t.Errorf("message %q", s.Message)
			}
		})
	}
}
