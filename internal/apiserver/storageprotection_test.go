package apiserver

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
)

// TestStorageObjectInUseProtection: claims and volumes are created with
// their protection finalizer (once), next to the finalizers they came
// with; subresources and other kinds are left alone.
func TestStorageObjectInUseProtection(t *testing.T) {
	attrs := func(obj runtime.Object, resource, subresource string) admission.Attributes {
		return admission.NewAttributesRecord(obj, nil, corev1.SchemeGroupVersion.WithKind("X"), "ns", "x",
			corev1.SchemeGroupVersion.WithResource(resource), subresource, admission.Create, &metav1.CreateOptions{}, false, nil)
	}
	p := storageObjectInUseProtection{}
	for _, tc := range []struct {
		name     string
		obj      metav1.Object
		resource string
		sub      string
		want     []string
	}{
		{"claim", &corev1.PersistentVolumeClaim{}, "persistentvolumeclaims", "", []string{"kubernetes.io/pvc-protection"}},
		{"claim with finalizers", &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Finalizers: []string{"a", "kubernetes.io/pvc-protection"}}},
			"persistentvolumeclaims", "", []string{"a", "kubernetes.io/pvc-protection"}},
		{"volume", &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Finalizers: []string{"petset.io/local-volume"}}},
			"persistentvolumes", "", []string{"petset.io/local-volume", "kubernetes.io/pv-protection"}},
		{"status subresource", &corev1.PersistentVolume{}, "persistentvolumes", "status", nil},
		{"another kind", &corev1.ConfigMap{}, "configmaps", "", nil},
	} {
		if !p.Handles(admission.Create) || p.Handles(admission.Update) {
			t.Fatal("the plugin handles creation only")
		}
		if err := p.Admit(context.Background(), attrs(tc.obj.(runtime.Object), tc.resource, tc.sub), nil); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := tc.obj.GetFinalizers(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: finalizers %v, want %v", tc.name, got, tc.want)
		}
	}
}
