package registry

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// leaseKind is coordination.k8s.io/v1 Lease (node heartbeats, leader
// election); an update must name the resourceVersion it replaces.
func leaseKind() *Kind {
	return &Kind{
		GVK: coordinationv1.SchemeGroupVersion.WithKind("Lease"), Resource: "leases", Singular: "lease",
		Namespaced: true, NoUnconditionalUpdate: true,
		New: func() runtime.Object { return &coordinationv1.Lease{} }, NewList: func() runtime.Object { return &coordinationv1.LeaseList{} },

		Validate:       validateCreate(validation.ValidateLease),
		ValidateUpdate: validateUpdate(validation.ValidateLeaseUpdate),
		NoDefaults:     true,
		Printer:        printers.Lease,
	}
}
