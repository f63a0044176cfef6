package apiserver

import (
	"context"
	"fmt"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
)

// namespaceGetter reads namespaces (from the watch cache).
type namespaceGetter interface {
	Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error)
}

// namespaceLifecycle refuses to create objects in a namespace that does not
// exist or is being deleted, as kube's NamespaceLifecycle admission does.
type namespaceLifecycle struct {
	namespaces atomic.Pointer[namespaceGetter]
}

var _ admission.ValidationInterface = &namespaceLifecycle{}

func (n *namespaceLifecycle) Handles(op admission.Operation) bool { return op == admission.Create }

func (n *namespaceLifecycle) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	ns := a.GetNamespace()
	if ns == "" || a.GetKind().GroupKind() == corev1.SchemeGroupVersion.WithKind("Namespace").GroupKind() {
		return nil
	}
	// Subresources that create (binding, eviction) act on existing objects.
	if a.GetSubresource() != "" {
		return nil
	}
	getter := n.namespaces.Load()
	if getter == nil {
		return apierrors.NewServiceUnavailable("the API server is still starting")
	}
	obj, err := (*getter).Get(ctx, ns, &metav1.GetOptions{ResourceVersion: "0"})
	if apierrors.IsNotFound(err) {
		// The cache may lag a namespace created a moment ago: ask etcd.
		obj, err = (*getter).Get(ctx, ns, &metav1.GetOptions{})
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			return apierrors.NewNotFound(corev1.Resource("namespaces"), ns)
		}
		return apierrors.NewInternalError(fmt.Errorf("checking namespace %s: %w", ns, err))
	}
	if nsObj, ok := obj.(*corev1.Namespace); ok && (nsObj.DeletionTimestamp != nil || nsObj.Status.Phase == corev1.NamespaceTerminating) {
		return apierrors.NewForbidden(a.GetResource().GroupResource(), a.GetName(),
			fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
	}
	return nil
}
