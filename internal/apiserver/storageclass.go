package apiserver

import (
	"context"
	"fmt"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"

	"petset/internal/controller/volume"
)

// objectLister lists the objects of a store.
type objectLister interface {
	List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error)
}

// defaultStorageClass is kube's DefaultStorageClass admission plugin: a
// PersistentVolumeClaim created without spec.storageClassName (nil, not
// "") gets the name of the default StorageClass — of several, the newest
// (ties by name), as volume.DefaultClassOf chooses; with none it is left
// nil. Claims that exist before a default class does get it later from
// the volume controller (upstream's retroactive default StorageClass).
type defaultStorageClass struct {
	classes atomic.Pointer[objectLister]
}

var _ admission.MutationInterface = &defaultStorageClass{}

func (d *defaultStorageClass) Handles(op admission.Operation) bool { return op == admission.Create }

func (d *defaultStorageClass) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != corev1.Resource("persistentvolumeclaims") || a.GetSubresource() != "" {
		return nil
	}
	pvc, ok := a.GetObject().(*corev1.PersistentVolumeClaim)
	if !ok || pvc.Spec.StorageClassName != nil {
		return nil
	}
	// The beta annotation, when set, is the claim's class (as upstream's
	// PersistentVolumeClaimHasClass).
	if _, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		return nil
	}
	lister := d.classes.Load()
	if lister == nil {
		return apierrors.NewServiceUnavailable("the API server is still starting")
	}
	// A consistent list: a default class created a moment ago counts.
	obj, err := (*lister).List(ctx, &metainternalversion.ListOptions{})
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("listing storage classes: %w", err))
	}
	list, ok := obj.(*storagev1.StorageClassList)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("listing storage classes: unexpected %T", obj))
	}
	classes := make([]*storagev1.StorageClass, 0, len(list.Items))
	for i := range list.Items {
		classes = append(classes, &list.Items[i])
	}
	if def := volume.DefaultClassOf(classes); def != nil {
		name := def.Name
		pvc.Spec.StorageClassName = &name
	}
	return nil
}
