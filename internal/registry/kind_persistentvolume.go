package registry

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/pvnode"
	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// persistentVolumeKind is core/v1 PersistentVolume: created Pending, its
// phase transitions timed; the Recycle reclaim policy draws kube's warning.
func persistentVolumeKind() *Kind {
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("PersistentVolume"), Resource: "persistentvolumes", Singular: "persistentvolume",
		ShortNames: []string{"pv"}, HasStatus: true, ReturnDeletedObject: true,
		New: func() runtime.Object { return &corev1.PersistentVolume{} }, NewList: func() runtime.Object { return &corev1.PersistentVolumeList{} },
		PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
			pv := obj.(*corev1.PersistentVolume)
			pv.Status.Phase = corev1.VolumePending
			now := metav1.Now()
			pv.Status.LastPhaseTransitionTime = &now
			pv.Generation = 0
		},
		PrepareForStatusUpdate: func(ctx context.Context, obj, old runtime.Object) {
			pv, o := obj.(*corev1.PersistentVolume), old.(*corev1.PersistentVolume)
			if pv.Status.Phase != o.Status.Phase {
				now := metav1.Now()
				pv.Status.LastPhaseTransitionTime = &now
			}
		},
		Fields: func(obj runtime.Object) fields.Set {
			pv := obj.(*corev1.PersistentVolume)
			return fields.Set{"name": pv.Name, pvnode.Field: pvnode.Of(pv)}
		},
		WarningsOnCreate: func(obj runtime.Object) []string { return persistentVolumeWarnings(obj.(*corev1.PersistentVolume)) },
		WarningsOnUpdate: func(obj, _ runtime.Object) []string {
			return persistentVolumeWarnings(obj.(*corev1.PersistentVolume))
		},

		Validate:             validateCreate(validation.ValidatePersistentVolume),
		ValidateUpdate:       validateUpdate(validation.ValidatePersistentVolumeUpdate),
		ValidateStatusUpdate: validateUpdate(validation.ValidatePersistentVolumeStatusUpdate),
		Default:              defaulter(defaults.PersistentVolume),
		Printer:              printers.PersistentVolume,
	}
}

// persistentVolumeWarnings is upstream's warning for the deprecated Recycle
// reclaim policy (pkg/api/persistentvolume GetWarningsForPersistentVolume).
func persistentVolumeWarnings(pv *corev1.PersistentVolume) []string {
	if pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		return []string{"spec.persistentVolumeReclaimPolicy: The Recycle reclaim policy is deprecated. Instead, the recommended approach is to use dynamic provisioning."}
	}
	return nil
}
