package workload

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func pod(name string, ready bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}}}
}

// The ready count follows adds, flips both ways and deletes, as the watch
// delivers them.
func TestTrackerReadyCount(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs := fake.NewClientset(pod("a", true))
	pods, err := TrackPods(ctx, cs, "ns")
	if err != nil {
		t.Fatal(err)
	}
	wait := func(want int) {
		t.Helper()
		if _, err := pods.WaitUntil(ctx, 10*time.Second, func(s *State) bool { return ReadyPods(s) == want }); err != nil {
			t.Fatalf("ready pods never %d: %v", want, err)
		}
	}
	wait(1)
	pc := cs.CoreV1().Pods("ns")
	if _, err := pc.Create(ctx, pod("b", false), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Update(ctx, pod("b", true), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	wait(2)
	if _, err := pc.Update(ctx, pod("b", true), metav1.UpdateOptions{}); err != nil { // still Ready: no double count
		t.Fatal(err)
	}
	if _, err := pc.Update(ctx, pod("a", false), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	wait(1)
	if err := pc.Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wait(0)
	if err := pc.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil { // not Ready when deleted
		t.Fatal(err)
	}
	if _, err := pods.WaitUntil(ctx, 10*time.Second, NoPods); err != nil {
		t.Fatal(err)
	}
	pods.mu.Lock()
	defer pods.mu.Unlock()
	if n := ReadyPods(&pods.state); n != 0 {
		t.Errorf("ready pods after all deleted = %d", n)
	}
}

func set(name string, gen, observed int64, replicas, ready, updated int32, current, update string) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: gen},
		Spec: appsv1.StatefulSetSpec{Replicas: &replicas},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: observed, ReadyReplicas: ready, UpdatedReplicas: updated,
			CurrentRevision: current, UpdateRevision: update}}
}

func TestAllRolledOut(t *testing.T) {
	cond := AllRolledOut(map[string]int64{"s0": 2, "s1": 2})
	done := set("s0", 2, 2, 10, 10, 10, "r2", "r2")
	for _, tc := range []struct {
		name string
		s1   *appsv1.StatefulSet
		want bool
	}{
		{"both rolled out", set("s1", 2, 2, 10, 10, 10, "r2", "r2"), true},
		{"old generation observed", set("s1", 2, 1, 10, 10, 10, "r1", "r1"), false},
		{"pods still updating", set("s1", 2, 2, 10, 10, 7, "r1", "r2"), false},
		{"not all ready", set("s1", 2, 2, 10, 9, 10, "r2", "r2"), false},
	} {
		s := &State{objs: map[string]runtime.Object{"s0": done, "s1": tc.s1}}
		if got := cond(s); got != tc.want {
			t.Errorf("%s: AllRolledOut = %v, want %v", tc.name, got, tc.want)
		}
	}
	if cond(&State{objs: map[string]runtime.Object{"s0": done}}) {
		t.Error("AllRolledOut true with a set missing")
	}
}
