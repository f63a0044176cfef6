package statefulset

import (
	"context"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
)

// TestControllerWithInformers runs the wired controller (informers, event
// handlers, work queue, workers) against the fake API server, with a test
// goroutine acting as the kubelet.
func TestControllerWithInformers(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(testCtx())
	factory := informers.NewSharedInformerFactory(h.client, 0)
	c := NewController(ctx, h.client,
		factory.Core().V1().Pods(), factory.Apps().V1().StatefulSets(),
		factory.Core().V1().PersistentVolumeClaims(), factory.Apps().V1().ControllerRevisions(), h.events, 2, Options{})
	c.control.now = h.clock
	factory.Start(ctx.Done())

	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		factory.Shutdown()
	}()
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := c.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	go func() { // the kubelet: pods become ready, deletions complete
		defer wg.Done()
		for ctx.Err() == nil {
			for _, p := range h.pods() {
				switch {
				case p.DeletionTimestamp != nil:
					h.removePod(p.Name)
				case !isRunningAndReady(p):
					h.setReady(p)
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	<-c.Ready()
	h.createSet(newSet("web", setOpts{replicas: 3}))
	waitFor(t, "3 ready replicas", func() bool {
		s := h.set("web")
		return s.Status.ReadyReplicas == 3 && s.Status.ObservedGeneration == s.Generation && len(h.pods()) == 3
	})
	if !c.HasSynced() {
		t.Fatalf("HasSynced false after syncing")
	}
	h.updateSet("web", setImage("nginx:2"))
	waitFor(t, "rollout complete", func() bool {
		s := h.set("web")
		if s.Status.CurrentRevision != s.Status.UpdateRevision || s.Status.UpdatedReplicas != 3 || s.Status.ObservedGeneration != s.Generation {
			return false
		}
		for _, p := range h.pods() {
			if podImage(p) != "nginx:2" {
				return false
			}
		}
		return len(h.pods()) == 3
	})
	h.updateSet("web", setReplicas(1))
	waitFor(t, "scaled down to 1", func() bool {
		return podNames(h) == "web-0" && h.set("web").Status.Replicas == 1
	})
	if err := h.client.AppsV1().StatefulSets(testNS).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.checkViolations()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 60*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
