package registry

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// configMapKind is core/v1 ConfigMap.
func configMapKind() *Kind {
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("ConfigMap"), Resource: "configmaps", Singular: "configmap",
		Namespaced: true, ShortNames: []string{"cm"},
		New: func() runtime.Object { return &corev1.ConfigMap{} }, NewList: func() runtime.Object { return &corev1.ConfigMapList{} },

		Validate:       validateCreate(validation.ValidateConfigMap),
		ValidateUpdate: validateUpdate(validation.ValidateConfigMapUpdate),
		Default:        defaulter(defaults.ConfigMap),
		Printer:        printers.ConfigMap,
	}
}
