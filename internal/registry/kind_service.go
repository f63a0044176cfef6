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

// serviceKind is core/v1 Service: cluster IPs and node ports are allocated
// from ips and ports for the duration of a write, kept across updates that
// leave them out, and released on delete; services/proxy reaches a ready
// endpoint.
func serviceKind(ips, ports Allocator) *Kind {
	a := serviceAllocation{ips: ips, ports: ports}
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("Service"), Resource: "services", Singular: "service",
		Namespaced: true, ShortNames: []string{"svc"}, Categories: []string{"all"},
		HasStatus: true, ReturnDeletedObject: true,
		New: func() runtime.Object { return &corev1.Service{} }, NewList: func() runtime.Object { return &corev1.ServiceList{} },
		BeginCreate: a.beginCreate,
		BeginUpdate: a.beginUpdate,
		AfterDelete: a.afterDelete,
		PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
			svc := obj.(*corev1.Service)
			svc.Generation = 0
		},
		PrepareForUpdate: func(ctx context.Context, obj, old runtime.Object) {
			keepAllocatedIPs(obj.(*corev1.Service), old.(*corev1.Service))
		},
		Fields: func(obj runtime.Object) fields.Set {
			svc := obj.(*corev1.Service)
			return fields.Set{"spec.clusterIP": svc.Spec.ClusterIP, "spec.type": string(svc.Spec.Type)}
		},

		Validate:             validateCreate(validation.ValidateService),
		ValidateUpdate:       validateUpdate(validation.ValidateServiceUpdate),
		ValidateStatusUpdate: validateUpdate(validation.ValidateServiceStatusUpdate),
		Default:              defaulter(defaults.Service),
		Printer:              printers.Service,
		Subresources: func(self *Store, stores map[schema.GroupResource]*Store) map[string]rest.Storage {
			return map[string]rest.Storage{
				"proxy": &ServiceProxyREST{services: self, endpoints: stores[corev1.Resource("endpoints")]},
			}
		},
	}
}
