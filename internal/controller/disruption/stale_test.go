package disruption

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
)

func markedPod(since time.Time, reason string) *corev1.Pod {
	p := pod("web-0", true, true)
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: reason, Message: "Eviction API: evicting", LastTransitionTime: metav1.NewTime(since)})
	return p
}

// TestStaleDisruption: which pods' DisruptionTarget the cleanup owns, and
// when it is stale.
func TestStaleDisruption(t *testing.T) {
	terminating := markedPod(now.Add(-time.Hour), "EvictionByEvictionAPI")
	terminating.DeletionTimestamp = &metav1.Time{Time: now}
	failed := markedPod(now.Add(-time.Hour), "EvictionByEvictionAPI")
	failed.Status.Phase = corev1.PodFailed
	cases := []struct {
		name  string
		pod   *corev1.Pod
		has   bool
		after time.Duration
	}{
		{"fresh", markedPod(now.Add(-30*time.Second), "EvictionByEvictionAPI"), true, 90 * time.Second},
		{"stale", markedPod(now.Add(-3*time.Minute), "EvictionByEvictionAPI"), true, 0},
		{"set by the node", markedPod(now.Add(-time.Hour), corev1.PodReasonTerminationByKubelet), false, 0},
		{"terminating", terminating, false, 0},
		{"finished", failed, false, 0},
		{"no condition", pod("web-0", true, true), false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if has, after := staleDisruption(tc.pod, now); has != tc.has || after != tc.after {
				t.Errorf("staleDisruption = %v, %v; want %v, %v", has, after, tc.has, tc.after)
			}
		})
	}
}

// TestResetStale: a pod marked three minutes ago and never deleted gets
// DisruptionTarget=False; one marked 30 s ago is looked at again later.
func TestResetStale(t *testing.T) {
	ctx := context.Background()
	stale := markedPod(now.Add(-3*time.Minute), "EvictionByEvictionAPI")
	fresh := markedPod(now.Add(-30*time.Second), "EvictionByEvictionAPI")
	fresh.Name = "web-1"
	client := fake.NewClientset(stale, fresh)
	f := informers.NewSharedInformerFactory(client, 0)
	c := New(client, f.Policy().V1().PodDisruptionBudgets(), f.Core().V1().Pods(), f.Apps().V1(),
		record.NewFakeRecorder(10), clocktesting.NewFakePassiveClock(now), 1)
	for _, p := range []*corev1.Pod{stale, fresh} {
		if err := f.Core().V1().Pods().Informer().GetStore().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := c.reconcile(ctx, podKeyPrefix+"default/web-0"); err != nil || res.String() != "done" {
		t.Fatalf("reset web-0: %v, %v", res, err)
	}
	got, err := client.CoreV1().Pods("default").Get(ctx, "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cond := range got.Status.Conditions {
		if cond.Type == corev1.DisruptionTarget && (cond.Status != corev1.ConditionFalse || cond.Reason != "" || !cond.LastTransitionTime.Time.Equal(now)) {
			t.Errorf("web-0 condition %+v, want False since now", cond)
		}
	}
	if res, err := c.reconcile(ctx, podKeyPrefix+"default/web-1"); err != nil || res.String() != "requeue after 1m30s" {
		t.Errorf("web-1: %v, %v; want requeue after 1m30s", res, err)
	}
}
