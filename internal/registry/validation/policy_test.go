package validation

import (
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func validPDB() *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptrTo(intstr.FromInt32(2)),
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		},
	}
}

// TestPodDisruptionBudget: kube 1.37's messages for each spec rule.
func TestPodDisruptionBudget(t *testing.T) {
	gk := schema.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}
	cases := []struct {
		name   string
		mutate func(*policyv1.PodDisruptionBudget)
		want   []string
	}{
		{"valid minAvailable", func(*policyv1.PodDisruptionBudget) {}, nil},
		{"valid maxUnavailable percent", func(p *policyv1.PodDisruptionBudget) {
			p.Spec.MinAvailable = nil
			p.Spec.MaxUnavailable = ptrTo(intstr.FromString("25%"))
		}, nil},
		{"neither is set", func(p *policyv1.PodDisruptionBudget) { p.Spec.MinAvailable = nil }, nil},
		{"empty selector selects all", func(p *policyv1.PodDisruptionBudget) { p.Spec.Selector = &metav1.LabelSelector{} }, nil},
		{"both set", func(p *policyv1.PodDisruptionBudget) { p.Spec.MaxUnavailable = ptrTo(intstr.FromInt32(1)) }, []string{
			"spec: Invalid value:", "minAvailable and maxUnavailable cannot be both set"}},
		{"negative minAvailable", func(p *policyv1.PodDisruptionBudget) { p.Spec.MinAvailable = ptrTo(intstr.FromInt32(-1)) }, []string{
			"spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"}},
		{"not a percentage", func(p *policyv1.PodDisruptionBudget) { p.Spec.MinAvailable = ptrTo(intstr.FromString("half")) }, []string{
			`spec.minAvailable: Invalid value: "half": a valid percent string must be a numeric string followed by an ending '%'`}},
		{"over 100%", func(p *policyv1.PodDisruptionBudget) {
			p.Spec.MinAvailable = nil
			p.Spec.MaxUnavailable = ptrTo(intstr.FromString("101%"))
		}, []string{`spec.maxUnavailable: Invalid value: "101%": must not be greater than 100%`}},
		{"bad selector operator", func(p *policyv1.PodDisruptionBudget) {
			p.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}
		}, []string{`spec.selector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator`}},
		{"bad selector value", func(p *policyv1.PodDisruptionBudget) { p.Spec.Selector.MatchLabels["app"] = "a b" }, []string{
			`spec.selector.matchLabels: Invalid value: "a b"`}},
		{"policies", func(p *policyv1.PodDisruptionBudget) { p.Spec.UnhealthyPodEvictionPolicy = ptrTo(policyv1.AlwaysAllow) }, nil},
		{"unknown policy", func(p *policyv1.PodDisruptionBudget) {
			p.Spec.UnhealthyPodEvictionPolicy = ptrTo(policyv1.UnhealthyPodEvictionPolicyType("Never"))
		}, []string{`spec.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: "AlwaysAllow", "IfHealthyBudget"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := validPDB()
			tc.mutate(p)
			checkErrs(t, gk, p.Name, ValidatePodDisruptionBudget(p), tc.want)
		})
	}

	t.Run("update may change the spec", func(t *testing.T) {
		old := validPDB()
		p := old.DeepCopy()
		p.Spec.MinAvailable = ptrTo(intstr.FromString("50%"))
		p.Spec.Selector.MatchLabels["tier"] = "db"
		checkErrs(t, gk, p.Name, ValidatePodDisruptionBudgetUpdate(p, old), nil)
	})
	t.Run("stored invalid label values ratchet", func(t *testing.T) {
		old := validPDB()
		old.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a b"}}}
		p := old.DeepCopy()
		p.Spec.MinAvailable = ptrTo(intstr.FromInt32(1))
		checkErrs(t, gk, p.Name, ValidatePodDisruptionBudgetUpdate(p, old), nil)
		checkErrs(t, gk, p.Name, ValidatePodDisruptionBudgetUpdate(p, validPDB()), []string{`spec.selector.matchExpressions[0].values[0]: Invalid value: "a b"`})
	})
	t.Run("status", func(t *testing.T) {
		old := validPDB()
		p := old.DeepCopy()
		p.Status = policyv1.PodDisruptionBudgetStatus{CurrentHealthy: 2, DesiredHealthy: 2, ExpectedPods: 3, DisruptionsAllowed: 0,
			Conditions: []metav1.Condition{{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse, Reason: policyv1.InsufficientPodsReason, LastTransitionTime: metav1.Now()}}}
		checkErrs(t, gk, p.Name, ValidatePodDisruptionBudgetStatusUpdate(p, old), nil)
		p.Status.DisruptionsAllowed = -1
		p.Status.Conditions[0].Reason = ""
		checkErrs(t, gk, p.Name, ValidatePodDisruptionBudgetStatusUpdate(p, old), []string{
			"status.disruptionsAllowed: Invalid value: -1: must be greater than or equal to 0",
			"status.conditions[0].reason: Required value"})
	})
}
