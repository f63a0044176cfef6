package volume

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

// TestReclaimWaitsForPVProtection: a local volume deleted while its
// pv-protection finalizer is still on (it is Bound) keeps its data; once
// pv-protection lets go, the directory and the local-volume finalizer go.
func TestReclaimWaitsForPVProtection(t *testing.T) {
	dir := t.TempDir()
	volDir := filepath.Join(dir, "volumes")
	pv := localPV("pvc-held", "n1", filepath.Join(volDir, "pvc-held"))
	pv.Finalizers = append(pv.Finalizers, pvProtectionFinalizer)
	now := metav1.Now()
	pv.DeletionTimestamp = &now
	data := filepath.Join(pv.Spec.Local.Path, "index.html")
	if err := os.MkdirAll(pv.Spec.Local.Path, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data, []byte("web-2"), 0o644); err != nil {
		t.Fatal(err)
	}
	client := fake.NewClientset(pv)
	m, err := New(Config{NodeName: "n1", VolumeDir: volDir, PodsDir: filepath.Join(dir, "pods"), Objects: objects{}, Fields: fieldsStub{}, Client: client})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.ReconcilePV(ctx, pv); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(data); err != nil {
		t.Fatalf("data of a bound volume removed: %v", err)
	}
	got, _ := client.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
	if len(got.Finalizers) != 2 {
		t.Fatalf("finalizers %v", got.Finalizers)
	}

	got.Finalizers = []string{Finalizer}
	if _, err := client.CoreV1().PersistentVolumes().Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := m.ReconcilePV(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pv.Spec.Local.Path); !os.IsNotExist(err) {
		t.Errorf("released volume's directory remains: %v", err)
	}
	got, _ = client.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
	if len(got.Finalizers) != 0 {
		t.Errorf("finalizers %v", got.Finalizers)
	}
}

// TestMountClaimBeingDeleted: as kubelet, a claim being deleted is mounted
// only while pvc-protection holds it (its pod was already using it).
func TestMountClaimBeingDeleted(t *testing.T) {
	dir := t.TempDir()
	volDir := filepath.Join(dir, "volumes")
	now := metav1.Now()
	claim := func(finalizers ...string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now, Finalizers: finalizers},
			Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: "pvc-1"},
			Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
		}
	}
	objs := objects{
		pvcs: map[string]*corev1.PersistentVolumeClaim{"ns/protected": claim(pvcProtectionFinalizer), "ns/bare": claim()},
		pvs:  map[string]*corev1.PersistentVolume{"pvc-1": localPV("pvc-1", "n1", filepath.Join(volDir, "pvc-1"))},
	}
	m, err := New(Config{NodeName: "n1", VolumeDir: volDir, PodsDir: filepath.Join(dir, "pods"), Objects: objs, Fields: fieldsStub{}})
	if err != nil {
		t.Fatal(err)
	}
	pod := func(claimName string) *corev1.Pod { // one pod (UID) per claim: a pod's volumes never change
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "ns", UID: types.UID("u-" + claimName)}, Spec: corev1.PodSpec{Volumes: []corev1.Volume{{
			Name: "www", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName}}}}}}
	}
	if _, err := m.Mount(context.Background(), pod("protected")); err != nil {
		t.Errorf("protected claim being deleted: %v", err)
	}
	if _, err := m.Mount(context.Background(), pod("bare")); err == nil || !strings.Contains(err.Error(), "is being deleted") {
		t.Errorf("unprotected claim being deleted: got %v, want 'is being deleted'", err)
	}
}
