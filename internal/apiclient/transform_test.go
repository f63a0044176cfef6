package apiclient

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

func TestDropManagedFields(t *testing.T) {
	mf := []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", ManagedFields: mf, Labels: map[string]string{"app": "web"}}}
	got, err := DropManagedFields(pod)
	if err != nil {
		t.Fatal(err)
	}
	p := got.(*corev1.Pod)
	if p.ManagedFields != nil || p.Name != "web-0" || p.Labels["app"] != "web" {
		t.Errorf("pod after transform: %+v", p.ObjectMeta)
	}

	meta := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "m", ManagedFields: mf}}
	if got, _ := DropManagedFields(meta); got.(*metav1.PartialObjectMetadata).ManagedFields != nil {
		t.Error("metadata-only object kept its managed fields")
	}

	tomb := cache.DeletedFinalStateUnknown{Key: "default/web-1", Obj: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", ManagedFields: mf}}}
	got, err = DropManagedFields(tomb)
	if err != nil {
		t.Fatal(err)
	}
	gt := got.(cache.DeletedFinalStateUnknown)
	if gt.Key != "default/web-1" || gt.Obj.(*corev1.Pod).ManagedFields != nil {
		t.Errorf("tombstone after transform: %+v", gt)
	}

	// Something that is not an object passes through unchanged.
	if got, err := DropManagedFields("not an object"); err != nil || got != "not an object" {
		t.Errorf("non-object: %v, %v", got, err)
	}
}
