package registry

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/kubectl/pkg/util/podutils"
)

// maxDisruptedPods is how many admitted evictions a budget may hold that
// the disruption controller has not yet confirmed (kube's MaxDisruptedPodSize).
const maxDisruptedPods = 2000

// evictionRetry spaces retries of an eviction that lost a race on the pod
// or its budget (kube's EvictionsRetry: 20 times, about 500 ms apart).
var evictionRetry = wait.Backoff{Steps: 20, Duration: 500 * time.Millisecond, Factor: 1.0, Jitter: 0.1}

// evictMessage is kube's answer to an eviction a budget refuses.
const evictMessage = "Cannot evict pod as it would violate the pod's disruption budget."

// EvictionREST serves pods/eviction (policy/v1) as kube-apiserver does: a
// pod that is Pending, finished or already terminating is deleted at once;
// otherwise the PodDisruptionBudgets of its namespace whose selector matches
// it decide — none: deleted; more than one: 500; one: its
// disruptionsAllowed is decremented (and the pod recorded in disruptedPods)
// by a status write with the budget's resourceVersion as precondition,
// retried on conflict with the budget read again, then the pod is deleted
// with the eviction's delete options; a budget that allows no disruption
// answers 429 TooManyRequests. A pod that is not Ready is deleted without
// spending the budget when the budget's unhealthyPodEvictionPolicy is
// AlwaysAllow, or when the budget is currently met, on the condition that
// the pod did not change since it was read. A pod evicted (not on a dry
// run) first gets the DisruptionTarget condition, reason
// EvictionByEvictionAPI.
type EvictionREST struct {
	pods *Store
	// pdbs is the PodDisruptionBudget store; nil checks no budget.
	pdbs *Store
}

func (r *EvictionREST) New() runtime.Object { return &policyv1.Eviction{} }
func (r *EvictionREST) Destroy()            {}

func (r *EvictionREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return policyv1.SchemeGroupVersion.WithKind("Eviction")
}

var _ rest.NamedCreater = &EvictionREST{}

func (r *EvictionREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	ev, ok := obj.(*policyv1.Eviction)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not an Eviction object: %T", obj))
	}
	if name != ev.Name {
		return nil, apierrors.NewBadRequest("name in URL does not match name in Eviction object")
	}
	if ev.DeleteOptions != nil && ev.DeleteOptions.IgnoreStoreReadErrorWithClusterBreakingPotential != nil && *ev.DeleteOptions.IgnoreStoreReadErrorWithClusterBreakingPotential {
		return nil, apierrors.NewInvalid(policyv1.SchemeGroupVersion.WithKind("Eviction").GroupKind(), name, field.ErrorList{
			field.Invalid(field.NewPath("deleteOptions").Child("ignoreStoreReadErrorWithClusterBreakingPotential"), true, "can not be set for pod eviction, try after removing the option")})
	}
	opts, err := evictionDeleteOptions(ev, options)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if createValidation != nil {
		if err := createValidation(ctx, ev.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	success := &metav1.Status{Status: metav1.StatusSuccess, Code: 201}

	// Pods no budget protects are deleted at once; a conflict on the pod is
	// retried unless the caller gave a resourceVersion of its own.
	var pod *corev1.Pod
	deleted := false
	retriable := apierrors.IsConflict
	if !resourceVersionUnset(opts) {
		retriable = func(error) bool { return false }
	}
	err = retry.OnError(evictionRetry, retriable, func() error {
		got, err := r.pods.Get(ctx, name, &metav1.GetOptions{})
		if err != nil {
			return err
		}
		pod = got.(*corev1.Pod)
		if !ignoresBudget(pod) {
			return nil
		}
		del := opts
		if enforcesResourceVersion(pod) && resourceVersionUnset(opts) {
			del = withResourceVersion(opts, pod.ResourceVersion)
		}
		if err := r.deletePod(ctx, name, del); err != nil {
			return err
		}
		deleted = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if deleted {
		return success, nil
	}

	pdbs, err := r.budgetsOf(ctx, pod)
	if err != nil {
		return nil, err
	}
	if len(pdbs) > 1 {
		return &metav1.Status{Status: metav1.StatusFailure, Code: 500,
			Message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."}, nil
	}
	var pdbName string
	spendsNothing := false
	if len(pdbs) == 1 {
		pdb := &pdbs[0]
		pdbName = pdb.Name
		if !podutils.IsPodReady(pod) && (unhealthyAlwaysAllowed(pdb) || pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy && pdb.Status.DesiredHealthy > 0) {
			spendsNothing = true
		} else if err := r.spendDisruption(ctx, pod.Name, pdb, len(opts.DryRun) > 0); err != nil {
			return nil, err
		}
	}
	del := opts
	if spendsNothing {
		del = withResourceVersion(opts, pod.ResourceVersion)
	}
	if err := r.deletePod(ctx, name, del); err != nil {
		if apierrors.IsConflict(err) && spendsNothing && resourceVersionUnset(opts) {
			return nil, tooManyRequests(fmt.Sprintf("The disruption budget %s is still being processed by the server.", pdbName), 10)
		}
		return nil, err
	}
	return success, nil
}

// deletePod marks the pod with the DisruptionTarget condition (reason
// EvictionByEvictionAPI, through pods/status; not on a dry run) and deletes
// it with opts, as kube's addConditionAndDeletePod: the condition is
// written only if the pod still matches opts' UID and resourceVersion
// preconditions, and a resourceVersion precondition then names the version
// that write made.
func (r *EvictionREST) deletePod(ctx context.Context, name string, opts *metav1.DeleteOptions) error {
	if len(opts.DryRun) == 0 && r.pods.status != nil {
		mark := func(_ context.Context, _, old runtime.Object) (runtime.Object, error) {
			pod := old.(*corev1.Pod).DeepCopy()
			if p := opts.Preconditions; p != nil {
				if p.UID != nil && *p.UID != "" && *p.UID != pod.UID {
					return nil, apierrors.NewConflict(schema.GroupResource{Resource: "Pod"}, pod.Name,
						fmt.Errorf("the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated", *p.UID, pod.UID))
				}
				if p.ResourceVersion != nil && *p.ResourceVersion != "" && *p.ResourceVersion != pod.ResourceVersion {
					return nil, apierrors.NewConflict(schema.GroupResource{Resource: "Pod"}, pod.Name,
						fmt.Errorf("the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). The object might have been modified", *p.ResourceVersion, pod.ResourceVersion))
				}
			}
			setPodCondition(pod, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
				Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting"})
			return pod, nil
		}
		updated, _, err := r.pods.status.Update(ctx, name, rest.DefaultUpdatedObjectInfo(nil, mark),
			rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		if !resourceVersionUnset(opts) {
			rv := updated.(*corev1.Pod).ResourceVersion
			opts = opts.DeepCopy()
			opts.Preconditions.ResourceVersion = &rv
		}
	}
	_, _, err := r.pods.Delete(ctx, name, rest.ValidateAllObjectFunc, opts)
	return err
}

// spendDisruption decrements pdb's disruptionsAllowed and records podName
// in its disruptedPods, or answers why it may not; on a conflict it reads
// the budget again and retries.
func (r *EvictionREST) spendDisruption(ctx context.Context, podName string, pdb *policyv1.PodDisruptionBudget, dryRun bool) error {
	refresh := false
	err := retry.RetryOnConflict(evictionRetry, func() error {
		if refresh {
			got, err := r.pdbs.Get(ctx, pdb.Name, &metav1.GetOptions{})
			if err != nil {
				return err
			}
			pdb = got.(*policyv1.PodDisruptionBudget)
		}
		refresh = true
		next, err := decremented(pdb, podName, time.Now())
		if err != nil || dryRun {
			return err
		}
		_, _, err = r.pdbs.status.Update(ctx, pdb.Name, rest.DefaultUpdatedObjectInfo(next), nil, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
		return err
	})
	if wait.Interrupted(err) || errors.Is(err, wait.ErrWaitTimeout) {
		return apierrors.NewTimeoutError(fmt.Sprintf("couldn't update PodDisruptionBudget %q due to conflicts", pdb.Name), 10)
	}
	return err
}

// decremented is pdb with one disruption spent on podName at now, or the
// error kube answers when the budget does not allow it.
func decremented(pdb *policyv1.PodDisruptionBudget, podName string, now time.Time) (*policyv1.PodDisruptionBudget, error) {
	if pdb.Status.ObservedGeneration < pdb.Generation {
		return nil, tooManyRequests(fmt.Sprintf("The disruption budget %s is still being processed by the server.", pdb.Name), 10)
	}
	if pdb.Status.DisruptionsAllowed < 0 {
		return nil, forbiddenByBudget(pdb.Name, "pdb disruptions allowed is negative",
			fmt.Sprintf("The disruption budget %s does not allow evicting pods currently: pdb disruptions allowed is negative", pdb.Name))
	}
	if len(pdb.Status.DisruptedPods) > maxDisruptedPods {
		return nil, forbiddenByBudget(pdb.Name, "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
			fmt.Sprintf("The disruption budget %s does not allow evicting pods currently: too many pending evictions not confirmed by PDB controller", pdb.Name))
	}
	if pdb.Status.DisruptionsAllowed == 0 {
		return nil, tooManyRequests(refusalCause(pdb), 0)
	}
	next := pdb.DeepCopy()
	next.Status.DisruptionsAllowed--
	if next.Status.DisruptionsAllowed == 0 {
		apimeta.SetStatusCondition(&next.Status.Conditions, metav1.Condition{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
			Reason: policyv1.InsufficientPodsReason, ObservedGeneration: next.Status.ObservedGeneration, LastTransitionTime: metav1.NewTime(now)})
	}
	if next.Status.DisruptedPods == nil {
		next.Status.DisruptedPods = map[string]metav1.Time{}
	}
	next.Status.DisruptedPods[podName] = metav1.NewTime(now)
	return next, nil
}

// refusalCause says why a budget with no disruption allowed refuses, as
// kube words it.
func refusalCause(pdb *policyv1.PodDisruptionBudget) string {
	c := apimeta.FindStatusCondition(pdb.Status.Conditions, policyv1.DisruptionAllowedCondition)
	switch {
	case c != nil && c.Status == metav1.ConditionFalse && c.Message != "" && c.Reason == policyv1.SyncFailedReason:
		return fmt.Sprintf("The disruption budget %s does not allow evicting pods currently because it failed sync: %s", pdb.Name, c.Message)
	case pdb.Status.CurrentHealthy <= pdb.Status.DesiredHealthy:
		return fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy)
	case c != nil && c.Status == metav1.ConditionFalse && c.Message != "":
		return fmt.Sprintf("The disruption budget %s does not allow evicting pods currently (%s): %s", pdb.Name, c.Reason, c.Message)
	}
	return fmt.Sprintf("The disruption budget %s does not allow evicting pods currently", pdb.Name)
}

// tooManyRequests is kube's 429 for an eviction a budget refuses, with the
// budget's reason as a DisruptionBudget cause.
func tooManyRequests(cause string, retryAfter int) error {
	err := apierrors.NewTooManyRequests(evictMessage, retryAfter)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: cause})
	return err
}

func forbiddenByBudget(name, reason, cause string) error {
	err := apierrors.NewForbidden(policyv1.Resource("poddisruptionbudget"), name, errors.New(reason))
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: cause})
	return err
}

// budgetsOf returns the budgets of pod's namespace whose selector matches
// it (an invalid selector matches nothing).
func (r *EvictionREST) budgetsOf(ctx context.Context, pod *corev1.Pod) ([]policyv1.PodDisruptionBudget, error) {
	if r.pdbs == nil {
		return nil, nil
	}
	got, err := r.pdbs.List(ctx, &metainternalversion.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list PodDisruptionBudgets: %w", err)
	}
	var out []policyv1.PodDisruptionBudget
	for _, pdb := range got.(*policyv1.PodDisruptionBudgetList).Items {
		if pdb.Namespace != pod.Namespace {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, pdb)
	}
	return out, nil
}

// evictionDeleteOptions are the eviction's delete options with the
// request's dry run, which must agree with theirs.
func evictionDeleteOptions(ev *policyv1.Eviction, options *metav1.CreateOptions) (*metav1.DeleteOptions, error) {
	if ev.DeleteOptions == nil {
		return &metav1.DeleteOptions{DryRun: options.DryRun}, nil
	}
	opts := ev.DeleteOptions.DeepCopy()
	switch {
	case len(opts.DryRun) == 0:
		opts.DryRun = options.DryRun
	case len(options.DryRun) > 0 && !reflect.DeepEqual(options.DryRun, opts.DryRun):
		return nil, fmt.Errorf("Non-matching dry-run options in request and content: %v and %v", options.DryRun, opts.DryRun)
	}
	return opts, nil
}

// ignoresBudget: a pod that is Pending, has finished or is already
// terminating is evicted without asking any budget.
func ignoresBudget(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed, corev1.PodPending:
		return true
	}
	return pod.DeletionTimestamp != nil
}

// enforcesResourceVersion: a pod deleted without a budget check must not
// have changed since it was read, unless it has finished or is terminating.
func enforcesResourceVersion(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed:
		return false
	}
	return pod.DeletionTimestamp == nil
}

func resourceVersionUnset(opts *metav1.DeleteOptions) bool {
	return opts.Preconditions == nil || opts.Preconditions.ResourceVersion == nil
}

func withResourceVersion(opts *metav1.DeleteOptions, rv string) *metav1.DeleteOptions {
	out := opts.DeepCopy()
	if out.Preconditions == nil {
		out.Preconditions = &metav1.Preconditions{}
	}
	out.Preconditions.ResourceVersion = &rv
	return out
}

func unhealthyAlwaysAllowed(pdb *policyv1.PodDisruptionBudget) bool {
	return pdb.Spec.UnhealthyPodEvictionPolicy != nil && *pdb.Spec.UnhealthyPodEvictionPolicy == policyv1.AlwaysAllow
}
