package volume

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"petset/internal/controller/storageprotection"
)

// TestDeletedBoundVolumeReleased: a volume deleted while Bound is held by
// pv-protection; it must still be synced, so that it turns Released once
// its claim is gone (which lets pv-protection remove its finalizer).
func TestDeletedBoundVolumeReleased(t *testing.T) {
	pv, c := bound("held", "1Gi", v1.PersistentVolumeReclaimRetain, hostPath("/h"), "c-held")
	pv.Finalizers = []string{storageprotection.PVFinalizer}
	h := start(t, pv, c)
	h.waitClaimPhase("c-held", v1.ClaimBound)
	h.waitVolumePhase("held", v1.VolumeBound)

	// What the API server does to a deleted object with finalizers.
	v := h.pv("held")
	now := metav1.Now()
	v.DeletionTimestamp = &now
	if _, err := h.client.CoreV1().PersistentVolumes().Update(h.ctx, v, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.deleteClaim("c-held")
	h.waitVolumePhase("held", v1.VolumeReleased)
}
