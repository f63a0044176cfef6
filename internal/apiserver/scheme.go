package apiserver

import (
	"reflect"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// servedGroupVersions are the external versions petset serves, in
// discovery order.
var servedGroupVersions = []schema.GroupVersion{
	corev1.SchemeGroupVersion,
	appsv1.SchemeGroupVersion,
	autoscalingv1.SchemeGroupVersion,
	batchv1.SchemeGroupVersion,
	storagev1.SchemeGroupVersion,
	coordinationv1.SchemeGroupVersion,
	discoveryv1.SchemeGroupVersion,
	eventsv1.SchemeGroupVersion,
	policyv1.SchemeGroupVersion,
	networkingv1.SchemeGroupVersion,
	rbacv1.SchemeGroupVersion,
	authenticationv1.SchemeGroupVersion,
	authorizationv1.SchemeGroupVersion,
	certificatesv1.SchemeGroupVersion,
	admissionregistrationv1.SchemeGroupVersion,
}

// NewScheme returns a scheme with every served kind registered under its
// external version and, as the same Go type, under the internal version:
// petset's internal representation is the v1 type, so no conversion is
// needed. The kinds' defaulting is added by registry.AddDefaults.
func NewScheme() (*runtime.Scheme, serializer.CodecFactory, error) {
	s := runtime.NewScheme()
	builders := []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv1.AddToScheme, batchv1.AddToScheme, storagev1.AddToScheme,
		coordinationv1.AddToScheme, discoveryv1.AddToScheme, eventsv1.AddToScheme, policyv1.AddToScheme,
		rbacv1.AddToScheme, authenticationv1.AddToScheme, authorizationv1.AddToScheme,
		certificatesv1.AddToScheme, networkingv1.AddToScheme, admissionregistrationv1.AddToScheme,
	}
	for _, add := range builders {
		if err := add(s); err != nil {
			return nil, serializer.CodecFactory{}, err
		}
	}
	// The same Go types as the internal version of each group.
	for _, gv := range servedGroupVersions {
		internal := schema.GroupVersion{Group: gv.Group, Version: runtime.APIVersionInternal}
		for kind, t := range s.KnownTypes(gv) {
			if isMetaKind(kind) {
				continue
			}
			s.AddKnownTypeWithName(internal.WithKind(kind), reflectNew(t))
		}
	}
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	s.AddUnversionedTypes(unversioned,
		&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
	if err := addParameterConversions(s); err != nil {
		return nil, serializer.CodecFactory{}, err
	}
	return s, serializer.NewCodecFactory(s), nil
}

// isMetaKind reports the kinds metav1.AddToGroupVersion registers in every
// group version; they are not ours to register internally.
func isMetaKind(kind string) bool {
	switch kind {
	case "WatchEvent", "ListOptions", "GetOptions", "DeleteOptions", "CreateOptions", "UpdateOptions",
		"PatchOptions", "ExportOptions", "Status", "APIVersions", "APIGroupList", "APIGroup", "APIResourceList":
		return true
	}
	return false
}

func reflectNew(t reflect.Type) runtime.Object {
	return reflect.New(t).Interface().(runtime.Object)
}
