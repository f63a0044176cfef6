package integration

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"petset/internal/controller/storageprotection"
)

func protectedPair(name string) (*corev1.PersistentVolume, *corev1.PersistentVolumeClaim) {
	size := corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-" + name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      size,
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/petset-it-" + name}},
		},
	}
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: size},
			StorageClassName: ptr.To(""),
			VolumeName:       pv.Name,
		},
	}
	return pv, claim
}

// TestStorageObjectInUseProtection: claims and volumes are created with
// their protection finalizers; a claim deleted under a running pod stays
// (Terminating) until the pod is gone, then goes; its volume, deleted
// while Bound, stays until the claim is gone and it is Released. Claims and
// volumes stored without the finalizer get it back.
func TestStorageObjectInUseProtection(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	claims, volumes, pods := c.client.CoreV1().PersistentVolumeClaims("default"), c.client.CoreV1().PersistentVolumes(), c.client.CoreV1().Pods("default")
	if _, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "protect-node"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"data", "spare"} {
		pv, claim := protectedPair(name)
		pv, err := volumes.Create(ctx, pv, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		claim, err = claims.Create(ctx, claim, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(pv.Finalizers, storageprotection.PVFinalizer) || !slices.Contains(claim.Finalizers, storageprotection.PVCFinalizer) {
			t.Fatalf("created without protection: pv %v, claim %v", pv.Finalizers, claim.Finalizers)
		}
	}
	eventually(t, "claims bound", func() (bool, error) {
		for _, name := range []string{"data", "spare"} {
			cl, err := claims.Get(ctx, name, metav1.GetOptions{})
			if err != nil || cl.Status.Phase != corev1.ClaimBound {
				return false, err
			}
		}
		v, err := volumes.Get(ctx, "pv-data", metav1.GetOptions{})
		return err == nil && v.Status.Phase == corev1.VolumeBound, err
	})

	// A running pod on a node uses "data".
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "user"},
		Spec: corev1.PodSpec{
			NodeName:   "protect-node",
			Containers: []corev1.Container{{Name: "c", Image: "busybox", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
		},
	}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	setPodStatus(t, c, "user", func(s *corev1.PodStatus) { s.Phase = corev1.PodRunning })

	// Delete the used claim, its volume, then the unused claim. The
	// controller has one worker and a FIFO queue: once "spare" is gone,
	// "data" has been looked at.
	if err := claims.Delete(ctx, "data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := volumes.Delete(ctx, "pv-data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := claims.Delete(ctx, "spare", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "unused claim spare gone", func() (bool, error) {
		_, err := claims.Get(ctx, "spare", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	cl, err := claims.Get(ctx, "data", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("claim used by a running pod: %v", err)
	}
	if cl.DeletionTimestamp == nil || !slices.Contains(cl.Finalizers, storageprotection.PVCFinalizer) {
		t.Fatalf("claim used by a running pod: deletionTimestamp %v, finalizers %v", cl.DeletionTimestamp, cl.Finalizers)
	}
	// The unused claim's volume was released and, Retain, stays.
	eventually(t, "pv-spare Released", func() (bool, error) {
		v, err := volumes.Get(ctx, "pv-spare", metav1.GetOptions{})
		return err == nil && v.Status.Phase == corev1.VolumeReleased, err
	})
	v, err := volumes.Get(ctx, "pv-data", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("volume deleted while Bound: %v", err)
	}
	if v.DeletionTimestamp == nil || v.Status.Phase != corev1.VolumeBound || !slices.Contains(v.Finalizers, storageprotection.PVFinalizer) {
		t.Fatalf("volume deleted while Bound: deletionTimestamp %v, phase %s, finalizers %v", v.DeletionTimestamp, v.Status.Phase, v.Finalizers)
	}

	// The pod goes: the claim goes, then its volume.
	if err := pods.Delete(ctx, "user", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "claim data gone", func() (bool, error) {
		_, err := claims.Get(ctx, "data", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	eventually(t, "volume pv-data gone", func() (bool, error) {
		_, err := volumes.Get(ctx, "pv-data", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})

	// Objects stored before the admission existed get their finalizer.
	if _, err := claims.Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "old"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}},
			// A class nothing provisions keeps the claim Pending.
			StorageClassName: ptr.To("none"),
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stripFinalizers(t, func() error {
		cl, err := claims.Get(ctx, "old", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cl.Finalizers = nil
		_, err = claims.Update(ctx, cl, metav1.UpdateOptions{})
		return err
	})
	stripFinalizers(t, func() error {
		v, err := volumes.Get(ctx, "pv-spare", metav1.GetOptions{})
		if err != nil {
			return err
		}
		v.Finalizers = nil
		_, err = volumes.Update(ctx, v, metav1.UpdateOptions{})
		return err
	})
	eventually(t, "finalizers added back", func() (bool, error) {
		cl, err := claims.Get(ctx, "old", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		v, err := volumes.Get(ctx, "pv-spare", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return slices.Contains(cl.Finalizers, storageprotection.PVCFinalizer) && slices.Contains(v.Finalizers, storageprotection.PVFinalizer), nil
	})
}

func stripFinalizers(t *testing.T, update func() error) {
	t.Helper()
	if err := retry.RetryOnConflict(retry.DefaultRetry, update); err != nil {
		t.Fatal(err)
	}
}
