package registry

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"

	"petset/internal/registry/validation"
)

// finalizerKubernetes is the namespace finalizer the namespace controller
// removes once the namespace is empty.
const finalizerKubernetes = corev1.FinalizerKubernetes

// NamespaceREST is the namespaces store with kube's two-phase deletion: a
// DELETE of a namespace whose spec.finalizers is not empty only marks it
// Terminating; the namespace controller empties it and removes its
// finalizer through namespaces/finalize, then deletes it for real.
type NamespaceREST struct {
	*Store
}

// Delete marks the namespace Terminating, or removes it once finalized.
func (r *NamespaceREST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	switch name {
	case metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic:
		return nil, false, apierrors.NewForbidden(corev1.Resource("namespaces"), name, fmt.Errorf("this namespace may not be deleted"))
	}
	obj, err := r.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	ns := obj.(*corev1.Namespace)
	if options == nil {
		options = metav1.NewDeleteOptions(0)
	}
	if options.Preconditions == nil {
		options.Preconditions = &metav1.Preconditions{}
	}
	if options.Preconditions.UID == nil {
		options.Preconditions.UID = &ns.UID
	} else if *options.Preconditions.UID != ns.UID {
		return nil, false, apierrors.NewConflict(corev1.Resource("namespaces"), name,
			fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v", *options.Preconditions.UID, ns.UID))
	}
	if len(ns.Spec.Finalizers) == 0 {
		return r.Store.Delete(ctx, name, deleteValidation, options)
	}
	if ns.DeletionTimestamp != nil {
		return ns, false, nil
	}
	if len(options.DryRun) > 0 {
		return ns, false, nil
	}
	key, err := r.KeyFunc(ctx, name)
	if err != nil {
		return nil, false, err
	}
	out := &corev1.Namespace{}
	uid := ns.UID
	err = r.Storage.GuaranteedUpdate(ctx, key, out, false, &storage.Preconditions{UID: &uid},
		storage.SimpleUpdate(func(existing runtime.Object) (runtime.Object, error) {
			cur := existing.(*corev1.Namespace)
			if deleteValidation != nil {
				if err := deleteValidation(ctx, cur); err != nil {
					return nil, err
				}
			}
			if cur.DeletionTimestamp == nil {
				now := metav1.Now()
				cur.DeletionTimestamp = &now
				zero := int64(0)
				cur.DeletionGracePeriodSeconds = &zero
			}
			cur.Status.Phase = corev1.NamespaceTerminating
			return cur, nil
		}), false, nil)
	if err != nil {
		if storage.IsNotFound(err) {
			return nil, false, apierrors.NewNotFound(corev1.Resource("namespaces"), name)
		}
		return nil, false, err
	}
	return out, false, nil
}

// FinalizeREST serves namespaces/finalize: it changes spec.finalizers
// only.
type FinalizeREST struct {
	namespaces *Store
}

var _ rest.Updater = &FinalizeREST{}

func (r *FinalizeREST) New() runtime.Object { return &corev1.Namespace{} }
func (r *FinalizeREST) Destroy()            {}

func (r *FinalizeREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	key, err := r.namespaces.KeyFunc(ctx, name)
	if err != nil {
		return nil, false, err
	}
	var precondUID *types.UID
	if pre := objInfo.Preconditions(); pre != nil {
		precondUID = pre.UID
	}
	out := &corev1.Namespace{}
	err = r.namespaces.Storage.GuaranteedUpdate(ctx, key, out, false, &storage.Preconditions{UID: precondUID},
		storage.SimpleUpdate(func(existing runtime.Object) (runtime.Object, error) {
			old := existing.(*corev1.Namespace)
			obj, err := objInfo.UpdatedObject(ctx, old.DeepCopy())
			if err != nil {
				return nil, err
			}
			next, ok := obj.(*corev1.Namespace)
			if !ok {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("not a Namespace: %T", obj))
			}
			cur := old.DeepCopy()
			cur.Spec.Finalizers = next.Spec.Finalizers
			if errs := validation.ValidateNamespaceFinalizeUpdate(cur, old); len(errs) > 0 {
				return nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Namespace").GroupKind(), name, errs)
			}
			if next.ResourceVersion != "" && next.ResourceVersion != old.ResourceVersion {
				return nil, apierrors.NewConflict(corev1.Resource("namespaces"), name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
			}
			return cur, nil
		}), len(options.DryRun) > 0, nil)
	if err != nil {
		if storage.IsNotFound(err) {
			return nil, false, apierrors.NewNotFound(corev1.Resource("namespaces"), name)
		}
		return nil, false, err
	}
	return out, false, nil
}
