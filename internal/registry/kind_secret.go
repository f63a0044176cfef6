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

// secretKind is core/v1 Secret: Opaque unless typed, stringData merged
// into data on every write.
func secretKind() *Kind {
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("Secret"), Resource: "secrets", Singular: "secret",
		Namespaced: true,
		New:        func() runtime.Object { return &corev1.Secret{} }, NewList: func() runtime.Object { return &corev1.SecretList{} },
		PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
			s := obj.(*corev1.Secret)
			if s.Type == "" {
				s.Type = corev1.SecretTypeOpaque
			}
			mergeStringData(s)
		},
		PrepareForUpdate: func(ctx context.Context, obj, old runtime.Object) { mergeStringData(obj.(*corev1.Secret)) },
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"type": string(obj.(*corev1.Secret).Type)}
		},

		Validate:       validateCreate(validation.ValidateSecret),
		ValidateUpdate: validateUpdate(validation.ValidateSecretUpdate),
		Default:        defaulter(defaults.Secret),
		Printer:        printers.Secret,
	}
}

// mergeStringData writes a Secret's stringData into its data, each key
// overwriting data's, and drops stringData: it is write-only and never
// stored, as kube's conversion of v1.Secret to its internal type does. The
// merged data is then validated, size limit included.
func mergeStringData(s *corev1.Secret) {
	if len(s.StringData) > 0 && s.Data == nil {
		s.Data = make(map[string][]byte, len(s.StringData))
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}
