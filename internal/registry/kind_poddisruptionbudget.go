package registry

import (
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// podDisruptionBudgetKind is policy/v1 PodDisruptionBudget. Its status is
// the disruption controller's (internal/controller/disruption) and is
// decremented by pods/eviction; as upstream, an update must name the
// resourceVersion it replaces, and v1 defaults nothing.
func podDisruptionBudgetKind() *Kind {
	return &Kind{
		GVK: policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"), Resource: "poddisruptionbudgets", Singular: "poddisruptionbudget",
		Namespaced: true, ShortNames: []string{"pdb"}, HasStatus: true, NoUnconditionalUpdate: true,
		New:     func() runtime.Object { return &policyv1.PodDisruptionBudget{} },
		NewList: func() runtime.Object { return &policyv1.PodDisruptionBudgetList{} },

		Validate:             validateCreate(validation.ValidatePodDisruptionBudget),
		ValidateUpdate:       validateUpdate(validation.ValidatePodDisruptionBudgetUpdate),
		ValidateStatusUpdate: validateUpdate(validation.ValidatePodDisruptionBudgetStatusUpdate),
		NoDefaults:           true,
		Printer:              printers.PodDisruptionBudget,
	}
}
