package registry

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// serviceAccountKind is core/v1 ServiceAccount; serviceaccounts/token
// issues tokens signed by tokens (none when tokens is nil).
func serviceAccountKind(tokens TokenIssuer) *Kind {
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("ServiceAccount"), Resource: "serviceaccounts", Singular: "serviceaccount",
		Namespaced: true, ShortNames: []string{"sa"},
		New: func() runtime.Object { return &corev1.ServiceAccount{} }, NewList: func() runtime.Object { return &corev1.ServiceAccountList{} },

		Validate:       validateCreate(validation.ValidateServiceAccount),
		ValidateUpdate: validateUpdate(validation.ValidateServiceAccountUpdate),
		NoDefaults:     true,
		Printer:        printers.ServiceAccount,
		Subresources: func(self *Store, stores map[schema.GroupResource]*Store) map[string]rest.Storage {
			if tokens == nil {
				return nil
			}
			return map[string]rest.Storage{"token": &TokenREST{
				issuer: tokens, serviceAccounts: self, pods: stores[corev1.Resource("pods")], nodes: stores[corev1.Resource("nodes")],
			}}
		},
	}
}
