package defaults

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// RegisterDefaults installs the defaulting functions of every served kind
// that kube defaults, and of their List types, on scheme. Kinds without kube
// defaults (ServiceAccount, core and events.k8s.io Event, Lease,
// ControllerRevision) get none, as in kube.
func RegisterDefaults(scheme *runtime.Scheme) error {
	add := func(obj runtime.Object, fn func(any)) { scheme.AddTypeDefaultingFunc(obj, fn) }

	add(&corev1.Pod{}, func(o any) { Pod(o.(*corev1.Pod)) })
	add(&corev1.PodList{}, func(o any) { eachPtr(o.(*corev1.PodList).Items, Pod) })
	add(&corev1.PodTemplate{}, func(o any) { PodTemplateSpec(&o.(*corev1.PodTemplate).Template) })
	add(&corev1.PodTemplateList{}, func(o any) {
		for i := range o.(*corev1.PodTemplateList).Items {
			PodTemplateSpec(&o.(*corev1.PodTemplateList).Items[i].Template)
		}
	})
	add(&corev1.Service{}, func(o any) { Service(o.(*corev1.Service)) })
	add(&corev1.ServiceList{}, func(o any) { eachPtr(o.(*corev1.ServiceList).Items, Service) })
	add(&corev1.Endpoints{}, func(o any) { Endpoints(o.(*corev1.Endpoints)) })
	add(&corev1.EndpointsList{}, func(o any) { eachPtr(o.(*corev1.EndpointsList).Items, Endpoints) })
	add(&corev1.PersistentVolume{}, func(o any) { PersistentVolume(o.(*corev1.PersistentVolume)) })
	add(&corev1.PersistentVolumeList{}, func(o any) { eachPtr(o.(*corev1.PersistentVolumeList).Items, PersistentVolume) })
	add(&corev1.PersistentVolumeClaim{}, func(o any) { PersistentVolumeClaim(o.(*corev1.PersistentVolumeClaim)) })
	add(&corev1.PersistentVolumeClaimList{}, func(o any) {
		eachPtr(o.(*corev1.PersistentVolumeClaimList).Items, PersistentVolumeClaim)
	})
	add(&corev1.Namespace{}, func(o any) { Namespace(o.(*corev1.Namespace)) })
	add(&corev1.NamespaceList{}, func(o any) { eachPtr(o.(*corev1.NamespaceList).Items, Namespace) })
	add(&corev1.Node{}, func(o any) { Node(o.(*corev1.Node)) })
	add(&corev1.NodeList{}, func(o any) { eachPtr(o.(*corev1.NodeList).Items, Node) })
	add(&corev1.Secret{}, func(o any) { Secret(o.(*corev1.Secret)) })
	add(&corev1.SecretList{}, func(o any) { eachPtr(o.(*corev1.SecretList).Items, Secret) })
	add(&corev1.ConfigMap{}, func(o any) { ConfigMap(o.(*corev1.ConfigMap)) })
	add(&corev1.ConfigMapList{}, func(o any) { eachPtr(o.(*corev1.ConfigMapList).Items, ConfigMap) })

	add(&appsv1.StatefulSet{}, func(o any) { StatefulSet(o.(*appsv1.StatefulSet)) })
	add(&appsv1.StatefulSetList{}, func(o any) { eachPtr(o.(*appsv1.StatefulSetList).Items, StatefulSet) })

	add(&discoveryv1.EndpointSlice{}, func(o any) { EndpointSlice(o.(*discoveryv1.EndpointSlice)) })
	add(&discoveryv1.EndpointSliceList{}, func(o any) { eachPtr(o.(*discoveryv1.EndpointSliceList).Items, EndpointSlice) })

	add(&storagev1.StorageClass{}, func(o any) { StorageClass(o.(*storagev1.StorageClass)) })
	add(&storagev1.StorageClassList{}, func(o any) { eachPtr(o.(*storagev1.StorageClassList).Items, StorageClass) })

	add(&rbacv1.RoleBinding{}, func(o any) { RoleBinding(o.(*rbacv1.RoleBinding)) })
	add(&rbacv1.RoleBindingList{}, func(o any) { eachPtr(o.(*rbacv1.RoleBindingList).Items, RoleBinding) })
	add(&rbacv1.ClusterRoleBinding{}, func(o any) { ClusterRoleBinding(o.(*rbacv1.ClusterRoleBinding)) })
	add(&rbacv1.ClusterRoleBindingList{}, func(o any) {
		eachPtr(o.(*rbacv1.ClusterRoleBindingList).Items, ClusterRoleBinding)
	})
	return nil
}

func eachPtr[T any](items []T, fn func(*T)) {
	for i := range items {
		fn(&items[i])
	}
}
