package podgc

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	testingclock "k8s.io/utils/clock/testing"
)

type harness struct {
	t      *testing.T
	client *fake.Clientset
	clock  *testingclock.FakeClock
	c      *Controller
	f      informers.SharedInformerFactory
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	client := fake.NewClientset()
	clk := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg.Clock = clk
	f := informers.NewSharedInformerFactory(client, 0)
	c := New(client, f.Core().V1().Pods(), f.Core().V1().Nodes(), cfg)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); f.Shutdown() })
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), f.Core().V1().Pods().Informer().HasSynced, f.Core().V1().Nodes().Informer().HasSynced) {
		t.Fatal("caches did not sync")
	}
	h := &harness{t: t, client: client, clock: clk, c: c, f: f}
	return h
}

func (h *harness) addPod(p *v1.Pod) {
	h.t.Helper()
	if _, err := h.client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		h.t.Fatal(err)
	}
	h.waitCache(func() bool { _, err := h.c.pods.Pods(p.Namespace).Get(p.Name); return err == nil })
}

func (h *harness) setNode(name string, exists bool) {
	h.t.Helper()
	ctx := context.Background()
	if exists {
		if _, err := h.client.CoreV1().Nodes().Create(ctx, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			h.t.Fatal(err)
		}
	} else if err := h.client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		h.t.Fatal(err)
	}
	h.waitCache(func() bool { _, err := h.c.nodes.Get(name); return (err == nil) == exists })
}

func (h *harness) waitCache(cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatal("informer cache did not catch up")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) gc() {
	h.t.Helper()
	if err := h.c.gc(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) exists(name string) bool {
	_, err := h.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		h.t.Fatal(err)
	}
	return err == nil
}

func pod(name, node string, phase v1.PodPhase, created time.Time) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(created)},
		Spec:       v1.PodSpec{NodeName: node},
		Status:     v1.PodStatus{Phase: phase},
	}
}

func TestOrphanQuarantine(t *testing.T) {
	h := newHarness(t, Config{})
	h.addPod(pod("p", "n1", v1.PodRunning, h.clock.Now()))
	h.gc()
	h.clock.Step(DefaultQuarantine - time.Second)
	h.gc()
	if !h.exists("p") {
		t.Fatal("deleted before the quarantine passed")
	}
	// The node shows up within the quarantine: the pod stays, and the
	// quarantine starts over when it goes again.
	h.setNode("n1", true)
	h.clock.Step(2 * time.Second)
	h.gc()
	if !h.exists("p") {
		t.Fatal("pod of an existing node deleted")
	}
	h.setNode("n1", false)
	h.gc()
	h.clock.Step(DefaultQuarantine - time.Second)
	h.gc()
	if !h.exists("p") {
		t.Fatal("deleted before a fresh quarantine passed")
	}
	h.client.ClearActions()
	h.clock.Step(time.Second)
	h.gc()
	if h.exists("p") {
		t.Fatal("orphan not deleted after the quarantine")
	}
	var updated *v1.Pod
	var deleted bool
	for _, a := range h.client.Actions() {
		switch a := a.(type) {
		case k8stesting.UpdateAction:
			if a.GetSubresource() == "status" {
				updated = a.GetObject().(*v1.Pod)
			}
		case k8stesting.DeleteAction:
			g := a.GetDeleteOptions().GracePeriodSeconds
			deleted = g != nil && *g == 0
		}
	}
	if updated == nil || updated.Status.Phase != v1.PodFailed {
		t.Fatalf("no status update to Failed before the delete: %+v", updated)
	}
	var ok bool
	for _, c := range updated.Status.Conditions {
		ok = ok || (c.Type == v1.DisruptionTarget && c.Reason == ReasonDeletionByPodGC && c.Status == v1.ConditionTrue)
	}
	if !ok {
		t.Errorf("conditions %+v lack DisruptionTarget/DeletionByPodGC", updated.Status.Conditions)
	}
	if !deleted {
		t.Error("not force-deleted (grace period 0)")
	}
}

func TestTerminatedThreshold(t *testing.T) {
	h := newHarness(t, Config{TerminatedPodThreshold: 2})
	t0 := h.clock.Now()
	h.setNode("n", true)
	h.addPod(pod("old", "n", v1.PodSucceeded, t0))
	h.addPod(pod("mid-b", "n", v1.PodFailed, t0.Add(time.Minute)))
	h.addPod(pod("mid-a", "n", v1.PodSucceeded, t0.Add(time.Minute)))
	h.addPod(pod("run", "n", v1.PodRunning, t0))
	evicted := pod("evicted", "n", v1.PodFailed, t0.Add(time.Hour))
	evicted.Status.Reason = "Evicted"
	h.addPod(evicted)
	h.gc()
	for name, want := range map[string]bool{"evicted": false, "old": false, "mid-a": true, "mid-b": true, "run": true} {
		if h.exists(name) != want {
			t.Errorf("%s exists = %v, want %v", name, !want, want)
		}
	}
}

func TestUnscheduledTerminating(t *testing.T) {
	h := newHarness(t, Config{})
	now := metav1.NewTime(h.clock.Now())
	p := pod("u", "", v1.PodPending, h.clock.Now())
	p.DeletionTimestamp = &now
	h.addPod(p)
	h.addPod(pod("pending", "", v1.PodPending, h.clock.Now()))
	h.gc()
	if h.exists("u") {
		t.Error("unscheduled terminating pod kept")
	}
	if !h.exists("pending") {
		t.Error("unscheduled pod deleted")
	}
}

func TestOutOfService(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := context.Background()
	taint := v1.Taint{Key: v1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: v1.TaintEffectNoExecute}
	for _, n := range []*v1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "down"}, Spec: v1.NodeSpec{Taints: []v1.Taint{taint}},
			Status: v1.NodeStatus{Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionUnknown}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "ready-tainted"}, Spec: v1.NodeSpec{Taints: []v1.Taint{taint}},
			Status: v1.NodeStatus{Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "lost"},
			Status: v1.NodeStatus{Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionUnknown}}}},
	} {
		if _, err := h.client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		h.waitCache(func() bool { _, err := h.c.nodes.Get(n.Name); return err == nil })
	}
	now := metav1.NewTime(h.clock.Now())
	for _, p := range []*v1.Pod{
		pod("down-terminating", "down", v1.PodRunning, h.clock.Now()),
		pod("down-running", "down", v1.PodRunning, h.clock.Now()),
		pod("ready-terminating", "ready-tainted", v1.PodRunning, h.clock.Now()),
		pod("lost-terminating", "lost", v1.PodRunning, h.clock.Now()),
	} {
		if p.Name != "down-running" {
			p.DeletionTimestamp = &now
		}
		h.addPod(p)
	}
	h.gc()
	for name, want := range map[string]bool{"down-terminating": false, "down-running": true, "ready-terminating": true, "lost-terminating": true} {
		if h.exists(name) != want {
			t.Errorf("%s exists = %v, want %v", name, !want, want)
		}
	}
}

// TestRunCollectsEveryPeriod: Run collects once the caches have synced and
// again each period: a pod that needs collecting only after the first
// pass is collected by a later one.
func TestRunCollectsEveryPeriod(t *testing.T) {
	h := newHarness(t, Config{Period: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- h.c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	<-h.c.Ready()
	now := metav1.NewTime(h.clock.Now())
	p := pod("u", "", v1.PodPending, h.clock.Now())
	p.DeletionTimestamp = &now
	// Created without waiting for the cache: a pass may collect it first.
	if _, err := h.client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitCache(func() bool { return !h.exists("u") })
}
