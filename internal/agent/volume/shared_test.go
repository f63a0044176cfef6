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
)

// A claim bound to a shared volume gets its directory under the node's
// shared root made on mount (by whichever node mounts it first); outside the
// shared root and the volume dir a missing path stays an error.
func TestMountSharedVolume(t *testing.T) {
	dir := t.TempDir()
	shared := filepath.Join(dir, "shared")
	bound := func(pv string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{
			Spec:   corev1.PersistentVolumeClaimSpec{VolumeName: pv},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
		}
	}
	objs := objects{
		pvcs: map[string]*corev1.PersistentVolumeClaim{"ns/data-web-0": bound("pvc-s"), "ns/other-web-0": bound("pvc-o")},
		pvs: map[string]*corev1.PersistentVolume{
			"pvc-s": localPV("pvc-s", "", filepath.Join(shared, "pvc-s")),
			"pvc-o": localPV("pvc-o", "", filepath.Join(dir, "elsewhere", "pvc-o")),
		},
	}
	m, err := New(Config{NodeName: "n1", VolumeDir: filepath.Join(dir, "volumes"), SharedDir: shared,
		PodsDir: filepath.Join(dir, "pods"), Objects: objs, Fields: fieldsStub{}})
	if err != nil {
		t.Fatal(err)
	}
	pod := func(claim string) *corev1.Pod { // one pod (UID) per claim: a pod's volumes never change
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "ns", UID: types.UID("u-" + claim)},
			Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
			}}}},
		}
	}
	vols, err := m.Mount(context.Background(), pod("data-web-0"))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(shared, "pvc-s")
	if v := vols["data"]; v.HostPath != want || !v.Local {
		t.Errorf("data -> %+v, want local %s", v, want)
	}
	if st, err := os.Stat(want); err != nil || !st.IsDir() || st.Mode().Perm() != 0o777 {
		t.Errorf("shared volume directory: %v, %v", st, err)
	}
	if _, err := m.Mount(context.Background(), pod("other-web-0")); err == nil || !strings.Contains(err.Error(), "local path") {
		t.Errorf("mount of a missing path outside the roots: %v", err)
	}
}
