package storageprotection

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/storage/ephemeral"
)

// Finalizers of the storage-object-in-use protection, as on Kubernetes.
const (
	PVCFinalizer = "kubernetes.io/pvc-protection"
	PVFinalizer  = "kubernetes.io/pv-protection"
)

// PodUsesClaim reports whether pod keeps claim from being deleted (see the
// package comment): it is scheduled and names the claim in a
// persistentVolumeClaim volume, or in an ephemeral volume it owns while it
// is not shut down.
func PodUsesClaim(pod *v1.Pod, claim *v1.PersistentVolumeClaim) bool {
	if pod.Namespace != claim.Namespace || pod.Spec.NodeName == "" {
		return false
	}
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		switch {
		case vol.PersistentVolumeClaim != nil:
			if vol.PersistentVolumeClaim.ClaimName == claim.Name {
				return true
			}
		case vol.Ephemeral != nil:
			if !podIsShutDown(pod) && ephemeral.VolumeClaimName(pod, vol) == claim.Name &&
				ephemeral.VolumeIsForPod(pod, claim) == nil {
				return true
			}
		}
	}
	return false
}

// claimNames are the names of the claims pod refers to, for the pod index.
func claimNames(pod *v1.Pod) []string {
	var names []string
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		switch {
		case vol.PersistentVolumeClaim != nil:
			names = append(names, vol.PersistentVolumeClaim.ClaimName)
		case vol.Ephemeral != nil:
			names = append(names, ephemeral.VolumeClaimName(pod, vol))
		}
	}
	return names
}

// podIsShutDown: the agent is done with the pod (it asked for its removal
// with a zero grace period) or it was force-deleted. Such a pod only waits
// for its object to go; its ephemeral claims may go first, which also
// breaks a cycle between a pod finalizer waiting for the claim and this
// controller waiting for the pod.
func podIsShutDown(pod *v1.Pod) bool {
	return pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil && *pod.DeletionGracePeriodSeconds == 0
}
