package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// waitBudget waits until the budget's status, at the budget's current
// generation, is expected/desired/healthy/allowed with the
// DisruptionAllowed condition's reason.
func waitBudget(t *testing.T, c *cluster, name string, expected, desired, healthy, allowed int32, reason string) *policyv1.PodDisruptionBudget {
	t.Helper()
	var got *policyv1.PodDisruptionBudget
	eventually(t, fmt.Sprintf("budget %s at %d/%d/%d/%d %s", name, expected, desired, healthy, allowed, reason), func() (bool, error) {
		pdb, err := c.client.PolicyV1().PodDisruptionBudgets("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got = pdb
		s := pdb.Status
		cond := apimeta.FindStatusCondition(s.Conditions, policyv1.DisruptionAllowedCondition)
		ok := s.ObservedGeneration == pdb.Generation && s.ExpectedPods == expected && s.DesiredHealthy == desired &&
			s.CurrentHealthy == healthy && s.DisruptionsAllowed == allowed && cond != nil && cond.Reason == reason
		return ok, fmt.Errorf("status %+v", s)
	})
	return got
}

func evict(c *cluster, pod string) error {
	return c.client.PolicyV1().Evictions("default").Evict(context.Background(),
		&policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: "default"}})
}

// TestPodDisruptionBudget: the disruption controller's status for a
// StatefulSet's pods on simulated nodes (a percentage from the set's
// scale, maxUnavailable after a spec change), and pods/eviction honouring
// it — 429 with kube's message and cause while no disruption is allowed,
// an admitted eviction spending the budget at once, 500 for a pod of two
// budgets.
func TestPodDisruptionBudget(t *testing.T) {
	c := startCluster(t, "")
	startSimulatedNodes(t, c, 2)
	ctx := context.Background()
	set := statefulSet("guarded", 3)
	set.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	if _, err := c.client.AppsV1().StatefulSets("default").Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, c, "guarded", "guarded-0", "guarded-1", "guarded-2")

	pdbs := c.client.PolicyV1().PodDisruptionBudgets("default")
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "guarded"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromString("100%")),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}},
	}
	if _, err := pdbs.Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitBudget(t, c, "guarded", 3, 3, 3, 0, policyv1.InsufficientPodsReason)

	err := evict(c, "guarded-0")
	if !apierrors.IsTooManyRequests(err) || !strings.Contains(err.Error(), "Cannot evict pod as it would violate the pod's disruption budget.") {
		t.Fatalf("evict with no disruption allowed: %v, want 429 with kube's message", err)
	}
	var status apierrors.APIStatus
	if ok := asStatus(err, &status); !ok || len(status.Status().Details.Causes) == 0 ||
		status.Status().Details.Causes[0].Message != "The disruption budget guarded needs 3 healthy pods and has 3 currently" {
		t.Errorf("causes of the refusal: %+v", err)
	}

	// maxUnavailable 1: one disruption, spent by the first eviction at once.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pdbs.Get(ctx, "guarded", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.MinAvailable, cur.Spec.MaxUnavailable = nil, ptr.To(intstr.FromInt32(1))
		_, err = pdbs.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitBudget(t, c, "guarded", 3, 2, 3, 1, policyv1.SufficientPodsReason)
	old, err := c.client.CoreV1().Pods("default").Get(ctx, "guarded-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	watchCtx, stopWatch := context.WithTimeout(ctx, time.Minute) // a bound, not a measure
	defer stopWatch()
	w, err := c.client.CoreV1().Pods("default").Watch(watchCtx, metav1.ListOptions{FieldSelector: "metadata.name=guarded-0", ResourceVersion: old.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := evict(c, "guarded-0"); err != nil {
		t.Fatalf("evict with one disruption allowed: %v", err)
	}
	// The pod is marked before it goes, as kube marks it.
	marked := false
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || p.UID != old.UID {
			continue
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.DisruptionTarget && cond.Status == corev1.ConditionTrue && cond.Reason == "EvictionByEvictionAPI" && cond.Message == "Eviction API: evicting" {
				marked = true
			}
		}
		if marked || ev.Type == watch.Deleted {
			break
		}
	}
	if !marked {
		t.Error("the evicted guarded-0 never had the DisruptionTarget condition (EvictionByEvictionAPI)")
	}
	if err := evict(c, "guarded-1"); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("second eviction: %v, want 429", err)
	}
	eventually(t, "guarded-0 replaced and ready", func() (bool, error) {
		p, err := c.client.CoreV1().Pods("default").Get(ctx, "guarded-0", metav1.GetOptions{})
		return err == nil && p.UID != old.UID && isReady(*p), err
	})
	waitBudget(t, c, "guarded", 3, 2, 3, 1, policyv1.SufficientPodsReason)

	// A second budget over the same pods: kube refuses with 500.
	second := pdb.DeepCopy()
	second.Name, second.Spec.MinAvailable = "also-guarded", ptr.To(intstr.FromInt32(1))
	if _, err := pdbs.Create(ctx, second, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitBudget(t, c, "also-guarded", 3, 1, 3, 2, policyv1.SufficientPodsReason)
	err = evict(c, "guarded-2")
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.") {
		t.Fatalf("evict a pod of two budgets: %v, want 500", err)
	}
	if p, err := c.client.CoreV1().Pods("default").Get(ctx, "guarded-2", metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Errorf("guarded-2 after a refused eviction: %v, deleting %v", err, p.DeletionTimestamp)
	}

	// A pod no budget selects is evicted as before.
	free := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "free"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := c.client.CoreV1().Pods("default").Create(ctx, free, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := evict(c, "free"); err != nil {
		t.Fatalf("evict a pod without budget: %v", err)
	}
}

func asStatus(err error, out *apierrors.APIStatus) bool {
	s, ok := err.(apierrors.APIStatus)
	if ok {
		*out = s
	}
	return ok
}
