package registry

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// mutatingWebhookConfigurationKind is admissionregistration.k8s.io/v1
// MutatingWebhookConfiguration; the mutating webhook admission plugin
// (internal/apiserver/webhooks.go) calls the webhooks it declares; as
// upstream's strategy, a create sets generation 1 and a change of the
// webhooks moves it.
func mutatingWebhookConfigurationKind() *Kind {
	return &Kind{
		GVK: admissionregistrationv1.SchemeGroupVersion.WithKind("MutatingWebhookConfiguration"), Resource: "mutatingwebhookconfigurations",
		Singular: "mutatingwebhookconfiguration",
		New:      func() runtime.Object { return &admissionregistrationv1.MutatingWebhookConfiguration{} },
		NewList:  func() runtime.Object { return &admissionregistrationv1.MutatingWebhookConfigurationList{} },

		Validate:         validateCreate(validation.ValidateMutatingWebhookConfiguration),
		ValidateUpdate:   validateUpdate(validation.ValidateMutatingWebhookConfigurationUpdate),
		Default:          defaulter(defaults.MutatingWebhookConfiguration),
		PrepareForCreate: generationOne,
		PrepareForUpdate: generationFollows("Webhooks"),
		Printer:          printers.MutatingWebhookConfiguration,
	}
}
