package registry

import (
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// storageClassKind is storage.k8s.io/v1 StorageClass.
func storageClassKind() *Kind {
	return &Kind{
		GVK: storagev1.SchemeGroupVersion.WithKind("StorageClass"), Resource: "storageclasses", Singular: "storageclass",
		ShortNames: []string{"sc"}, ReturnDeletedObject: true,
		New: func() runtime.Object { return &storagev1.StorageClass{} }, NewList: func() runtime.Object { return &storagev1.StorageClassList{} },

		Validate:       validateCreate(validation.ValidateStorageClass),
		ValidateUpdate: validateUpdate(validation.ValidateStorageClassUpdate),
		Default:        defaulter(defaults.StorageClass),
		Printer:        printers.StorageClass,
	}
}
