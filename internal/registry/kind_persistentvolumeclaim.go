package registry

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// persistentVolumeClaimKind is core/v1 PersistentVolumeClaim, created
// Pending.
func persistentVolumeClaimKind() *Kind {
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), Resource: "persistentvolumeclaims", Singular: "persistentvolumeclaim",
		Namespaced: true, ShortNames: []string{"pvc"}, HasStatus: true, ReturnDeletedObject: true,
		New: func() runtime.Object { return &corev1.PersistentVolumeClaim{} }, NewList: func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
		PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
			pvc := obj.(*corev1.PersistentVolumeClaim)
			pvc.Status.Phase = corev1.ClaimPending
			pvc.Generation = 0
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"name": obj.(*corev1.PersistentVolumeClaim).Name}
		},

		Validate:             validateCreate(validation.ValidatePersistentVolumeClaim),
		ValidateUpdate:       validateUpdate(validation.ValidatePersistentVolumeClaimUpdate),
		ValidateStatusUpdate: validateUpdate(validation.ValidatePersistentVolumeClaimStatusUpdate),
		Default:              defaulter(defaults.PersistentVolumeClaim),
		Printer:              printers.PersistentVolumeClaim,
	}
}
