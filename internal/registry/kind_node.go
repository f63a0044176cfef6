package registry

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// nodeKind is core/v1 Node: agents register with their status, which the
// create keeps, as kubelet's registration does.
func nodeKind() *Kind {
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("Node"), Resource: "nodes", Singular: "node",
		ShortNames: []string{"no"}, HasStatus: true, KeepStatusOnCreate: true,
		New: func() runtime.Object { return &corev1.Node{} }, NewList: func() runtime.Object { return &corev1.NodeList{} },
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"spec.unschedulable": strconv.FormatBool(obj.(*corev1.Node).Spec.Unschedulable)}
		},

		Validate:             validateCreate(validation.ValidateNode),
		ValidateUpdate:       validateUpdate(validation.ValidateNodeUpdate),
		ValidateStatusUpdate: validateUpdate(validation.ValidateNodeStatusUpdate),
		Default:              defaulter(defaults.Node),
		Printer:              printers.Node,
	}
}
