package registry

import (
	"context"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// networkPolicyKind is networking.k8s.io/v1 NetworkPolicy. Node agents with
// a real network enforce it (internal/agent/netpol, docs/networkpolicy.md);
// v1 has no status (upstream tombstoned it), so there is no status
// subresource; as upstream's strategy, a create sets generation 1 and a
// spec change moves it.
func networkPolicyKind() *Kind {
	return &Kind{
		GVK: networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"), Resource: "networkpolicies", Singular: "networkpolicy",
		Namespaced: true, ShortNames: []string{"netpol"},
		New:     func() runtime.Object { return &networkingv1.NetworkPolicy{} },
		NewList: func() runtime.Object { return &networkingv1.NetworkPolicyList{} },

		Validate:         validateCreate(validation.ValidateNetworkPolicy),
		ValidateUpdate:   validateUpdate(validation.ValidateNetworkPolicyUpdate),
		Default:          defaulter(defaults.NetworkPolicy),
		PrepareForCreate: func(_ context.Context, obj runtime.Object) { obj.(*networkingv1.NetworkPolicy).Generation = 1 },
		PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
			np, was := obj.(*networkingv1.NetworkPolicy), old.(*networkingv1.NetworkPolicy)
			if !equality.Semantic.DeepEqual(np.Spec, was.Spec) {
				np.Generation = was.Generation + 1
			}
		},
		Printer: printers.NetworkPolicy,
	}
}
