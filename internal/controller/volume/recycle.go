package volume

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"petset/internal/logging"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	storagehelpers "k8s.io/component-helpers/storage/volume"
)

// Recycling, as upstream's PV controller and its hostPath recycler plugin
// do it: a Released volume with reclaim policy Recycle is scrubbed by a pod
// named recycler-for-<volume> in the default namespace that mounts the
// volume at /scrub and deletes its contents; once the pod succeeded it is
// deleted, the volume gets the VolumeRecycled event and is made Available
// again (claimRef cleared, or only its UID when the user pre-bound it).
// The pod's own events are repeated on the volume as RecyclerPod events.
// Only hostPath volumes can be recycled (upstream also recycles nfs, which
// petset's agent cannot mount); any other volume turns Failed with
// upstream's "No recycler plugin found for the volume!". As upstream,
// hostPath recycling scrubs the path on the node the pod lands on, so it
// is meant for single-node clusters; a volume with node affinity has its
// recycler pod pinned to it.
const (
	// RecyclerPodPrefix starts the name of every recycler pod.
	RecyclerPodPrefix = "recycler-for-"
	// RecyclerPodNamespace is where recycler pods run.
	RecyclerPodNamespace = metav1.NamespaceDefault
	// recycleClaimAnnotation on a recycler pod: the UID of the claim whose
	// release it scrubs, so a pod left from an earlier release is never
	// taken for this one's.
	recycleClaimAnnotation = "petset.io/recycle-for-claim"

	reasonRecyclerPod         = "RecyclerPod"
	reasonVolumeFailedRecycle = "VolumeFailedRecycle"
	msgNoRecycler             = "No recycler plugin found for the volume!"

	// The hostPath recycler's timeouts: upstream's defaults for
	// --pv-recycler-minimum-timeout-hostpath and
	// --pv-recycler-increment-timeout-hostpath.
	recyclerMinimumTimeout   = 60
	recyclerTimeoutIncrement = 30
	// RecyclerImage is the image of upstream's recycler pod template; the
	// command runs the node's own /bin/sh.
	RecyclerImage  = "registry.k8s.io/build-image/debian-base:bookworm-v1.0.6"
	recyclerScript = "test -e /scrub && find /scrub -mindepth 1 -delete && test -z \"$(ls -A /scrub)\" || exit 1"
)

// recycleRetry spaces the attempts on a volume whose recycling failed
// (upstream retries at every periodic sync, 15s by default). A variable for
// tests.
var recycleRetry = 15 * time.Second

// RecyclerPodName is the name of the pod that scrubs volume pvName.
func RecyclerPodName(pvName string) string { return RecyclerPodPrefix + pvName }

// recycle does one step of recycling vol, a Released (or Failed) volume
// with reclaim policy Recycle. Pod events requeue the volume.
func (c *Controller) recycle(ctx context.Context, vol *v1.PersistentVolume) error {
	log := logging.FromContext(ctx)
	if vol.Spec.HostPath == nil {
		if vol.Status.Phase == v1.VolumeFailed && vol.Status.Message == msgNoRecycler {
			return nil
		}
		c.recorder.Event(vol, v1.EventTypeWarning, reasonVolumeFailedRecycle, msgNoRecycler)
		return c.setVolumePhase(ctx, vol, v1.VolumeFailed, msgNoRecycler)
	}
	claimUID := string(vol.Spec.ClaimRef.UID)
	name := RecyclerPodName(vol.Name)
	pods := c.client.CoreV1().Pods(RecyclerPodNamespace)
	pod, err := c.pods.Pods(RecyclerPodNamespace).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("getting recycler pod %s: %w", name, err)
	}
	if apierrors.IsNotFound(err) {
		if vol.Status.Phase == v1.VolumeFailed && vol.Status.LastPhaseTransitionTime != nil {
			if wait := recycleRetry - now().Sub(vol.Status.LastPhaseTransitionTime.Time); wait > 0 {
				c.volumeRunner.EnqueueAfter(vol.Name, wait)
				return nil
			}
		}
		// The cache may be behind a recycle that just finished (the pod
		// deleted, the volume made Available or bound again): as
		// upstream's recycleVolumeOperation, read the volume live and
		// scrub only the release this sync saw.
		live, err := c.client.CoreV1().PersistentVolumes().Get(ctx, vol.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading volume %s before recycling: %w", vol.Name, err)
		}
		if live.ResourceVersion != vol.ResourceVersion {
			return nil // the informer's update requeues the volume
		}
		_, err = pods.Create(ctx, recyclerPod(vol), metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			msg := fmt.Sprintf("Recycle failed: unexpected error creating recycler pod:  %v", err)
			c.recorder.Event(vol, v1.EventTypeWarning, reasonVolumeFailedRecycle, msg)
			return fmt.Errorf("creating recycler pod for volume %s: %w", vol.Name, err)
		}
		log.Info("recycling volume", "pod", RecyclerPodNamespace+"/"+name)
		return nil
	}
	if pod.DeletionTimestamp != nil {
		return nil // its deletion requeues the volume
	}
	if pod.Annotations[recycleClaimAnnotation] != claimUID {
		// Left from an earlier release of this volume (or not ours):
		// upstream deletes an old recycler pod and tries again.
		if err := deletePod(ctx, c, pod); err != nil {
			return fmt.Errorf("deleting old recycler pod %s: %w", name, err)
		}
		return nil
	}
	switch pod.Status.Phase {
	case v1.PodSucceeded:
		c.forwardRecyclerEvents(ctx, vol, pod)
		if err := deletePod(ctx, c, pod); err != nil {
			return fmt.Errorf("deleting recycler pod %s: %w", name, err)
		}
		c.recorder.Event(vol, v1.EventTypeNormal, reasonVolumeRecycled, "Volume recycled")
		log.Info("volume recycled")
		return c.unbindVolume(ctx, vol)
	case v1.PodFailed:
		why := pod.Status.Message
		if why == "" {
			why = "pod failed, pod.Status.Message unknown"
		}
		return c.recycleFailed(ctx, vol, pod, why)
	default:
		// Running. The node agent does not enforce activeDeadlineSeconds,
		// so the deadline kubelet would apply (from the pod's start) is
		// applied here, with kubelet's message.
		if pod.Status.StartTime != nil && pod.Spec.ActiveDeadlineSeconds != nil {
			deadline := pod.Status.StartTime.Add(time.Duration(*pod.Spec.ActiveDeadlineSeconds) * time.Second)
			if left := deadline.Sub(now()); left > 0 {
				c.volumeRunner.EnqueueAfter(vol.Name, left)
				return nil
			}
			return c.recycleFailed(ctx, vol, pod, "Pod was active on the node longer than the specified deadline")
		}
		return nil // its updates requeue the volume
	}
}

// recycleFailed deletes the recycler pod and marks vol Failed with why;
// the recycle is tried again after recycleRetry.
func (c *Controller) recycleFailed(ctx context.Context, vol *v1.PersistentVolume, pod *v1.Pod, why string) error {
	c.forwardRecyclerEvents(ctx, vol, pod)
	if err := deletePod(ctx, c, pod); err != nil {
		return fmt.Errorf("deleting recycler pod %s: %w", pod.Name, err)
	}
	msg := "Recycle failed: failed to recycle volume: " + why
	c.recorder.Event(vol, v1.EventTypeWarning, reasonVolumeFailedRecycle, msg)
	logging.FromContext(ctx).Info("recycling volume failed", "reason", why)
	if err := c.setVolumePhase(ctx, vol, v1.VolumeFailed, msg); err != nil {
		return err
	}
	c.volumeRunner.EnqueueAfter(vol.Name, recycleRetry)
	return nil
}

func deletePod(ctx context.Context, c *Controller, pod *v1.Pod) error {
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &pod.UID},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// unbindVolume makes a recycled volume Available again, as upstream's
// unbindVolume: a volume the controller bound loses its claimRef, one the
// user pre-bound keeps it without the UID.
func (c *Controller) unbindVolume(ctx context.Context, vol *v1.PersistentVolume) error {
	upd := vol.DeepCopy()
	if _, byController := vol.Annotations[storagehelpers.AnnBoundByController]; byController {
		upd.Spec.ClaimRef = nil
		delete(upd.Annotations, storagehelpers.AnnBoundByController)
		if len(upd.Annotations) == 0 {
			upd.Annotations = nil
		}
	} else {
		upd.Spec.ClaimRef.UID = ""
		upd.Spec.ClaimRef.ResourceVersion = ""
	}
	upd, err := c.updateVolume(ctx, upd)
	if err != nil {
		return fmt.Errorf("making recycled volume %s available: %w", vol.Name, err)
	}
	return c.setVolumePhase(ctx, upd, v1.VolumeAvailable, "")
}

// forwardRecyclerEvents repeats the recycler pod's events on the volume,
// as upstream's recycler client does ("Recycler pod: <message>").
func (c *Controller) forwardRecyclerEvents(ctx context.Context, vol *v1.PersistentVolume, pod *v1.Pod) {
	evs, err := c.client.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(pod.UID)).String(),
	})
	if err != nil {
		logging.FromContext(ctx).Info("listing recycler pod events", "pod", pod.Name, logging.ErrKey, err)
		return
	}
	sort.SliceStable(evs.Items, func(i, j int) bool {
		return evs.Items[i].FirstTimestamp.Before(&evs.Items[j].FirstTimestamp)
	})
	for _, ev := range evs.Items {
		if ev.InvolvedObject.UID != pod.UID {
			continue
		}
		typ := ev.Type
		if typ != v1.EventTypeWarning {
			typ = v1.EventTypeNormal
		}
		c.recorder.Eventf(vol, typ, reasonRecyclerPod, "Recycler pod: %s", ev.Message)
	}
}

// recyclerPod is upstream's recycler pod template with the hostPath
// plugin's overrides (the volume, the timeout) for vol.
func recyclerPod(vol *v1.PersistentVolume) *v1.Pod {
	timeout := recyclerTimeout(vol)
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        RecyclerPodName(vol.Name),
			Namespace:   RecyclerPodNamespace,
			Annotations: map[string]string{recycleClaimAnnotation: string(vol.Spec.ClaimRef.UID)},
		},
		Spec: v1.PodSpec{
			ActiveDeadlineSeconds: &timeout,
			RestartPolicy:         v1.RestartPolicyNever,
			Volumes: []v1.Volume{{
				Name:         "vol",
				VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: vol.Spec.HostPath.Path}},
			}},
			Containers: []v1.Container{{
				Name:         "pv-recycler",
				Image:        RecyclerImage,
				Command:      []string{"/bin/sh"},
				Args:         []string{"-c", recyclerScript},
				VolumeMounts: []v1.VolumeMount{{Name: "vol", MountPath: "/scrub"}},
			}},
		},
	}
	if na := vol.Spec.NodeAffinity; na != nil && na.Required != nil {
		pod.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: na.Required.DeepCopy(),
		}}
	}
	return pod
}

// recyclerTimeout is upstream's CalculateTimeoutForVolume: 30s per GiB of
// capacity, at least 60s.
func recyclerTimeout(vol *v1.PersistentVolume) int64 {
	size := vol.Spec.Capacity[v1.ResourceStorage]
	gi := resource.MustParse("1Gi")
	t := size.Value() / gi.Value() * recyclerTimeoutIncrement
	if t < recyclerMinimumTimeout {
		return recyclerMinimumTimeout
	}
	return t
}

// recyclerPodChanged queues the volume a recycler pod scrubs.
func (c *Controller) recyclerPodChanged(obj any) {
	pod, ok := podOf(obj)
	if !ok || pod.Namespace != RecyclerPodNamespace || !strings.HasPrefix(pod.Name, RecyclerPodPrefix) {
		return
	}
	c.volumeRunner.Enqueue(strings.TrimPrefix(pod.Name, RecyclerPodPrefix))
}
