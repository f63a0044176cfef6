package registry

import (
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// controllerRevisionKind is apps/v1 ControllerRevision, the StatefulSet
// controller's record of each template revision.
func controllerRevisionKind() *Kind {
	return &Kind{
		GVK: appsv1.SchemeGroupVersion.WithKind("ControllerRevision"), Resource: "controllerrevisions", Singular: "controllerrevision",
		Namespaced: true,
		New:        func() runtime.Object { return &appsv1.ControllerRevision{} }, NewList: func() runtime.Object { return &appsv1.ControllerRevisionList{} },

		Validate:       validateCreate(validation.ValidateControllerRevision),
		ValidateUpdate: validateUpdate(validation.ValidateControllerRevisionUpdate),
		NoDefaults:     true,
		Printer:        printers.ControllerRevision,
	}
}
