package controlplane

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"petset/internal/allocator"
	"petset/internal/clusterservice"
	"petset/internal/sharedvolume"
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

// dnsOffset is kube-dns' address in the service range: the tenth, as
// kubeadm gives it (10.96.0.10).
const dnsOffset = 9

// ensureDNSService creates the kube-dns Service once (its endpoints are
// the clusterservice.DNSEndpoints controller's). When the tenth address is
// taken already (a data dir from before), it gets any free one.
func ensureDNSService(ctx context.Context, client kubernetes.Interface, ips *allocator.IPRange) error {
	svcs := client.CoreV1().Services(clusterservice.DNSNamespace)
	if _, err := svcs.Get(ctx, clusterservice.DNSName, metav1.GetOptions{}); err == nil {
		return nil
	}
	_, err := svcs.Create(ctx, clusterservice.DNSService(ips.Value(dnsOffset)), metav1.CreateOptions{})
	if apierrors.IsInvalid(err) || apierrors.IsConflict(err) {
		_, err = svcs.Create(ctx, clusterservice.DNSService(""), metav1.CreateOptions{})
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create service %s/%s: %w", clusterservice.DNSNamespace, clusterservice.DNSName, err)
	}
	return nil
}

// bootstrapObjects create further first-start objects (the default
// StorageClass); each returns AlreadyExists when there is nothing to do.
var bootstrapObjects []func(context.Context, kubernetes.Interface) error

// ensureSharedClass creates the "shared" StorageClass of the server's shared
// volume dir when there is none. A class of that name made for another
// directory (another ID in its topology) is kept, with a warning: its
// volumes' nodes would not match this server's.
func (c *ControlPlane) ensureSharedClass(ctx context.Context, client kubernetes.Interface) error {
	if c.sharedID == "" {
		return nil
	}
	want := sharedvolume.StorageClass(c.sharedID)
	classes := client.StorageV1().StorageClasses()
	_, err := classes.Create(ctx, want, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("create storage class %s: %w", want.Name, err)
		}
		return nil
	}
	got, err := classes.Get(ctx, want.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get storage class %s: %w", want.Name, err)
	}
	if got.Provisioner != want.Provisioner || !apiequality.Semantic.DeepEqual(got.AllowedTopologies, want.AllowedTopologies) {
		c.log.Warn("storage class "+want.Name+" exists but is not this server's shared volume dir's: left as it is",
			"provisioner", got.Provisioner, "dir", c.cfg.SharedVolumeDir, "id", c.sharedID)
	}
	return nil
}
