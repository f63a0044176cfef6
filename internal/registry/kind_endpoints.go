package registry

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// endpointsKind is core/v1 Endpoints, written by the endpoints controller.
func endpointsKind() *Kind {
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("Endpoints"), Resource: "endpoints", Singular: "endpoints",
		Namespaced: true, ShortNames: []string{"ep"},
		New: func() runtime.Object { return &corev1.Endpoints{} }, NewList: func() runtime.Object { return &corev1.EndpointsList{} },

		Validate:       validateCreate(validation.ValidateEndpoints),
		ValidateUpdate: validateUpdate(validation.ValidateEndpointsUpdate),
		Default:        defaulter(defaults.Endpoints),
		Printer:        printers.Endpoints,
	}
}
