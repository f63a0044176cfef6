package serviceaccount

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// TestSync: an active namespace without a default ServiceAccount gets one;
// a terminating namespace does not.
func TestSync(t *testing.T) {
	ctx := context.Background()
	now := metav1.Now()
	client := fake.NewClientset()
	f := informers.NewSharedInformerFactory(client, 0)
	c := New(ctx, client, f.Core().V1().Namespaces(), f.Core().V1().ServiceAccounts(), 1)
	for _, ns := range []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "fresh"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "going", DeletionTimestamp: &now}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
	} {
		if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_ = f.Core().V1().Namespaces().Informer().GetStore().Add(ns)
		if err := c.sync(ctx, ns.Name); err != nil {
			t.Fatalf("sync %s: %v", ns.Name, err)
		}
	}
	if _, err := client.CoreV1().ServiceAccounts("fresh").Get(ctx, DefaultName, metav1.GetOptions{}); err != nil {
		t.Errorf("no default ServiceAccount in fresh: %v", err)
	}
	if _, err := client.CoreV1().ServiceAccounts("going").Get(ctx, DefaultName, metav1.GetOptions{}); err == nil {
		t.Error("a terminating namespace got a default ServiceAccount")
	}
}
