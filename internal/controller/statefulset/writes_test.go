package statefulset

import (
	"errors"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestWriteTrackerWaitsForCaches(t *testing.T) {
	podsSeen, pvcsSeen := "5", "5"
	w := &writeTracker{podsSeen: func() string { return podsSeen }, pvcsSeen: func() string { return pvcsSeen }}
	set := newSet("web", setOpts{replicas: 1})
	set.UID = "set-uid"
	if !w.observed(set) {
		t.Fatalf("nothing recorded, yet not observed")
	}
	w.record(set, &v1.Pod{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "10"}})
	w.record(set, &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "8"}})
	w.record(set, &v1.Pod{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "not-a-number"}})
	if w.observed(set) {
		t.Fatalf("caches at 5 observed writes at 10 and 8")
	}
	podsSeen = "10"
	if w.observed(set) {
		t.Fatalf("claim cache at 5 observed the claim write at 8")
	}
	pvcsSeen = "9"
	if !w.observed(set) {
		t.Fatalf("caches caught up but writes not observed")
	}
	podsSeen = "1" // forgotten once observed
	if !w.observed(set) {
		t.Fatalf("observed writes were not forgotten")
	}
}

func TestSyncWaitsForOwnWrites(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 2, parallel: true}))
	seen := "0"
	h.ctrl.writes.podsSeen = func() string { return seen }
	h.mustSync("web")
	if n := len(h.pods()); n != 2 {
		t.Fatalf("first sync created %d pods", n)
	}
	if err := h.sync("web"); !errors.Is(err, errCacheBehind) {
		t.Fatalf("sync with a cache behind the controller's writes: %v", err)
	}
	seen = "1000000"
	h.mustSync("web")
}
