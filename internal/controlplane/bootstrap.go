package controlplane

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// systemNamespaces exist on every cluster.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// bootstrap creates the objects every cluster starts with, once: the
// system namespaces and the default ServiceAccount in each (the
// serviceaccount controller keeps them afterwards; creating them here means
// pods may be created in them as soon as the API is ready). Objects that
// exist are left as they are.
func bootstrap(ctx context.Context, client kubernetes.Interface) error {
	for _, ns := range systemNamespaces {
		_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", ns, err)
		}
		_, err = client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create default service account in %s: %w", ns, err)
		}
	}
	for _, create := range bootstrapObjects {
		if err := create(ctx, client); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

// bootstrapObjects create further first-start objects (the default
// StorageClass); each returns AlreadyExists when there is nothing to do.
var bootstrapObjects []func(context.Context, kubernetes.Interface) error
