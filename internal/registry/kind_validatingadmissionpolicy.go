package registry

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// validatingAdmissionPolicyKind is admissionregistration.k8s.io/v1
// ValidatingAdmissionPolicy, enforced by the ValidatingAdmissionPolicy
// admission plugin (internal/apiserver/policies.go) where a binding binds
// it. As upstream's strategy: generation 1 on create, moved by a spec
// change; status (typeChecking, conditions) through /status only.
func validatingAdmissionPolicyKind() *Kind {
	return &Kind{
		GVK: admissionregistrationv1.SchemeGroupVersion.WithKind("ValidatingAdmissionPolicy"), Resource: "validatingadmissionpolicies",
		Singular: "validatingadmissionpolicy", Categories: []string{"api-extensions"}, HasStatus: true,
		New:     func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicy{} },
		NewList: func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyList{} },

		Validate:             validateCreate(validation.ValidateValidatingAdmissionPolicy),
		ValidateUpdate:       validateUpdate(validation.ValidateValidatingAdmissionPolicyUpdate),
		ValidateStatusUpdate: validateUpdate(validation.ValidateValidatingAdmissionPolicyStatusUpdate),
		Default:              defaulter(defaults.ValidatingAdmissionPolicy),
		Printer:              printers.ValidatingAdmissionPolicy,
	}
}

// validatingAdmissionPolicyBindingKind is admissionregistration.k8s.io/v1
// ValidatingAdmissionPolicyBinding: which policy applies where, with which
// actions (Deny, Warn, Audit). Generation 1 on create, moved by a spec change.
func validatingAdmissionPolicyBindingKind() *Kind {
	return &Kind{
		GVK: admissionregistrationv1.SchemeGroupVersion.WithKind("ValidatingAdmissionPolicyBinding"), Resource: "validatingadmissionpolicybindings",
		Singular: "validatingadmissionpolicybinding", Categories: []string{"api-extensions"},
		New:     func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{} },
		NewList: func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{} },

		Validate:         validateCreate(validation.ValidateValidatingAdmissionPolicyBinding),
		ValidateUpdate:   validateUpdate(validation.ValidateValidatingAdmissionPolicyBindingUpdate),
		Default:          defaulter(defaults.ValidatingAdmissionPolicyBinding),
		PrepareForCreate: generationOne,
		PrepareForUpdate: generationFollows("Spec"),
		Printer:          printers.ValidatingAdmissionPolicyBinding,
	}
}
