package registry

import (
	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"petset/internal/registry/validation"
)

// validators are each kind's validation functions: create, update and
// status update (nil where a kind has no status subresource).
type validators struct {
	create func(runtime.Object) field.ErrorList
	update func(obj, old runtime.Object) field.ErrorList
	status func(obj, old runtime.Object) field.ErrorList
}

func typed[T runtime.Object](create func(T) field.ErrorList, update, status func(T, T) field.ErrorList) validators {
	v := validators{
		create: func(o runtime.Object) field.ErrorList { return create(o.(T)) },
		update: func(o, old runtime.Object) field.ErrorList { return update(o.(T), old.(T)) },
	}
	if status != nil {
		v.status = func(o, old runtime.Object) field.ErrorList { return status(o.(T), old.(T)) }
	}
	return v
}

var kindValidators = map[schema.GroupVersionKind]validators{
	corev1.SchemeGroupVersion.WithKind("Namespace"):             typed(validation.ValidateNamespace, validation.ValidateNamespaceUpdate, validation.ValidateNamespaceStatusUpdate),
	corev1.SchemeGroupVersion.WithKind("Node"):                  typed(validation.ValidateNode, validation.ValidateNodeUpdate, validation.ValidateNodeStatusUpdate),
	corev1.SchemeGroupVersion.WithKind("Pod"):                   typed(validation.ValidatePod, validation.ValidatePodUpdate, validation.ValidatePodStatusUpdate),
	corev1.SchemeGroupVersion.WithKind("Service"):               typed(validation.ValidateService, validation.ValidateServiceUpdate, validation.ValidateServiceStatusUpdate),
	corev1.SchemeGroupVersion.WithKind("Endpoints"):             typed(validation.ValidateEndpoints, validation.ValidateEndpointsUpdate, nil),
	corev1.SchemeGroupVersion.WithKind("PersistentVolume"):      typed(validation.ValidatePersistentVolume, validation.ValidatePersistentVolumeUpdate, validation.ValidatePersistentVolumeStatusUpdate),
	corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"): typed(validation.ValidatePersistentVolumeClaim, validation.ValidatePersistentVolumeClaimUpdate, validation.ValidatePersistentVolumeClaimStatusUpdate),
	corev1.SchemeGroupVersion.WithKind("ConfigMap"):             typed(validation.ValidateConfigMap, validation.ValidateConfigMapUpdate, nil),
	corev1.SchemeGroupVersion.WithKind("Secret"):                typed(validation.ValidateSecret, validation.ValidateSecretUpdate, nil),
	corev1.SchemeGroupVersion.WithKind("ServiceAccount"):        typed(validation.ValidateServiceAccount, validation.ValidateServiceAccountUpdate, nil),
	corev1.SchemeGroupVersion.WithKind("Event"):                 typed(validation.ValidateEvent, validation.ValidateEventUpdate, nil),
	appsv1.SchemeGroupVersion.WithKind("StatefulSet"):           typed(validation.ValidateStatefulSet, validation.ValidateStatefulSetUpdate, validation.ValidateStatefulSetStatusUpdate),
	appsv1.SchemeGroupVersion.WithKind("ControllerRevision"):    typed(validation.ValidateControllerRevision, validation.ValidateControllerRevisionUpdate, nil),
	storagev1.SchemeGroupVersion.WithKind("StorageClass"):       typed(validation.ValidateStorageClass, validation.ValidateStorageClassUpdate, nil),
	coordinationv1.SchemeGroupVersion.WithKind("Lease"):         typed(validation.ValidateLease, validation.ValidateLeaseUpdate, nil),
	discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"):    typed(validation.ValidateEndpointSlice, validation.ValidateEndpointSliceUpdate, nil),
	eventsv1.SchemeGroupVersion.WithKind("Event"):               typed(validation.ValidateEventsV1Event, validation.ValidateEventsV1EventUpdate, nil),
	rbacv1.SchemeGroupVersion.WithKind("Role"):                  typed(validation.ValidateRole, validation.ValidateRoleUpdate, nil),
	rbacv1.SchemeGroupVersion.WithKind("ClusterRole"):           typed(validation.ValidateClusterRole, validation.ValidateClusterRoleUpdate, nil),
	rbacv1.SchemeGroupVersion.WithKind("RoleBinding"):           typed(validation.ValidateRoleBinding, validation.ValidateRoleBindingUpdate, nil),
	rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"):    typed(validation.ValidateClusterRoleBinding, validation.ValidateClusterRoleBindingUpdate, nil),
	certificatesv1.SchemeGroupVersion.WithKind("CertificateSigningRequest"): typed(validation.ValidateCertificateSigningRequest,
		validation.ValidateCertificateSigningRequestUpdate, validation.ValidateCertificateSigningRequestStatusUpdate),
}

// withValidation attaches each kind's validation functions.
func withValidation(kinds []*Kind) []*Kind {
	for _, k := range kinds {
		v, ok := kindValidators[k.GVK]
		if !ok {
			continue
		}
		k.Validate, k.ValidateUpdate = v.create, v.update
		if k.HasStatus && v.status != nil {
			k.ValidateStatusUpdate = v.status
		}
	}
	return kinds
}
