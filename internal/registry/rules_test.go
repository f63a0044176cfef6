package registry

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// AddDefaults makes the codec default the kinds' objects on decode, and the
// items of their lists.
func TestAddDefaultsOnDecode(t *testing.T) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, discoveryv1.AddToScheme, storagev1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	if err := AddDefaults(scheme, Kinds(Deps{})); err != nil {
		t.Fatal(err)
	}
	codecs := serializer.NewCodecFactory(scheme)
	decode := func(s string) runtime.Object {
		t.Helper()
		obj, _, err := codecs.UniversalDecoder(corev1.SchemeGroupVersion, appsv1.SchemeGroupVersion, discoveryv1.SchemeGroupVersion, storagev1.SchemeGroupVersion).Decode([]byte(s), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return obj
	}
	pvc := decode(`{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"c"},"spec":{"accessModes":["ReadWriteOnce"]}}`).(*corev1.PersistentVolumeClaim)
	if pvc.Spec.VolumeMode == nil || *pvc.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || pvc.Status.Phase != corev1.ClaimPending {
		t.Errorf("pvc not defaulted: %+v", pvc)
	}
	ns := decode(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"demo"}}`).(*corev1.Namespace)
	if ns.Labels[corev1.LabelMetadataName] != "demo" || ns.Status.Phase != corev1.NamespaceActive {
		t.Errorf("namespace not defaulted: %+v", ns)
	}
	list := decode(`{"apiVersion":"apps/v1","kind":"StatefulSetList","items":[{"metadata":{"name":"web"},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"x"}]}}}}]}`).(*appsv1.StatefulSetList)
	if got := list.Items[0].Spec; got.Replicas == nil || *got.Replicas != 1 || got.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("statefulset in list not defaulted: %+v", got)
	}
	sc := decode(`{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"local"},"provisioner":"petset.io/local"}`).(*storagev1.StorageClass)
	if *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete || *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate {
		t.Errorf("storageclass not defaulted: %+v", sc)
	}
	es := decode(`{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"e"},"addressType":"IPv4","endpoints":[],"ports":[{"port":80}]}`).(*discoveryv1.EndpointSlice)
	if es.Ports[0].Name == nil || *es.Ports[0].Name != "" || *es.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("endpointslice not defaulted: %+v", es.Ports)
	}
	pv := decode(`{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv"},"spec":{"capacity":{"storage":"1Gi"},"hostPath":{"path":"/x"}}}`).(*corev1.PersistentVolume)
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain || *pv.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || pv.Status.Phase != corev1.VolumePending {
		t.Errorf("pv not defaulted: %+v", pv)
	}
	sec := decode(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}`).(*corev1.Secret)
	if sec.Type != corev1.SecretTypeOpaque {
		t.Errorf("secret type %q", sec.Type)
	}
	node := decode(`{"apiVersion":"v1","kind":"Node","metadata":{"name":"n"},"status":{"capacity":{"cpu":"2"}}}`).(*corev1.Node)
	if node.Status.Allocatable.Cpu().String() != "2" {
		t.Errorf("node allocatable %v", node.Status.Allocatable)
	}
}
