package registry

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// namespaceKind is core/v1 Namespace: created Active with the kubernetes
// finalizer and its kubernetes.io/metadata.name label; deleted in two
// phases (NamespaceREST) and finalized through namespaces/finalize.
func namespaceKind() *Kind {
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("Namespace"), Resource: "namespaces", Singular: "namespace",
		ShortNames: []string{"ns"}, HasStatus: true, ReturnDeletedObject: true,
		New: func() runtime.Object { return &corev1.Namespace{} }, NewList: func() runtime.Object { return &corev1.NamespaceList{} },
		PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
			ns := obj.(*corev1.Namespace)
			ns.Status.Phase = corev1.NamespaceActive
			ns.Spec.Finalizers = []corev1.FinalizerName{finalizerKubernetes}
			if ns.Labels == nil {
				ns.Labels = map[string]string{}
			}
			ns.Labels[corev1.LabelMetadataName] = ns.Name
		},
		PrepareForUpdate: func(ctx context.Context, obj, old runtime.Object) {
			ns := obj.(*corev1.Namespace)
			// spec.finalizers changes only through namespaces/finalize.
			ns.Spec.Finalizers = old.(*corev1.Namespace).Spec.Finalizers
			if ns.Labels == nil {
				ns.Labels = map[string]string{}
			}
			ns.Labels[corev1.LabelMetadataName] = ns.Name
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.phase": string(obj.(*corev1.Namespace).Status.Phase)}
		},

		Validate:             validateCreate(validation.ValidateNamespace),
		ValidateUpdate:       validateUpdate(validation.ValidateNamespaceUpdate),
		ValidateStatusUpdate: validateUpdate(validation.ValidateNamespaceStatusUpdate),
		Default:              defaulter(defaults.Namespace),
		Printer:              printers.Namespace,
		Storage:              func(store *Store) rest.Storage { return &NamespaceREST{Store: store} },
		Subresources: func(self *Store, _ map[schema.GroupResource]*Store) map[string]rest.Storage {
			return map[string]rest.Storage{"finalize": &FinalizeREST{namespaces: self}}
		},
	}
}
