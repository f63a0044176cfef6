package volume

import (
	"context"
	"fmt"
	"os"
	"slices"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"petset/internal/controller/storageprotection"
	"petset/internal/logging"
	"petset/internal/sharedvolume"
)

// deleteSharedData removes the directory of a deleted shared volume that is
// no longer bound, then its finalizer. A volume of another root (or a path
// outside this server's) is left to a server that serves that root.
func (c *Controller) deleteSharedData(ctx context.Context, vol *v1.PersistentVolume) error {
	if c.shared.id == "" || sharedvolume.RootOf(vol) != c.shared.id {
		return nil
	}
	dir := ""
	if vol.Spec.Local != nil && sharedvolume.Under(c.shared.dir, vol.Spec.Local.Path) {
		dir = vol.Spec.Local.Path
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("deleting directory of shared volume %s: %w", vol.Name, err)
		}
	}
	upd := vol.DeepCopy()
	upd.Finalizers = slices.DeleteFunc(upd.Finalizers, func(f string) bool { return f == sharedvolume.Finalizer })
	if _, err := c.updateVolume(ctx, upd); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing finalizer %s of volume %s: %w", sharedvolume.Finalizer, vol.Name, err)
	}
	logging.FromContext(ctx).Info("shared volume's data deleted", "path", dir)
	return nil
}

func (c *Controller) syncVolume(ctx context.Context, name string) error {
	vol, err := c.volume(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("getting volume %s: %w", name, err)
	}
	if vol.DeletionTimestamp != nil && !slices.Contains(vol.Finalizers, storageprotection.PVFinalizer) {
		if slices.Contains(vol.Finalizers, sharedvolume.Finalizer) {
			return c.deleteSharedData(ctx, vol)
		}
		return nil // the node agent finishes deletion by removing its finalizer
	}
	// A volume deleted while bound is kept by pv-protection until it is
	// no longer Bound: it is still synced, so that it is Released once its
	// claim is gone.
	ref := vol.Spec.ClaimRef
	if ref == nil {
		return c.setVolumePhase(ctx, vol, v1.VolumeAvailable, "")
	}
	if ref.UID == "" {
		// Pre-bound by the user (or the scheduler) to a claim that has not
		// been bound yet; the claim's sync completes the binding.
		c.claimRunner.Enqueue(ref.Namespace + "/" + ref.Name)
		return c.setVolumePhase(ctx, vol, v1.VolumeAvailable, "")
	}
	claim, err := c.claims.PersistentVolumeClaims(ref.Namespace).Get(ref.Name)
	if err == nil {
		claim = c.writtenClaims.latest(claim)
	}
	if apierrors.IsNotFound(err) {
		// The cache may lag behind; only the API server can say it is gone.
		claim, err = c.client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("getting claim %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	if err != nil || claim.UID != ref.UID {
		// The claim this volume was bound to is gone.
		return c.reclaim(ctx, vol)
	}
	switch claim.Spec.VolumeName {
	case "":
		// Binding in progress (the claim side is not written yet).
		c.claimRunner.Enqueue(claim.Namespace + "/" + claim.Name)
		return nil
	case vol.Name:
		return c.setVolumePhase(ctx, vol, v1.VolumeBound, "")
	default:
		// The claim is bound to another volume: let this one go.
		upd := vol.DeepCopy()
		if _, byController := vol.Annotations[storagehelpers.AnnBoundByController]; byController {
			upd.Spec.ClaimRef = nil
			delete(upd.Annotations, storagehelpers.AnnBoundByController)
		} else {
			upd.Spec.ClaimRef.UID = ""
			upd.Spec.ClaimRef.ResourceVersion = ""
		}
		upd, err = c.updateVolume(ctx, upd)
		if err != nil {
			return fmt.Errorf("unbinding volume %s: %w", vol.Name, err)
		}
		return c.setVolumePhase(ctx, upd, v1.VolumeAvailable, "")
	}
}

// reclaim releases vol, whose claim was deleted, and applies its reclaim
// policy.
func (c *Controller) reclaim(ctx context.Context, vol *v1.PersistentVolume) error {
	log := logging.FromContext(ctx)
	if vol.Status.Phase != v1.VolumeReleased && vol.Status.Phase != v1.VolumeFailed {
		if err := c.setVolumePhase(ctx, vol, v1.VolumeReleased, ""); err != nil {
			return err
		}
		log.Info("volume released", "policy", vol.Spec.PersistentVolumeReclaimPolicy)
		return nil // the status update brings the volume back
	}
	if vol.Status.Phase == v1.VolumeFailed && vol.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimRecycle ||
		vol.DeletionTimestamp != nil {
		// A volume already being deleted needs no reclaim policy: its
		// deletion (the node agent removes petset's local volumes' data) is
		// what happens to it.
		return nil
	}
	switch vol.Spec.PersistentVolumeReclaimPolicy {
	case v1.PersistentVolumeReclaimRetain, "":
		return nil
	case v1.PersistentVolumeReclaimDelete:
		if !isOwnProvisioner(vol.Annotations[storagehelpers.AnnDynamicallyProvisioned]) {
			msg := fmt.Sprintf("error getting deleter volume plugin for volume %q: no deletable volume plugin matched", vol.Name)
			c.recorder.Event(vol, v1.EventTypeWarning, reasonVolumeFailedDelete, msg)
			return c.setVolumePhase(ctx, vol, v1.VolumeFailed, msg)
		}
		err := c.client.CoreV1().PersistentVolumes().Delete(ctx, vol.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &vol.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting volume %s: %w", vol.Name, err)
		}
		log.Info("volume deleted by reclaim policy")
		return nil
	case v1.PersistentVolumeReclaimRecycle:
		// As upstream, a Failed recycle is tried again (recycle spaces
		// the attempts).
		return c.recycle(ctx, vol)
	default:
		msg := fmt.Sprintf("Volume has unrecognized PersistentVolumeReclaimPolicy %q", vol.Spec.PersistentVolumeReclaimPolicy)
		c.recorder.Event(vol, v1.EventTypeWarning, "VolumeUnknownReclaimPolicy", msg)
		return c.setVolumePhase(ctx, vol, v1.VolumeFailed, msg)
	}
}

func (c *Controller) setVolumePhase(ctx context.Context, vol *v1.PersistentVolume, phase v1.PersistentVolumePhase, message string) error {
	if vol.Status.Phase == phase && vol.Status.Message == message {
		return nil
	}
	upd := vol.DeepCopy()
	upd.Status.Phase = phase
	upd.Status.Message = message
	if vol.Status.Phase != phase {
		t := metav1.NewTime(now())
		upd.Status.LastPhaseTransitionTime = &t
	}
	if _, err := c.updateVolumeStatus(ctx, upd); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("setting volume %s phase %s: %w", vol.Name, phase, err)
	}
	return nil
}
