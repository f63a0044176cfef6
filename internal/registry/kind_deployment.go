package registry

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// deploymentKind is apps/v1 Deployment, scaled through deployments/scale.
// As upstream, a change of its annotations bumps the generation too (the
// deployment controller copies them onto its ReplicaSets).
func deploymentKind() *Kind {
	return &Kind{
		GVK: appsv1.SchemeGroupVersion.WithKind("Deployment"), Resource: "deployments", Singular: "deployment",
		Namespaced: true, ShortNames: []string{"deploy"}, Categories: []string{"all"}, HasStatus: true,
		New: func() runtime.Object { return &appsv1.Deployment{} }, NewList: func() runtime.Object { return &appsv1.DeploymentList{} },
		PrepareForUpdate: func(ctx context.Context, obj, old runtime.Object) {
			d, o := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
			if d.Generation == o.Generation && !equality.Semantic.DeepEqual(d.Annotations, o.Annotations) {
				d.Generation = o.Generation + 1
			}
		},
		WarningsOnCreate: func(obj runtime.Object) []string { return podNameWarnings(obj.(*appsv1.Deployment).Name) },

		Validate:             validateCreate(validation.ValidateDeployment),
		ValidateUpdate:       validateUpdate(validation.ValidateDeploymentUpdate),
		ValidateStatusUpdate: validateUpdate(validation.ValidateDeploymentStatusUpdate),
		Default:              defaulter(defaults.Deployment),
		Printer:              printers.Deployment,
		Subresources: func(self *Store, _ map[schema.GroupResource]*Store) map[string]rest.Storage {
			return map[string]rest.Storage{"scale": &ScaleREST{store: self}}
		},
	}
}
