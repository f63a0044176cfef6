package rootcacert

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// TestSync: an active namespace gets kube-root-ca.crt, a tampered one is
// put back, a terminating namespace gets none.
func TestSync(t *testing.T) {
	ctx := context.Background()
	now := metav1.Now()
	objs := []struct {
		ns       *corev1.Namespace
		existing *corev1.ConfigMap
	}{
		{ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fresh"}}},
		{ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tampered"}},
			existing: &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "tampered", Name: ConfigMapName}, Data: map[string]string{Key: "evil", "x": "y"}}},
		{ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "going", DeletionTimestamp: &now}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}},
	}
	client := fake.NewClientset()
	f := informers.NewSharedInformerFactory(client, 0)
	p := New(ctx, client, []byte("CA"), f.Core().V1().Namespaces(), f.Core().V1().ConfigMaps())
	for _, o := range objs {
		if _, err := client.CoreV1().Namespaces().Create(ctx, o.ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_ = f.Core().V1().Namespaces().Informer().GetStore().Add(o.ns)
		if o.existing != nil {
			if _, err := client.CoreV1().ConfigMaps(o.ns.Name).Create(ctx, o.existing, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			_ = f.Core().V1().ConfigMaps().Informer().GetStore().Add(o.existing)
		}
	}
	for _, o := range objs {
		if _, err := p.sync(ctx, o.ns.Name); err != nil {
			t.Fatalf("sync %s: %v", o.ns.Name, err)
		}
	}
	for _, ns := range []string{"fresh", "tampered"} {
		cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, ConfigMapName, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: %v", ns, err)
		}
		if len(cm.Data) != 1 || cm.Data[Key] != "CA" || cm.Annotations[descriptionAnnotation] == "" {
			t.Errorf("%s: %+v", ns, cm)
		}
	}
	if _, err := client.CoreV1().ConfigMaps("going").Get(ctx, ConfigMapName, metav1.GetOptions{}); err == nil {
		t.Error("a terminating namespace got kube-root-ca.crt")
	}
}
