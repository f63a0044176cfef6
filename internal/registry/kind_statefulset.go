package registry

import (
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// statefulSetKind is apps/v1 StatefulSet, scaled through
// statefulsets/scale.
func statefulSetKind() *Kind {
	return &Kind{
		GVK: appsv1.SchemeGroupVersion.WithKind("StatefulSet"), Resource: "statefulsets", Singular: "statefulset",
		Namespaced: true, ShortNames: []string{"sts"}, Categories: []string{"all"}, HasStatus: true,
		New: func() runtime.Object { return &appsv1.StatefulSet{} }, NewList: func() runtime.Object { return &appsv1.StatefulSetList{} },

		Validate:             validateCreate(validation.ValidateStatefulSet),
		ValidateUpdate:       validateUpdate(validation.ValidateStatefulSetUpdate),
		ValidateStatusUpdate: validateUpdate(validation.ValidateStatefulSetStatusUpdate),
		Default:              defaulter(defaults.StatefulSet),
		Printer:              printers.StatefulSet,
		Subresources: func(self *Store, _ map[schema.GroupResource]*Store) map[string]rest.Storage {
			return map[string]rest.Storage{"scale": &ScaleREST{store: self}}
		},
	}
}
