package validation

import (
	policyv1 "k8s.io/api/policy/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// unhealthyPodEvictionPolicies are the policies kube 1.37 accepts, sorted
// as its NotSupported message lists them.
var unhealthyPodEvictionPolicies = []string{string(policyv1.AlwaysAllow), string(policyv1.IfHealthyBudget)}

// ValidatePodDisruptionBudget validates a policy/v1 PodDisruptionBudget on
// create as kube 1.37 does: the spec only (metadata gets the generic rules
// of every create), with label values in the selector checked.
func ValidatePodDisruptionBudget(pdb *policyv1.PodDisruptionBudget) field.ErrorList {
	return validatePodDisruptionBudgetSpec(&pdb.Spec, false, field.NewPath("spec"))
}

// ValidatePodDisruptionBudgetUpdate validates an update: the new spec in
// full (every spec field may change), except that a selector with label
// values kube once let through stays acceptable while the stored one has
// them (upstream's AllowInvalidLabelValueInSelector ratchet).
func ValidatePodDisruptionBudgetUpdate(pdb, old *policyv1.PodDisruptionBudget) field.ErrorList {
	allowInvalid := old.Spec.Selector != nil &&
		len(metav1validation.ValidateLabelSelector(old.Spec.Selector, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0
	return validatePodDisruptionBudgetSpec(&pdb.Spec, allowInvalid, field.NewPath("spec"))
}

// ValidatePodDisruptionBudgetStatusUpdate validates a write to
// poddisruptionbudgets/status: conditions well formed, counts not negative.
func ValidatePodDisruptionBudgetStatusUpdate(pdb, _ *policyv1.PodDisruptionBudget) field.ErrorList {
	p := field.NewPath("status")
	s := &pdb.Status
	errs := metav1validation.ValidateConditions(s.Conditions, p.Child("conditions"))
	errs = append(errs, nonNegative(int64(s.DisruptionsAllowed), p.Child("disruptionsAllowed"))...)
	errs = append(errs, nonNegative(int64(s.CurrentHealthy), p.Child("currentHealthy"))...)
	errs = append(errs, nonNegative(int64(s.DesiredHealthy), p.Child("desiredHealthy"))...)
	errs = append(errs, nonNegative(int64(s.ExpectedPods), p.Child("expectedPods"))...)
	return errs
}

// validatePodDisruptionBudgetSpec: minAvailable and maxUnavailable are
// mutually exclusive, each a non-negative integer or a percentage of at
// most 100%; the selector is a valid label selector; the unhealthy pod
// eviction policy, when set, is IfHealthyBudget or AlwaysAllow.
func validatePodDisruptionBudgetSpec(spec *policyv1.PodDisruptionBudgetSpec, allowInvalidLabelValue bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(p, spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	if spec.MinAvailable != nil {
		errs = append(errs, validatePositiveIntOrPercent(*spec.MinAvailable, p.Child("minAvailable"))...)
		errs = append(errs, notMoreThan100Percent(*spec.MinAvailable, p.Child("minAvailable"))...)
	}
	if spec.MaxUnavailable != nil {
		errs = append(errs, validatePositiveIntOrPercent(*spec.MaxUnavailable, p.Child("maxUnavailable"))...)
		errs = append(errs, notMoreThan100Percent(*spec.MaxUnavailable, p.Child("maxUnavailable"))...)
	}
	errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector,
		metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidLabelValue}, p.Child("selector"))...)
	if pol := spec.UnhealthyPodEvictionPolicy; pol != nil && *pol != policyv1.IfHealthyBudget && *pol != policyv1.AlwaysAllow {
		errs = append(errs, field.NotSupported(p.Child("unhealthyPodEvictionPolicy"), *pol, unhealthyPodEvictionPolicies))
	}
	return errs
}
