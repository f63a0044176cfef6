package statefulset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"

	"petset/internal/fencing"
)

// podControl performs the controller's writes of pods and claims and records
// an event on the set for each of them.
type podControl struct {
	client    kubernetes.Interface
	podLister corelisters.PodLister
	pvcLister corelisters.PersistentVolumeClaimLister
	recorder  record.EventRecorder
	writes    *writeTracker
}

// createPod creates the pod's missing claims and then the pod.
func (pc *podControl) createPod(ctx context.Context, set *apps.StatefulSet, pod *v1.Pod) error {
	if err := pc.createMissingClaims(ctx, set, pod); err != nil {
		pc.podEvent(set, pod, "create", err)
		return err
	}
	created, err := pc.client.CoreV1().Pods(set.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create pod %s: %w", pod.Name, err)
	}
	if err == nil {
		pc.writes.record(set, created)
		// Only set refs are possible here: the pod's UID is known only now,
		// and in-range claims never carry pod refs.
		if err := pc.fixClaimOwnership(ctx, set, created); err != nil {
			pc.podEvent(set, pod, "update", err)
			return err
		}
	}
	pc.podEvent(set, pod, "create", err)
	if err != nil {
		return fmt.Errorf("create pod %s: %w", pod.Name, err)
	}
	return nil
}

// updatePod restores the pod's identity and storage and the claims'
// ownership, retrying on conflict with a fresh copy from the cache.
func (pc *podControl) updatePod(ctx context.Context, set *apps.StatefulSet, pod *v1.Pod) error {
	attempted := false
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		consistent := true
		if !identityMatches(set, pod) {
			updateIdentity(set, pod)
			consistent = false
		}
		if !storageMatches(set, pod) {
			updateStorage(set, pod)
			consistent = false
			if err := pc.createMissingClaims(ctx, set, pod); err != nil {
				pc.podEvent(set, pod, "update", err)
				return err
			}
		}
		if err := pc.fixClaimOwnership(ctx, set, pod); err != nil {
			pc.podEvent(set, pod, "update", err)
			return err
		}
		if consistent {
			return nil
		}
		attempted = true
		updated, err := pc.client.CoreV1().Pods(set.Namespace).Update(ctx, pod, metav1.UpdateOptions{})
		if err == nil {
			pc.writes.record(set, updated)
			return nil
		}
		if fresh, getErr := pc.podLister.Pods(set.Namespace).Get(pod.Name); getErr == nil {
			pod = fresh.DeepCopy()
		}
		return err
	})
	if attempted {
		pc.podEvent(set, pod, "update", err)
	}
	if err != nil {
		return fmt.Errorf("update pod %s: %w", pod.Name, err)
	}
	return nil
}

// setFailover adds fencing.FailoverAnnotation=auto to the pod, or removes
// it, with a merge patch. It returns the patched pod, nil if it is gone.
func (pc *podControl) setFailover(ctx context.Context, set *apps.StatefulSet, pod *v1.Pod, optIn bool) (*v1.Pod, error) {
	var value any // null removes the key
	if optIn {
		value = fencing.FailoverAuto
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{fencing.FailoverAnnotation: value}}})
	if err != nil {
		return nil, fmt.Errorf("failover patch: %w", err)
	}
	patched, err := pc.client.CoreV1().Pods(set.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("annotate pod %s for automatic failover: %w", pod.Name, err)
	}
	pc.writes.record(set, patched)
	return patched, nil
}

func (pc *podControl) deletePod(ctx context.Context, set *apps.StatefulSet, pod *v1.Pod) error {
	err := pc.client.CoreV1().Pods(set.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &pod.UID},
	})
	pc.podEvent(set, pod, "delete", err)
	if err != nil {
		return fmt.Errorf("delete pod %s: %w", pod.Name, err)
	}
	return nil
}

// createMissingClaims creates the pod's claims that are not in the cache. A
// claim that is being deleted is an error: the pod must wait for it to go.
func (pc *podControl) createMissingClaims(ctx context.Context, set *apps.StatefulSet, pod *v1.Pod) error {
	var errs []error
	ord := podOrdinal(pod)
	for i := range set.Spec.VolumeClaimTemplates {
		tmpl := &set.Spec.VolumeClaimTemplates[i]
		name := claimName(set, tmpl, ord)
		existing, err := pc.pvcLister.PersistentVolumeClaims(set.Namespace).Get(name)
		switch {
		case apierrors.IsNotFound(err):
			claim := podClaim(set, tmpl, ord)
			created, err := pc.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Create(ctx, claim, metav1.CreateOptions{})
			if err != nil {
				errs = append(errs, fmt.Errorf("create claim %s: %w", claim.Name, err))
			} else {
				pc.writes.record(set, created)
			}
			if err == nil || !apierrors.IsAlreadyExists(err) {
				pc.claimEvent(set, pod, claim, err)
			}
		case err != nil:
			errs = append(errs, fmt.Errorf("get claim %s: %w", name, err))
			pc.claimEvent(set, pod, podClaim(set, tmpl, ord), err)
		case existing.DeletionTimestamp != nil:
			errs = append(errs, fmt.Errorf("claim %s is being deleted", name))
		}
	}
	return errors.Join(errs...)
}

// claimsMatchPolicy reports whether every existing claim of pod carries the
// owner references the retention policy asks for.
func (pc *podControl) claimsMatchPolicy(set *apps.StatefulSet, pod *v1.Pod) (bool, error) {
	for _, name := range podClaimNames(set, pod) {
		existing, err := pc.pvcLister.PersistentVolumeClaims(set.Namespace).Get(name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("get claim %s: %w", name, err)
		}
		if !claimOwnershipMatches(existing, set, pod) {
			return false, nil
		}
	}
	return true, nil
}

// fixClaimOwnership rewrites the owner references of pod's existing claims to
// follow the retention policy.
func (pc *podControl) fixClaimOwnership(ctx context.Context, set *apps.StatefulSet, pod *v1.Pod) error {
	for _, name := range podClaimNames(set, pod) {
		existing, err := pc.pvcLister.PersistentVolumeClaims(set.Namespace).Get(name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("get claim %s: %w", name, err)
		}
		if claimOwnershipMatches(existing, set, pod) {
			continue
		}
		fixed := existing.DeepCopy()
		if rewriteClaimRefs(fixed, set, pod) {
			pc.recorder.Eventf(set, v1.EventTypeWarning, "ConflictingController",
				"Claim %s of Pod %s in StatefulSet %s has a conflicting controller; the retention policy is not applied to it",
				name, pod.Name, set.Name)
		}
		updated, err := pc.client.CoreV1().PersistentVolumeClaims(set.Namespace).Update(ctx, fixed, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("update ownership of claim %s: %w", name, err)
		}
		pc.writes.record(set, updated)
	}
	return nil
}

// claimIsStale reports whether one of pod's claims still belongs to an earlier
// pod of the same name; the pod must not be created until it is collected.
func (pc *podControl) claimIsStale(set *apps.StatefulSet, pod *v1.Pod) (bool, error) {
	for _, name := range podClaimNames(set, pod) {
		existing, err := pc.pvcLister.PersistentVolumeClaims(set.Namespace).Get(name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("get claim %s: %w", name, err)
		}
		for _, ref := range existing.OwnerReferences {
			if refersTo(ref, podKind, pod.Name) && ref.UID != pod.UID {
				return true, nil
			}
		}
	}
	return false, nil
}

func (pc *podControl) podEvent(set *apps.StatefulSet, pod *v1.Pod, verb string, err error) {
	title := strings.ToUpper(verb[:1]) + verb[1:]
	if err == nil {
		pc.recorder.Eventf(set, v1.EventTypeNormal, "Successful"+title,
			"%s Pod %s in StatefulSet %s successful", verb, pod.Name, set.Name)
		return
	}
	pc.recorder.Eventf(set, v1.EventTypeWarning, "Failed"+title,
		"%s Pod %s in StatefulSet %s failed error: %s", verb, pod.Name, set.Name, err)
}

func (pc *podControl) claimEvent(set *apps.StatefulSet, pod *v1.Pod, claim *v1.PersistentVolumeClaim, err error) {
	if err == nil {
		pc.recorder.Eventf(set, v1.EventTypeNormal, "SuccessfulCreate",
			"create Claim %s Pod %s in StatefulSet %s success", claim.Name, pod.Name, set.Name)
		return
	}
	pc.recorder.Eventf(set, v1.EventTypeWarning, "FailedCreate",
		"create Claim %s for Pod %s in StatefulSet %s failed error: %s", claim.Name, pod.Name, set.Name, err)
}
