package statefulset

import (
	"context"
	"math/rand"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"petset/internal/controller/runner/runnertest"
)

func podNames(h *harness) string { return strings.Join(names(h.pods()), ",") }

// live returns the names of the pods that are not terminating.
func live(h *harness) string {
	var out []string
	for _, p := range h.pods() {
		if p.DeletionTimestamp == nil {
			out = append(out, p.Name)
		}
	}
	return strings.Join(out, ",")
}

func terminating(h *harness) string {
	var out []string
	for _, p := range h.pods() {
		if p.DeletionTimestamp != nil {
			out = append(out, p.Name)
		}
	}
	return strings.Join(out, ",")
}

func expect(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

func settle(t *testing.T, h *harness, name string) {
	t.Helper()
	w := &walker{t: t, h: h, r: newRand(7), name: name, seed: 7, calm: true}
	w.converge("settle")
}

func TestNewPodShapeAndEvents(t *testing.T) {
	h := newHarness(t)
	set := h.createSet(newSet("web", setOpts{replicas: 3, start: 2}))
	h.mustSync("web")
	expect(t, "pods after first sync", podNames(h), "web-2")
	pod := h.pod("web-2")
	st := h.set("web").Status
	if st.UpdateRevision == "" || st.CurrentRevision != st.UpdateRevision {
		t.Fatalf("revisions in status: %+v", st)
	}
	want := map[string]string{"app": "web", PodNameLabel: "web-2", PodIndexLabel: "2", RevisionLabel: st.UpdateRevision}
	for k, v := range want {
		if pod.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, pod.Labels[k], v)
		}
	}
	if pod.GenerateName != "web-" || pod.Spec.Hostname != "web-2" || pod.Spec.Subdomain != "web" {
		t.Errorf("generateName/hostname/subdomain = %q/%q/%q", pod.GenerateName, pod.Spec.Hostname, pod.Spec.Subdomain)
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.UID != set.UID || ref.Kind != "StatefulSet" || ref.APIVersion != "apps/v1" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("owner reference %+v", pod.OwnerReferences)
	}
	if len(pod.Spec.Volumes) != 1 || pod.Spec.Volumes[0].Name != "www" || pod.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "www-web-2" {
		t.Errorf("volumes %+v", pod.Spec.Volumes)
	}
	claim := h.claims()["www-web-2"]
	if claim == nil || claim.Labels["app"] != "web" || len(claim.OwnerReferences) != 0 {
		t.Fatalf("claim %+v", claim)
	}
	if !h.events.find("SuccessfulCreate", "create Claim www-web-2 Pod web-2 in StatefulSet web success") ||
		!h.events.find("SuccessfulCreate", "create Pod web-2 in StatefulSet web successful") {
		t.Fatalf("events %+v", h.events.events)
	}
	// Revision: owned by the set, carries the set's annotations and the hash label.
	revs := h.revisions()
	if len(revs) != 1 || revs[0].Name != st.UpdateRevision || revs[0].Revision != 1 ||
		metav1.GetControllerOf(revs[0]) == nil || revs[0].Labels[RevisionHashLabel] == "" {
		t.Fatalf("revisions %+v", revs)
	}
}

func TestOrderedScaling(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 3}))
	h.mustSync("web")
	h.mustSync("web")
	expect(t, "waits for web-0", podNames(h), "web-0")
	h.setRunning(h.pod("web-0"))
	h.mustSync("web")
	expect(t, "running but not ready", podNames(h), "web-0")
	h.setReady(h.pod("web-0"))
	h.mustSync("web")
	expect(t, "after web-0 ready", podNames(h), "web-0,web-1")
	h.setReady(h.pod("web-1"))
	h.mustSync("web")
	h.setReady(h.pod("web-2"))
	h.mustSync("web")
	expect(t, "scaled up", podNames(h), "web-0,web-1,web-2")

	h.updateSet("web", setReplicas(1))
	h.mustSync("web")
	expect(t, "first scale-down sync", terminating(h), "web-2")
	h.mustSync("web")
	expect(t, "waits for web-2 to go", terminating(h), "web-2")
	h.removePod("web-2")
	h.mustSync("web")
	expect(t, "then web-1", terminating(h), "web-1")
	h.removePod("web-1")
	h.mustSync("web")
	expect(t, "scaled down", podNames(h), "web-0")
	if st := h.set("web").Status; st.Replicas != 1 || st.ReadyReplicas != 1 {
		t.Fatalf("status %+v", st)
	}
}

func TestOrderedScaleDownHaltsOnUnhealthy(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 5}))
	settle(t, h, "web")
	h.updateSet("web", setReplicas(2))
	h.setRunning(h.pod("web-3")) // not ready
	h.setRunning(h.pod("web-4"))
	h.mustSync("web")
	expect(t, "two unhealthy condemned pods: the higher blocks", terminating(h), "")
	h.setReady(h.pod("web-3"))
	h.mustSync("web")
	expect(t, "the lowest unhealthy condemned pod may go", terminating(h), "web-4")
	// An unhealthy in-range replica blocks scale-down.
	h.removePod("web-4")
	h.setRunning(h.pod("web-0"))
	h.mustSync("web")
	expect(t, "unhealthy replica blocks scale-down", terminating(h), "")
}

func TestOrderedTerminatingBlocksScaleUp(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 3}))
	settle(t, h, "web")
	if err := h.client.CoreV1().Pods(testNS).Delete(context.Background(), "web-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.updateSet("web", setReplicas(5))
	h.mustSync("web")
	h.mustSync("web")
	expect(t, "no creation past terminating web-0", podNames(h), "web-0,web-1,web-2")
	expect(t, "web-0 still terminating, not replaced", terminating(h), "web-0")
}

func TestParallelScaling(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 4, parallel: true}))
	h.mustSync("web")
	expect(t, "burst creates all", podNames(h), "web-0,web-1,web-2,web-3")
	h.updateSet("web", setReplicas(1))
	h.mustSync("web")
	expect(t, "burst deletes all condemned, unhealthy or not", terminating(h), "web-1,web-2,web-3")
}

func TestParallelThroughput(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 600, parallel: true, noClaims: true}))
	h.mustSync("web")
	if n := len(h.pods()); n != 600 {
		t.Fatalf("one burst sync created %d pods, want 600", n)
	}
}

func TestPartitionedRollingUpdate(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 3, partition: 2}))
	settle(t, h, "web")
	oldRev := h.set("web").Status.CurrentRevision
	h.updateSet("web", setImage("nginx:2"))
	h.mustSync("web")
	expect(t, "only the pod at/above the partition", terminating(h), "web-2")
	h.removePod("web-2")
	h.mustSync("web")
	if podImage(h.pod("web-2")) != "nginx:2" {
		t.Fatalf("web-2 not recreated at the update revision")
	}
	settle(t, h, "web")
	// A pod below the partition that is deleted comes back at the current revision.
	h.removePod("web-0")
	settle(t, h, "web")
	if podImage(h.pod("web-0")) != "nginx:1" || podImage(h.pod("web-1")) != "nginx:1" || podImage(h.pod("web-2")) != "nginx:2" {
		t.Fatalf("images: %s %s %s", podImage(h.pod("web-0")), podImage(h.pod("web-1")), podImage(h.pod("web-2")))
	}
	st := h.set("web").Status
	if st.CurrentRevision != oldRev || st.UpdatedReplicas != 1 || st.CurrentReplicas != 2 {
		t.Fatalf("partitioned status %+v", st)
	}
	// Lowering the partition finishes the rollout, top down.
	h.updateSet("web", func(s *apps.StatefulSet) { p := int32(0); s.Spec.UpdateStrategy.RollingUpdate.Partition = &p })
	h.mustSync("web")
	expect(t, "next below the old partition", terminating(h), "web-1")
	settle(t, h, "web")
	st = h.set("web").Status
	if st.CurrentRevision != st.UpdateRevision || st.CurrentReplicas != 3 {
		t.Fatalf("rollout not complete: %+v", st)
	}
}

func TestOnDelete(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 2, onDelete: true}))
	settle(t, h, "web")
	h.updateSet("web", setImage("nginx:2"))
	settle(t, h, "web")
	if podImage(h.pod("web-0")) != "nginx:1" || podImage(h.pod("web-1")) != "nginx:1" {
		t.Fatalf("OnDelete replaced pods by itself")
	}
	h.updateSet("web", setReplicas(3))
	settle(t, h, "web")
	if podImage(h.pod("web-2")) != "nginx:2" {
		t.Fatalf("OnDelete scale-up pod not at the update revision")
	}
	h.removePod("web-0")
	h.removePod("web-1")
	settle(t, h, "web")
	if podImage(h.pod("web-0")) != "nginx:2" || podImage(h.pod("web-1")) != "nginx:2" {
		t.Fatalf("deleted OnDelete pods not recreated at the update revision")
	}
	// Δ1.37: currentRevision advances once all pods are updated.
	if st := h.set("web").Status; st.CurrentRevision != st.UpdateRevision || st.CurrentReplicas != 3 {
		t.Fatalf("OnDelete currentRevision did not advance: %+v", st)
	}
}

func TestRollbackRenumbers(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 2}))
	settle(t, h, "web")
	first := h.set("web").Status.UpdateRevision
	h.updateSet("web", setImage("nginx:2"))
	settle(t, h, "web")
	second := h.set("web").Status.UpdateRevision
	h.updateSet("web", setImage("nginx:1"))
	settle(t, h, "web")
	revs := h.revisions()
	if len(revs) != 2 || revs[1].Name != first || revs[1].Revision != 3 || revs[0].Name != second || revs[0].Revision != 2 {
		t.Fatalf("after rollback: %v", revNums(revs))
	}
	if st := h.set("web").Status; st.UpdateRevision != first || st.CurrentRevision != first {
		t.Fatalf("status after rollback %+v", st)
	}
}

func revNums(revs []*apps.ControllerRevision) []string {
	var out []string
	for _, r := range revs {
		out = append(out, r.Name+"="+strconv.FormatInt(r.Revision, 10))
	}
	return out
}

func TestHistoryTruncation(t *testing.T) {
	for _, limit := range []int32{0, 2, -1} {
		h := newHarness(t)
		l := limit
		h.createSet(newSet("web", setOpts{replicas: 2, historyLimit: &l}))
		settle(t, h, "web")
		for i := 2; i <= 6; i++ {
			h.updateSet("web", setImage("nginx:"+strconv.Itoa(i)))
			settle(t, h, "web")
		}
		h.mustSync("web")
		got := len(h.revisions())
		want := int(limit) + 1 // the live (current == update) revision plus the limit
		if limit < 0 {
			want = 6
		}
		if got != want {
			t.Fatalf("limit %d: %d revisions (%v), want %d", limit, got, revNums(h.revisions()), want)
		}
		// The live revision survives.
		if revs := h.revisions(); revs[len(revs)-1].Name != h.set("web").Status.UpdateRevision {
			t.Fatalf("limit %d: newest revision is not the update revision", limit)
		}
	}
}

// TestMaxUnavailable is spec §9 item 16.
func TestMaxUnavailable(t *testing.T) {
	two := intstr.FromInt32(2)
	start := func(t *testing.T, parallel bool) *harness {
		h := newHarness(t)
		h.createSet(newSet("web", setOpts{replicas: 6, partition: 3, maxUnavailable: &two, parallel: parallel}))
		settle(t, h, "web")
		h.updateSet("web", setImage("nginx:2"))
		return h
	}
	t.Run("first sync deletes the top two", func(t *testing.T) {
		for _, parallel := range []bool{false, true} {
			h := start(t, parallel)
			h.mustSync("web")
			expect(t, "deleted", terminating(h), "web-4,web-5")
		}
	})
	t.Run("parallel continues while one is not ready", func(t *testing.T) {
		h := start(t, true)
		h.mustSync("web")
		h.removePod("web-4")
		h.removePod("web-5")
		h.mustSync("web")
		expect(t, "recreated together", live(h), "web-0,web-1,web-2,web-3,web-4,web-5")
		h.setReady(h.pod("web-4"))
		h.setPending(h.pod("web-5"))
		h.mustSync("web")
		expect(t, "web-3 goes once web-4 is ready", terminating(h), "web-3")
	})
	t.Run("ordered recreates one at a time", func(t *testing.T) {
		h := start(t, false)
		h.mustSync("web")
		h.removePod("web-4")
		h.removePod("web-5")
		h.mustSync("web")
		expect(t, "one recreation", podNames(h), "web-0,web-1,web-2,web-3,web-4")
	})
	for k := 0; k <= 3; k++ {
		t.Run("terminating "+strconv.Itoa(k), func(t *testing.T) {
			h := start(t, true)
			for i := 0; i < k; i++ {
				if err := h.client.CoreV1().Pods(testNS).Delete(context.Background(), "web-"+strconv.Itoa(i), metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			h.mustSync("web")
			if got, want := strings.Count(terminating(h), "web-")-k, max(0, 2-k); got != want {
				t.Fatalf("%d terminating: %d more deleted, want %d (%s)", k, got, want, terminating(h))
			}
		})
	}
	t.Run("percentages round down, at least one", func(t *testing.T) {
		for _, c := range []struct {
			v        intstr.IntOrString
			replicas int32
			want     int
		}{
			{intstr.FromString("10%"), 25, 2}, {intstr.FromString("50%"), 5, 2}, {intstr.FromString("10%"), 5, 1},
			{intstr.FromInt32(3), 2, 3}, {intstr.FromString("100%"), 4, 4},
		} {
			s := newSet("web", setOpts{replicas: c.replicas, maxUnavailable: &c.v})
			if got := resolveMaxUnavailable(s); got != c.want {
				t.Errorf("%s of %d = %d, want %d", c.v.String(), c.replicas, got, c.want)
			}
		}
	})
	t.Run("parallel recovers from a broken rollout", func(t *testing.T) {
		// The update revision never gets ready; reverting the template
		// must roll the broken pods back without manual deletes (Δ1.37).
		h := newHarness(t)
		h.createSet(newSet("web", setOpts{replicas: 3, parallel: true}))
		settle(t, h, "web")
		h.updateSet("web", setImage("broken"))
		for i := 0; i < 20; i++ {
			h.removeTerminating()
			for _, p := range h.pods() {
				if p.Status.Phase == "" {
					h.setRunning(p)
				}
			}
			_ = h.sync("web")
		}
		h.updateSet("web", setImage("nginx:1"))
		settle(t, h, "web")
		for _, p := range h.pods() {
			if podImage(p) != "nginx:1" {
				t.Fatalf("pod %s still runs %s", p.Name, podImage(p))
			}
		}
	})
}

func TestFailedAndSucceededPodsRecreated(t *testing.T) {
	for _, phase := range []v1.PodPhase{v1.PodFailed, v1.PodSucceeded} {
		for _, parallel := range []bool{false, true} {
			h := newHarness(t)
			h.createSet(newSet("web", setOpts{replicas: 3, parallel: parallel}))
			settle(t, h, "web")
			old := h.pod("web-1").UID
			h.setPhase(h.pod("web-1"), phase)
			h.injectError("delete/pods", 1)
			if err := h.sync("web"); err == nil {
				t.Fatalf("failed delete not surfaced")
			}
			expect(t, "nothing terminating after failed delete", terminating(h), "")
			h.mustSync("web")
			expect(t, "terminal pod deleted", terminating(h), "web-1")
			reason := "RecreatingFailedPod"
			if phase == v1.PodSucceeded {
				reason = "RecreatingTerminatedPod"
			}
			if !h.events.find(reason, "") {
				t.Fatalf("no %s event", reason)
			}
			h.removePod("web-1")
			h.mustSync("web")
			if p := h.pod("web-1"); p == nil || p.UID == old {
				t.Fatalf("%s pod not recreated", phase)
			}
		}
	}
}

func TestAdoptionAndRelease(t *testing.T) {
	h := newHarness(t)
	set := h.createSet(newSet("web", setOpts{replicas: 2, noClaims: true}))
	orphan := newPod(set, "web-whatever", 1)
	orphan.OwnerReferences = nil
	mustCreatePod(t, h, orphan)
	stranger := newPod(set, "x", 0)
	stranger.Name, stranger.OwnerReferences = "other-0", nil
	mustCreatePod(t, h, stranger)
	h.mustSync("web")
	if ref := metav1.GetControllerOf(h.pod("web-1")); ref == nil || ref.UID != set.UID {
		t.Fatalf("matching orphan not adopted: %+v", h.pod("web-1").OwnerReferences)
	}
	if metav1.GetControllerOf(h.pod("other-0")) != nil {
		t.Fatalf("pod with a foreign name adopted")
	}
	// Labels no longer match: released.
	p := h.pod("web-1").DeepCopy()
	p.Labels = map[string]string{"app": "gone"}
	h.storePod(p)
	h.mustSync("web")
	if metav1.GetControllerOf(h.pod("web-1")) != nil {
		t.Fatalf("non-matching pod not released")
	}
	// Orphan revisions are adopted.
	rev := h.revisions()[0].DeepCopy()
	rev.OwnerReferences = nil
	h.mu.Lock()
	_ = h.tracker().Update(revsGVR, rev, testNS)
	h.mu.Unlock()
	h.mustSync("web")
	if metav1.GetControllerOf(h.revisions()[0]) == nil {
		t.Fatalf("orphan revision not adopted")
	}
}

func TestNoAdoptionWhenLiveSetIsBeingDeleted(t *testing.T) {
	h := newHarness(t)
	set := h.createSet(newSet("web", setOpts{replicas: 1, noClaims: true}))
	orphan := newPod(set, "web-x", 0)
	orphan.OwnerReferences = nil
	mustCreatePod(t, h, orphan)
	h.refresh() // the cache does not know about the deletion
	live := h.set("web").DeepCopy()
	ts := metav1.NewTime(h.clock())
	live.DeletionTimestamp = &ts
	h.mu.Lock()
	_ = h.tracker().Update(setsGVR, live, testNS)
	h.mu.Unlock()
	if _, err := h.ctrl.sync(testCtx(), testNS+"/web"); err == nil {
		t.Fatalf("adoption against a set being deleted did not fail")
	}
	if metav1.GetControllerOf(h.pod("web-0")) != nil {
		t.Fatalf("pod adopted by a set being deleted")
	}
}

func mustCreatePod(t *testing.T, h *harness, pod *v1.Pod) {
	t.Helper()
	created, err := h.client.CoreV1().Pods(testNS).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h.setReady(created)
}

func TestSetBeingDeletedOnlyWritesStatus(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 3}))
	s := h.set("web").DeepCopy()
	ts := metav1.NewTime(h.clock())
	s.DeletionTimestamp = &ts
	h.mu.Lock()
	_ = h.tracker().Update(setsGVR, s, testNS)
	h.mu.Unlock()
	h.mustSync("web")
	if len(h.pods()) != 0 || len(h.claims()) != 0 {
		t.Fatalf("set being deleted created pods or claims")
	}
	if h.set("web").Status.ObservedGeneration != 1 {
		t.Fatalf("status not written")
	}
}

func TestStatusWrittenOnSyncError(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 1}))
	h.injectError("create/pods", 1)
	if err := h.sync("web"); err == nil {
		t.Fatalf("create failure not surfaced")
	}
	if st := h.set("web").Status; st.ObservedGeneration != 1 || st.UpdateRevision == "" {
		t.Fatalf("status not written on error: %+v", st)
	}
	if !h.events.find("FailedCreate", "") {
		t.Fatalf("no FailedCreate event")
	}
	h.mustSync("web")
	expect(t, "converges next sync", podNames(h), "web-0")
	// Both the sync and the status write fail: the sync error is returned.
	h.injectError("update/statefulsets/status", 1)
	h.injectError("create/pods", 1)
	h.updateSet("web", setReplicas(2))
	h.setReady(h.pod("web-0"))
	err := h.sync("web")
	if err == nil || !strings.Contains(err.Error(), "create pod") {
		t.Fatalf("want the sync error, got %v", err)
	}
}

func TestClaimEdgeCases(t *testing.T) {
	t.Run("claim being deleted blocks creation", func(t *testing.T) {
		h := newHarness(t)
		set := h.createSet(newSet("web", setOpts{replicas: 1}))
		c := podClaims(set, newPod(set, "r", 0))["www"]
		created, err := h.client.CoreV1().PersistentVolumeClaims(testNS).Create(context.Background(), &c, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ts := metav1.NewTime(h.clock())
		created.DeletionTimestamp = &ts
		h.storeClaim(created)
		if err := h.sync("web"); err == nil {
			t.Fatalf("no error for a claim being deleted")
		}
		expect(t, "no pod", podNames(h), "")
	})
	t.Run("missing claim of a pending pod is recreated", func(t *testing.T) {
		h := newHarness(t)
		h.createSet(newSet("web", setOpts{replicas: 1}))
		h.mustSync("web")
		h.setPending(h.pod("web-0"))
		h.mu.Lock()
		_ = h.tracker().Delete(pvcsGVR, testNS, "www-web-0")
		h.mu.Unlock()
		h.mustSync("web")
		if h.claims()["www-web-0"] == nil {
			t.Fatalf("claim not recreated")
		}
	})
	t.Run("stale pod ref blocks scale-up until the claim is gone", func(t *testing.T) {
		h := newHarness(t)
		set := h.createSet(newSet("web", setOpts{replicas: 1, whenScaled: apps.DeletePersistentVolumeClaimRetentionPolicyType}))
		c := podClaims(set, newPod(set, "r", 0))["www"]
		ctrl := true
		c.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "web-0", UID: "old-pod", Controller: &ctrl}}
		if _, err := h.client.CoreV1().PersistentVolumeClaims(testNS).Create(context.Background(), &c, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		h.mustSync("web")
		h.mustSync("web")
		expect(t, "blocked by stale claim", podNames(h), "")
		h.mu.Lock()
		_ = h.tracker().Delete(pvcsGVR, testNS, "www-web-0")
		h.mu.Unlock()
		h.mustSync("web")
		expect(t, "created after the claim is gone", podNames(h), "web-0")
	})
	t.Run("claim of a pod with a foreign name is not touched", func(t *testing.T) {
		h := newHarness(t)
		set := h.createSet(newSet("web", setOpts{replicas: 1, whenDeleted: apps.DeletePersistentVolumeClaimRetentionPolicyType}))
		c := podClaims(set, newPod(set, "r", 7))["www"]
		c.Name = "www-other-0"
		if _, err := h.client.CoreV1().PersistentVolumeClaims(testNS).Create(context.Background(), &c, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		settle(t, h, "web")
		if refs := h.claims()["www-other-0"].OwnerReferences; len(refs) != 0 {
			t.Fatalf("foreign claim got refs %+v", refs)
		}
	})
}

// TestRetentionTable checks the §5 ownership table on in-range claims and on
// the claims of condemned pods just before they are deleted.
func TestRetentionTable(t *testing.T) {
	R, D := apps.RetainPersistentVolumeClaimRetentionPolicyType, apps.DeletePersistentVolumeClaimRetentionPolicyType
	for _, c := range []struct {
		scaled, deleted                apps.PersistentVolumeClaimRetentionPolicyType
		inSet, inPod, condSet, condPod bool
	}{
		{R, R, false, false, false, false},
		{R, D, true, false, true, false},
		{D, R, false, false, false, true},
		{D, D, true, false, false, true},
	} {
		name := string(c.scaled) + "/" + string(c.deleted)
		h := newHarness(t)
		set := h.createSet(newSet("web", setOpts{replicas: 3, whenScaled: c.scaled, whenDeleted: c.deleted}))
		settle(t, h, "web")
		check := func(claim string, pod *v1.Pod, wantSet, wantPod bool) {
			t.Helper()
			cl := h.claims()[claim]
			if cl == nil {
				t.Fatalf("%s: claim %s missing", name, claim)
			}
			var gotSet, gotPod bool
			for _, ref := range cl.OwnerReferences {
				if ref.Controller == nil || !*ref.Controller {
					t.Fatalf("%s: non-controller ref %+v", name, ref)
				}
				gotSet = gotSet || (ref.Kind == "StatefulSet" && ref.UID == set.UID)
				gotPod = gotPod || (ref.Kind == "Pod" && ref.UID == pod.UID)
			}
			if gotSet != wantSet || gotPod != wantPod || len(cl.OwnerReferences) != btoi(wantSet)+btoi(wantPod) {
				t.Fatalf("%s: claim %s refs %+v, want set=%v pod=%v", name, claim, cl.OwnerReferences, wantSet, wantPod)
			}
		}
		check("www-web-0", h.pod("web-0"), c.inSet, c.inPod)
		h.updateSet("web", setReplicas(1))
		h.mustSync("web")
		expect(t, name+": condemned pod deleted", terminating(h), "web-2")
		check("www-web-2", h.pod("web-2"), c.condSet, c.condPod)
		settle(t, h, "web")
		_, kept := h.claims()["www-web-2"]
		if kept == (c.scaled == D) {
			t.Fatalf("%s: claim of the removed pod kept=%v", name, kept)
		}
		check("www-web-0", h.pod("web-0"), c.inSet, c.inPod)

		// Policy change back to Retain/Retain strips our refs.
		h.updateSet("web", func(s *apps.StatefulSet) {
			s.Spec.PersistentVolumeClaimRetentionPolicy = &apps.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: R, WhenScaled: R}
		})
		settle(t, h, "web")
		check("www-web-0", h.pod("web-0"), false, false)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestConflictingController(t *testing.T) {
	h := newHarness(t)
	set := h.createSet(newSet("web", setOpts{replicas: 1, whenDeleted: apps.DeletePersistentVolumeClaimRetentionPolicyType}))
	c := podClaims(set, newPod(set, "r", 0))["www"]
	ctrl := true
	notCtrl := false
	// Another controller owns the claim, and it also refers to our set.
	c.OwnerReferences = []metav1.OwnerReference{
		{APIVersion: "example.com/v1", Kind: "Backup", Name: "b", UID: "other", Controller: &ctrl},
		{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web", UID: set.UID, Controller: &notCtrl},
	}
	if _, err := h.client.CoreV1().PersistentVolumeClaims(testNS).Create(context.Background(), &c, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	settle(t, h, "web")
	refs := h.claims()["www-web-0"].OwnerReferences
	if len(refs) != 1 || refs[0].UID != "other" {
		t.Fatalf("claim with a foreign controller got refs %+v", refs)
	}
	if !h.events.find("ConflictingController", "") {
		t.Fatalf("no ConflictingController event")
	}
}

func TestMinReadySecondsAvailability(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 2, minReady: 3600}))
	h.mustSync("web")
	h.setReady(h.pod("web-0"))
	h.advance(30 * time.Minute)
	h.mustSync("web")
	expect(t, "OrderedReady waits for availability", podNames(h), "web-0")
	if st := h.set("web").Status; st.ReadyReplicas != 1 || st.AvailableReplicas != 0 {
		t.Fatalf("status after 30m %+v", st)
	}
	h.advance(90 * time.Minute)
	h.mustSync("web")
	expect(t, "available after 2h", podNames(h), "web-0,web-1")
	if st := h.set("web").Status; st.AvailableReplicas != 1 {
		t.Fatalf("status after 2h %+v", st)
	}
}

func TestIdentityRepair(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 1}))
	settle(t, h, "web")
	p := h.pod("web-0").DeepCopy()
	delete(p.Labels, PodNameLabel)
	p.Spec.Volumes = nil
	h.storePod(p)
	h.mustSync("web")
	got := h.pod("web-0")
	if !identityMatches(h.set("web"), got) || !storageMatches(h.set("web"), got) {
		t.Fatalf("identity/storage not repaired: %+v %+v", got.Labels, got.Spec.Volumes)
	}
}

func TestParsePodName(t *testing.T) {
	for _, c := range []struct {
		name   string
		parent string
		ord    int
	}{
		{"web-0", "web", 0}, {"web-1-0", "web-1", 0}, {"web-12", "web", 12}, {"web", "", -1},
		{"web-", "", -1}, {"web-99999999999", "web", -1}, {"web-2147483647", "web", 2147483647},
	} {
		parent, ord := parsePodName(c.name)
		if parent != c.parent || ord != c.ord {
			t.Errorf("parsePodName(%q) = %q, %d; want %q, %d", c.name, parent, ord, c.parent, c.ord)
		}
	}
}

// parsePodName splits names as upstream's regexp does, on random names over
// an alphabet of the characters that matter (replay with
// PETSET_TEST_SEED=<seed>).
func TestParsePodNameAsUpstreamRegexp(t *testing.T) {
	upstream := regexp.MustCompile(`(.*)-([0-9]+)$`)
	seed := time.Now().UnixNano()
	if s := os.Getenv("PETSET_TEST_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("PETSET_TEST_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	const alphabet = "ab-09\n"
	for range 20000 {
		b := make([]byte, rng.Intn(14))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		name := string(b)
		if rng.Intn(4) == 0 {
			name += "-" + strconv.FormatUint(rng.Uint64()>>uint(rng.Intn(64)), 10)
		}
		wantParent, wantOrd := "", -1
		if m := upstream.FindStringSubmatch(name); len(m) == 3 {
			wantParent = m[1]
			if v, err := strconv.ParseInt(m[2], 10, 32); err == nil {
				wantOrd = int(v)
			}
		}
		if parent, ord := parsePodName(name); parent != wantParent || ord != wantOrd {
			t.Fatalf("parsePodName(%q) = %q, %d; upstream's regexp: %q, %d (seed %d)", name, parent, ord, wantParent, wantOrd, seed)
		}
	}
}

func TestUpdateDeleteFailureKeepsCurrentReplicas(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 3}))
	settle(t, h, "web")
	h.updateSet("web", setImage("nginx:2"))
	h.injectError("delete/pods", 1)
	if err := h.sync("web"); err == nil {
		t.Fatalf("failed update delete not surfaced")
	}
	if st := h.set("web").Status; st.CurrentReplicas != 3 {
		t.Fatalf("currentReplicas after a failed delete = %d, want 3", st.CurrentReplicas)
	}
	h.mustSync("web")
	if st := h.set("web").Status; st.CurrentReplicas != 2 {
		t.Fatalf("currentReplicas after a delete = %d, want 2", st.CurrentReplicas)
	}
	expect(t, "top pod rolled first", terminating(h), "web-2")
}

func TestEventHandlersEnqueue(t *testing.T) {
	h := newHarness(t)
	set := h.createSet(newSet("web", setOpts{replicas: 1}))
	other := h.createSet(newSet("db", setOpts{replicas: 1}))
	h.refresh()
	c := h.ctrl
	rec := runnertest.Start(t, testCtx())
	c.runner = rec.Runner
	drain := rec.Drain
	owned := newPod(set, "r", 0)
	owned.UID = "p1"
	c.addPod(owned)
	expect(t, "owned pod add", strings.Join(drain(), ","), "default/web")

	stale := owned.DeepCopy()
	stale.OwnerReferences[0].UID = "someone-else"
	c.addPod(stale)
	expect(t, "owner ref to another incarnation", strings.Join(drain(), ","), "")

	orphan := newPod(other, "r", 0)
	orphan.OwnerReferences = nil
	c.addPod(orphan)
	expect(t, "orphan add enqueues selecting sets", strings.Join(drain(), ","), "default/db")

	old := owned.DeepCopy()
	old.ResourceVersion = "1"
	cur := owned.DeepCopy()
	cur.ResourceVersion = "1"
	c.updatePod(old, cur)
	expect(t, "resync with same resourceVersion", strings.Join(drain(), ","), "")

	cur.ResourceVersion = "2"
	cur.OwnerReferences = nil
	cur.Labels = map[string]string{"app": "db"}
	c.updatePod(old, cur)
	got := drain()
	if len(got) != 2 {
		t.Fatalf("release to orphan enqueued %v, want old owner and the selecting set", got)
	}
	c.deletePod(owned)
	expect(t, "delete", strings.Join(drain(), ","), "default/web")
}

func TestRevisionNameCollision(t *testing.T) {
	h := newHarness(t)
	set := h.createSet(newSet("web", setOpts{replicas: 1}))
	zero := int32(0)
	want, err := newRevision(set, 1, &zero)
	if err != nil {
		t.Fatal(err)
	}
	// Someone else's revision already holds the name, with other data and
	// labels the set does not select (so it is not in the set's history).
	squatter := want.DeepCopy()
	squatter.Labels = map[string]string{"app": "other"}
	squatter.OwnerReferences = nil
	squatter.Data.Raw = []byte(`{"spec":{"template":{"$patch":"replace"}}}`)
	if _, err := h.client.AppsV1().ControllerRevisions(testNS).Create(context.Background(), squatter, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.mustSync("web")
	st := h.set("web").Status
	if st.CollisionCount == nil || *st.CollisionCount != 1 {
		t.Fatalf("collisionCount %v, want 1", st.CollisionCount)
	}
	one := int32(1)
	if st.UpdateRevision != revisionName("web", hashRevision(want.Data.Raw, &one)) {
		t.Fatalf("update revision %s does not use the bumped collision count", st.UpdateRevision)
	}
	// Stable afterwards: the persisted count reproduces the same name.
	settle(t, h, "web")
	if h.set("web").Status.UpdateRevision != st.UpdateRevision || len(h.revisions()) != 2 {
		t.Fatalf("revision changed after a collision: %v", revNums(h.revisions()))
	}
}

func TestRollingUpdateWithoutRollingUpdateBlock(t *testing.T) {
	h := newHarness(t)
	s := newSet("web", setOpts{replicas: 3})
	s.Spec.UpdateStrategy.RollingUpdate = nil
	h.createSet(s)
	settle(t, h, "web")
	h.updateSet("web", setImage("nginx:2"))
	h.mustSync("web")
	expect(t, "one pod at a time from the top", terminating(h), "web-2")
	settle(t, h, "web")
	for _, p := range h.pods() {
		if podImage(p) != "nginx:2" {
			t.Fatalf("pod %s not updated", p.Name)
		}
	}
}
