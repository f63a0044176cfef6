package apiserver

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiserver/pkg/admission"

	"petset/internal/controller/storageprotection"
)

// storageObjectInUseProtection is kube's StorageObjectInUseProtection
// admission plugin: every PersistentVolumeClaim is created with the
// kubernetes.io/pvc-protection finalizer and every PersistentVolume with
// kubernetes.io/pv-protection, so deleting one that is in use leaves it
// Terminating until the storageprotection controllers find it unused.
type storageObjectInUseProtection struct{}

var _ admission.MutationInterface = storageObjectInUseProtection{}

func (storageObjectInUseProtection) Handles(op admission.Operation) bool {
	return op == admission.Create
}

func (storageObjectInUseProtection) Admit(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" {
		return nil
	}
	switch obj := a.GetObject().(type) {
	case *corev1.PersistentVolumeClaim:
		if a.GetResource().GroupResource() == corev1.Resource("persistentvolumeclaims") {
			addFinalizer(&obj.Finalizers, storageprotection.PVCFinalizer)
		}
	case *corev1.PersistentVolume:
		if a.GetResource().GroupResource() == corev1.Resource("persistentvolumes") {
			addFinalizer(&obj.Finalizers, storageprotection.PVFinalizer)
		}
	}
	return nil
}

func addFinalizer(finalizers *[]string, f string) {
	if !slices.Contains(*finalizers, f) {
		*finalizers = append(*finalizers, f)
	}
}
