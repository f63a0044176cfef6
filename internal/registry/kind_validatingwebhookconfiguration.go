package registry

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// validatingWebhookConfigurationKind is admissionregistration.k8s.io/v1
// ValidatingWebhookConfiguration; the validating webhook admission plugin
// (internal/apiserver/webhooks.go) calls the webhooks it declares; as
// upstream's strategy, a create sets generation 1 and a change of the
// webhooks moves it.
func validatingWebhookConfigurationKind() *Kind {
	return &Kind{
		GVK: admissionregistrationv1.SchemeGroupVersion.WithKind("ValidatingWebhookConfiguration"), Resource: "validatingwebhookconfigurations",
		Singular: "validatingwebhookconfiguration",
		New:      func() runtime.Object { return &admissionregistrationv1.ValidatingWebhookConfiguration{} },
		NewList:  func() runtime.Object { return &admissionregistrationv1.ValidatingWebhookConfigurationList{} },

		Validate:         validateCreate(validation.ValidateValidatingWebhookConfiguration),
		ValidateUpdate:   validateUpdate(validation.ValidateValidatingWebhookConfigurationUpdate),
		Default:          defaulter(defaults.ValidatingWebhookConfiguration),
		PrepareForCreate: generationOne,
		PrepareForUpdate: generationFollows("Webhooks"),
		Printer:          printers.ValidatingWebhookConfiguration,
	}
}
