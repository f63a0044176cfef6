package registry

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// endpointSliceKind is discovery.k8s.io/v1 EndpointSlice, written by the
// endpointslice controller.
func endpointSliceKind() *Kind {
	return &Kind{
		GVK: discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"), Resource: "endpointslices", Singular: "endpointslice",
		Namespaced: true,
		New:        func() runtime.Object { return &discoveryv1.EndpointSlice{} }, NewList: func() runtime.Object { return &discoveryv1.EndpointSliceList{} },

		Validate:       validateCreate(validation.ValidateEndpointSlice),
		ValidateUpdate: validateUpdate(validation.ValidateEndpointSliceUpdate),
		Default:        defaulter(defaults.EndpointSlice),
		Printer:        printers.EndpointSlice,
	}
}
