package registry

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apiserver/pkg/registry/rest"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// replicaSetKind is apps/v1 ReplicaSet, scaled through replicasets/scale.
func replicaSetKind() *Kind {
	return &Kind{
		GVK: appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), Resource: "replicasets", Singular: "replicaset",
		Namespaced: true, ShortNames: []string{"rs"}, Categories: []string{"all"}, HasStatus: true,
		New: func() runtime.Object { return &appsv1.ReplicaSet{} }, NewList: func() runtime.Object { return &appsv1.ReplicaSetList{} },
		WarningsOnCreate: func(obj runtime.Object) []string { return podNameWarnings(obj.(*appsv1.ReplicaSet).Name) },

		Validate:             validateCreate(validation.ValidateReplicaSet),
		ValidateUpdate:       validateUpdate(validation.ValidateReplicaSetUpdate),
		ValidateStatusUpdate: validateUpdate(validation.ValidateReplicaSetStatusUpdate),
		Default:              defaulter(defaults.ReplicaSet),
		Printer:              printers.ReplicaSet,
		Subresources: func(self *Store, _ map[schema.GroupResource]*Store) map[string]rest.Storage {
			return map[string]rest.Storage{"scale": &ScaleREST{store: self}}
		},
	}
}

// podNameWarnings is kube's warning for a Deployment or ReplicaSet whose
// name, which its pods' names begin with, is no DNS label.
func podNameWarnings(name string) []string {
	if msgs := utilvalidation.IsDNS1123Label(name); len(msgs) != 0 {
		return []string{fmt.Sprintf("metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: %v", msgs)}
	}
	return nil
}
