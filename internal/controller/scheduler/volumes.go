package scheduler

import (
	"context"
	"fmt"
	"sort"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"petset/internal/controller/volume"
	"petset/internal/sharedvolume"
)

const (
	msgUnboundImmediate    = "pod has unbound immediate PersistentVolumeClaims"
	msgVolumeNodeConflict  = "node(s) had volume node affinity conflict"
	msgNoVolumesToBind     = "node(s) didn't find available persistent volumes to bind"
	msgBoundToMissingPV    = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
	annSelectedNode        = storagehelpers.AnnSelectedNode
	waitForFirstConsumerBM = storagev1.VolumeBindingWaitForFirstConsumer
)

// podVolumes is what a pod's claims require of a node.
type podVolumes struct {
	// bound are the PVs of the pod's bound claims.
	bound []*v1.PersistentVolume
	// missingPV: a bound claim names a PV that does not exist.
	missingPV bool
	// binding: a claim names its PV but the binding is not complete yet;
	// the pod is bound only after it is.
	binding bool
	// delayed are unbound claims of WaitForFirstConsumer classes.
	delayed []*v1.PersistentVolumeClaim
	classes map[string]*storagev1.StorageClass
	// available are, by claim name, the PVs each delayed claim may be
	// matched with (volume.Candidates: unclaimed, or pre-bound to it).
	available map[string][]*v1.PersistentVolume
	// liveNodes are the nodes that exist and are Ready. A claim's
	// selected-node annotation naming another node is honoured only while
	// that node is live; otherwise the claim may be moved.
	liveNodes map[string]bool
}

// podVolumes gathers the claims of pod. A non-empty message means the pod
// cannot be scheduled anywhere (upstream's VolumeBinding PreFilter).
func (s *Scheduler) podVolumes(pod *v1.Pod) (*podVolumes, string, error) {
	pv := &podVolumes{classes: map[string]*storagev1.StorageClass{}}
	immediate := false
	for _, vol := range pod.Spec.Volumes {
		var claimName string
		switch {
		case vol.PersistentVolumeClaim != nil:
			claimName = vol.PersistentVolumeClaim.ClaimName
		case vol.Ephemeral != nil:
			claimName = pod.Name + "-" + vol.Name
		default:
			continue
		}
		claim, err := s.claims.PersistentVolumeClaims(pod.Namespace).Get(claimName)
		if apierrors.IsNotFound(err) {
			return nil, fmt.Sprintf("persistentvolumeclaim %q not found", claimName), nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("getting claim %s/%s: %w", pod.Namespace, claimName, err)
		}
		if claim.DeletionTimestamp != nil {
			return nil, fmt.Sprintf("persistentvolumeclaim %q is being deleted", claimName), nil
		}
		if claim.Spec.VolumeName != "" {
			if claim.Status.Phase != v1.ClaimBound {
				pv.binding = true
			}
			vol, err := s.volumes.Get(claim.Spec.VolumeName)
			if apierrors.IsNotFound(err) {
				pv.missingPV = true
				continue
			}
			if err != nil {
				return nil, "", fmt.Errorf("getting volume %s: %w", claim.Spec.VolumeName, err)
			}
			pv.bound = append(pv.bound, vol)
			continue
		}
		className := storagehelpers.GetPersistentVolumeClaimClass(claim)
		if _, beta := claim.Annotations[v1.BetaStorageClassAnnotation]; claim.Spec.StorageClassName == nil && !beta {
			// The volume controller binds such a claim to a class-less
			// volume if one matches, and otherwise gives it the default
			// class; judge the claim by what it is about to become.
			if className, err = s.classOfClasslessClaim(claim); err != nil {
				return nil, "", err
			}
			if className != "" {
				claim = claim.DeepCopy()
				claim.Spec.StorageClassName = &className
			}
		}
		var class *storagev1.StorageClass
		if className != "" {
			class, err = s.classes.Get(className)
			if err != nil && !apierrors.IsNotFound(err) {
				return nil, "", fmt.Errorf("getting storage class %q: %w", className, err)
			}
		}
		if class == nil || class.VolumeBindingMode == nil || *class.VolumeBindingMode != waitForFirstConsumerBM {
			immediate = true
			continue
		}
		pv.classes[className] = class
		pv.delayed = append(pv.delayed, claim)
	}
	if immediate {
		return nil, msgUnboundImmediate, nil
	}
	if len(pv.delayed) > 0 {
		pv.available = map[string][]*v1.PersistentVolume{}
		for _, claim := range pv.delayed {
			vols, err := volume.Candidates(s.volumeIdx, claim)
			if err != nil {
				return nil, "", err
			}
			sort.Slice(vols, func(i, j int) bool { return vols[i].Name < vols[j].Name })
			pv.available[claim.Name] = vols
		}
	}
	return pv, "", nil
}

// classOfClasslessClaim returns the class a claim without
// spec.storageClassName will end up with: "" when an Available class-less
// volume satisfies it (the volume controller binds it right away), else the
// default class's name ("" if there is none).
func (s *Scheduler) classOfClasslessClaim(claim *v1.PersistentVolumeClaim) (string, error) {
	vols, err := volume.Candidates(s.volumeIdx, claim)
	if err != nil {
		return "", err
	}
	var free []*v1.PersistentVolume
	for _, v := range vols {
		if storagehelpers.CheckAccessModes(claim, v) {
			free = append(free, v)
		}
	}
	if vol, err := storagehelpers.FindMatchingVolume(claim, free, nil, nil, false, true); err == nil && vol != nil {
		return "", nil
	}
	classes, err := s.classes.List(labels.Everything())
	if err != nil {
		return "", fmt.Errorf("listing storage classes: %w", err)
	}
	if def := volume.DefaultClassOf(classes); def != nil {
		return def.Name, nil
	}
	return "", nil
}

// volumesFit returns why node cannot serve the pod's volumes (upstream's
// VolumeBinding filter reasons), or nothing.
func (s *Scheduler) volumesFit(pv *podVolumes, node *v1.Node) []string {
	if pv.missingPV {
		return []string{msgBoundToMissingPV}
	}
	var reasons []string
	for _, vol := range pv.bound {
		if err := storagehelpers.CheckNodeAffinity(vol, node.Labels); err != nil {
			reasons = append(reasons, msgVolumeNodeConflict)
			break
		}
	}
	if _, ok := pv.matchDelayed(node); !ok {
		reasons = append(reasons, msgNoVolumesToBind)
	}
	return reasons
}

// matchDelayed finds, for each delayed claim, a PV to pre-bind on node (nil
// when the claim is to be provisioned). ok is false if some claim can be
// served neither way.
func (pv *podVolumes) matchDelayed(node *v1.Node) (map[string]*v1.PersistentVolume, bool) {
	matches := map[string]*v1.PersistentVolume{}
	chosen := map[string]*v1.PersistentVolume{}
	for _, claim := range pv.delayed {
		if sel, ok := claim.Annotations[annSelectedNode]; ok && sel != node.Name && pv.liveNodes[sel] {
			return nil, false // already being provisioned for another node
		}
		vol, err := storagehelpers.FindMatchingVolume(claim, pv.available[claim.Name], node, chosen, true, true)
		if err != nil {
			return nil, false
		}
		if vol != nil {
			chosen[vol.Name] = vol
			matches[claim.Name] = vol
			continue
		}
		class := pv.classes[storagehelpers.GetPersistentVolumeClaimClass(claim)]
		if class.Provisioner == "" || class.Provisioner == storagehelpers.NotSupportedProvisioner || !allowedTopology(class, node) {
			return nil, false
		}
		if class.Provisioner == sharedvolume.ProvisionerName && node.Labels[sharedvolume.RootLabel] == "" {
			// A class of petset.io/shared without the installed class's
			// topology: only nodes that reach a shared root can mount it.
			return nil, false
		}
		matches[claim.Name] = nil
	}
	return matches, true
}

func allowedTopology(class *storagev1.StorageClass, node *v1.Node) bool {
	if len(class.AllowedTopologies) == 0 {
		return true
	}
	for _, term := range class.AllowedTopologies {
		ok := true
		for _, req := range term.MatchLabelExpressions {
			val, has := node.Labels[req.Key]
			in := false
			for _, v := range req.Values {
				if has && v == val {
					in = true
				}
			}
			if !in {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// prepareVolumes commits the volume decisions for pod on node, as
// upstream's volume binder (bindAPIUpdate) does: it pre-binds the matched
// PVs (spec.claimRef) and marks only the claims that are to be provisioned
// with the selected node. A claim matched to a static PV never gets the
// annotation: with it the volume controller could provision a volume for
// the claim before its cache shows the pre-binding, leaving the static PV
// half-bound. The volume controller takes it from there.
func (s *Scheduler) prepareVolumes(ctx context.Context, pod *v1.Pod, node *nodeInfo, pv *podVolumes) error {
	matches, ok := pv.matchDelayed(node.node)
	if !ok {
		return fmt.Errorf("volumes of pod %s no longer fit node %s", podKey(pod), node.node.Name)
	}
	for _, claim := range pv.delayed {
		if vol := matches[claim.Name]; vol != nil {
			if storagehelpers.IsVolumeBoundToClaim(vol, claim) {
				continue
			}
			fresh, err := s.client.CoreV1().PersistentVolumes().Get(ctx, vol.Name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("getting volume %s: %w", vol.Name, err)
			}
			if fresh.Spec.ClaimRef != nil && !storagehelpers.IsVolumeBoundToClaim(fresh, claim) {
				return fmt.Errorf("volume %s was meanwhile taken by claim %s/%s", vol.Name, fresh.Spec.ClaimRef.Namespace, fresh.Spec.ClaimRef.Name)
			}
			upd, _, err := storagehelpers.GetBindVolumeToClaim(fresh, claim)
			if err != nil {
				return fmt.Errorf("pre-binding volume %s: %w", vol.Name, err)
			}
			if _, err := s.client.CoreV1().PersistentVolumes().Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("pre-binding volume %s to claim %s/%s: %w", vol.Name, claim.Namespace, claim.Name, err)
			}
			continue
		}
		if claim.Annotations[annSelectedNode] == node.node.Name {
			continue
		}
		cur, err := s.claims.PersistentVolumeClaims(claim.Namespace).Get(claim.Name)
		if err != nil {
			return fmt.Errorf("getting claim %s/%s: %w", claim.Namespace, claim.Name, err)
		}
		upd := cur.DeepCopy()
		if upd.Annotations == nil {
			upd.Annotations = map[string]string{}
		}
		upd.Annotations[annSelectedNode] = node.node.Name
		if _, err := s.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("selecting node %s for claim %s/%s: %w", node.node.Name, claim.Namespace, claim.Name, err)
		}
	}
	return nil
}
