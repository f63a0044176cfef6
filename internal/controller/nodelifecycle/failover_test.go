package nodelifecycle

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"petset/internal/fencing"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
)

// fencedNode is a Ready node whose agent announces a fence timeout.
func fencedNode(name string, timeout time.Duration) *v1.Node {
	n := readyNode(name, t0)
	n.Annotations = map[string]string{fencing.FenceTimeoutAnnotation: fencing.FormatTimeout(timeout)}
	return n
}

// optedIn is a running pod annotated for automatic failover.
func optedIn(name, node string, tolerations []v1.Toleration) *v1.Pod {
	p := runningPod(name, node, tolerations)
	p.Annotations = map[string]string{fencing.FailoverAnnotation: fencing.FailoverAuto}
	return p
}

// versionedLease is a node lease with a resourceVersion, as the API
// server returns it.
func versionedLease(node string, renew time.Time) *coordinationv1.Lease {
	l := lease(node, renew)
	l.ResourceVersion = "1"
	return l
}

func (e *env) leaseOf(t *testing.T, node string) *coordinationv1.Lease {
	t.Helper()
	l, err := e.client.CoordinationV1().Leases(LeaseNamespace).Get(context.Background(), node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (e *env) gone(t *testing.T, name string) bool {
	t.Helper()
	_, err := e.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return apierrors.IsNotFound(err)
}

// fencedEvents returns the NodeFenced events by the name of their pod.
func (e *env) fencedEvents(t *testing.T) map[string]v1.Event {
	t.Helper()
	evs, err := e.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]v1.Event{}
	for _, ev := range evs.Items {
		if ev.Reason == fencing.ReasonNodeFenced {
			out[ev.InvolvedObject.Name] = ev
		}
	}
	return out
}

// step advances the clock, renews the leases of the healthy nodes and runs
// a pass.
func (e *env) step(t *testing.T, d time.Duration, healthy ...string) {
	t.Helper()
	e.clock.Step(d)
	for _, n := range healthy {
		e.renewLease(t, n)
	}
	e.pass(t)
}

// A lost node with a 20 s fence: its lease is marked once the grace period
// is over; 20 s + the 2 s margin later its pods that opted in are deleted
// for good (a graceful eviction's Terminating pod too) with a NodeFenced
// event each, a pod that did not opt in stays, and the mark is removed.
func TestFailoverDeletesOptedInPodsAfterFenceAndMargin(t *testing.T) {
	e := newEnv(t, Config{GracePeriod: 40 * time.Second, EvictionEnabled: true},
		fencedNode("n1", 20*time.Second), versionedLease("n1", t0),
		readyNode("n2", t0), versionedLease("n2", t0),
		optedIn("db-0", "n1", defaultTolerations()),
		optedIn("db-1", "n1", nil), // evicted at once: Terminating
		runningPod("web-0", "n1", defaultTolerations()),
		optedIn("db-2", "n2", defaultTolerations()),
	)
	e.pass(t)
	e.step(t, 30*time.Second, "n2")
	if l := e.leaseOf(t, "n1"); l.Annotations[fencing.FencedAtAnnotation] != "" {
		t.Fatalf("healthy node's lease marked: %v", l.Annotations)
	}
	e.step(t, 11*time.Second, "n2") // 41 s without a renewal: lost
	markedAt := e.clock.Now()
	l := e.leaseOf(t, "n1")
	if got := l.Annotations[fencing.FencedAtAnnotation]; got != markedAt.UTC().Format(time.RFC3339) {
		t.Fatalf("lost node's lease fenced-at %q, want %s", got, markedAt.UTC().Format(time.RFC3339))
	}
	if e.pod(t, "db-1").DeletionTimestamp == nil {
		t.Fatalf("db-1 (no toleration) not evicted")
	}
	if e.leaseOf(t, "n2").Annotations[fencing.FencedAtAnnotation] != "" {
		t.Fatalf("healthy n2's lease marked")
	}

	// Up to the fence timeout plus the margin, nothing is deleted.
	e.step(t, 10*time.Second, "n2")
	e.step(t, 11*time.Second, "n2") // markedAt + 21 s
	for _, name := range []string{"db-0", "db-1", "web-0"} {
		if e.gone(t, name) {
			t.Fatalf("%s deleted %v after the mark, before the fence timeout and margin (22 s)", name, e.clock.Since(markedAt))
		}
	}
	if len(e.fencedEvents(t)) != 0 {
		t.Fatalf("NodeFenced events before any delete")
	}

	e.step(t, time.Second, "n2") // markedAt + 22 s
	for _, name := range []string{"db-0", "db-1"} {
		if !e.gone(t, name) {
			t.Errorf("%s (opted in) still exists %v after the mark", name, e.clock.Since(markedAt))
		}
	}
	if e.gone(t, "web-0") || e.pod(t, "web-0").DeletionTimestamp != nil {
		t.Errorf("web-0, which did not opt in, was deleted")
	}
	if e.gone(t, "db-2") {
		t.Errorf("db-2 on the healthy node was deleted")
	}
	evs := e.fencedEvents(t)
	for _, name := range []string{"db-0", "db-1"} {
		ev, ok := evs[name]
		if !ok {
			t.Errorf("no NodeFenced event on %s", name)
			continue
		}
		want := "Node n1 stopped renewing its lease and fenced itself; pod deleted so its StatefulSet can replace it"
		if ev.Type != v1.EventTypeWarning || ev.Message != want || ev.InvolvedObject.Kind != "Pod" || string(ev.InvolvedObject.UID) != "uid-"+name {
			t.Errorf("%s event %s %q on %+v", name, ev.Type, ev.Message, ev.InvolvedObject)
		}
	}
	if len(evs) != 2 {
		t.Errorf("NodeFenced events on %d pods, want 2", len(evs))
	}
	if _, ok := e.leaseOf(t, "n1").Annotations[fencing.FencedAtAnnotation]; ok {
		t.Errorf("fence mark left on the lease after the failover")
	}

	// The node stays lost: no new mark, nothing else deleted.
	e.step(t, 30*time.Second, "n2")
	if _, ok := e.leaseOf(t, "n1").Annotations[fencing.FencedAtAnnotation]; ok {
		t.Errorf("lease marked again with no opted-in pod left")
	}
	if e.gone(t, "web-0") {
		t.Errorf("web-0 deleted later")
	}
}

// The agent renews its lease between the controller's health decision and
// its mark: the conditional update conflicts, nothing is marked and nothing
// is deleted, and the node is healthy at the next pass.
func TestFailoverMarkConflictDeletesNothing(t *testing.T) {
	e := newEnv(t, Config{GracePeriod: 40 * time.Second, EvictionEnabled: true},
		fencedNode("n1", 20*time.Second), versionedLease("n1", t0),
		optedIn("db-0", "n1", defaultTolerations()),
	)
	gvr := coordinationv1.SchemeGroupVersion.WithResource("leases")
	conflicts := 0
	e.client.PrependReactor("update", "leases", func(a clienttesting.Action) (bool, runtime.Object, error) {
		l := a.(clienttesting.UpdateActionImpl).Object.(*coordinationv1.Lease)
		if _, marking := l.Annotations[fencing.FencedAtAnnotation]; !marking || conflicts > 0 {
			return false, nil, nil
		}
		// The agent's renewal lands first.
		conflicts++
		obj, err := e.client.Tracker().Get(gvr, l.Namespace, l.Name)
		if err != nil {
			return true, nil, err
		}
		cur := obj.(*coordinationv1.Lease).DeepCopy()
		rt := metav1.NewMicroTime(e.clock.Now())
		cur.Spec.RenewTime = &rt
		rv, _ := strconv.Atoi(cur.ResourceVersion)
		cur.ResourceVersion = fmt.Sprint(rv + 1000)
		if err := e.client.Tracker().Update(gvr, cur, cur.Namespace); err != nil {
			return true, nil, err
		}
		return false, nil, nil // the conditional update now meets a newer lease
	})
	e.pass(t)
	e.step(t, 41*time.Second)
	if conflicts != 1 {
		t.Fatalf("the controller tried to mark %d times, want 1", conflicts)
	}
	if _, ok := e.leaseOf(t, "n1").Annotations[fencing.FencedAtAnnotation]; ok {
		t.Fatalf("lease marked despite the conflict")
	}
	for range 4 {
		e.step(t, 10*time.Second, "n1")
	}
	if e.gone(t, "db-0") || len(e.fencedEvents(t)) != 0 {
		t.Errorf("pod of a node whose agent renewed was failed over")
	}
	if _, ok := e.leaseOf(t, "n1").Annotations[fencing.FencedAtAnnotation]; ok {
		t.Errorf("healthy node's lease marked")
	}
}

// A node without a fence is never failed over, nor is a pod that did not
// opt in; neither lease is marked.
func TestFailoverNeedsFenceAndOptIn(t *testing.T) {
	e := newEnv(t, Config{GracePeriod: 40 * time.Second, EvictionEnabled: true},
		readyNode("nofence", t0), versionedLease("nofence", t0),
		fencedNode("fenced", 20*time.Second), versionedLease("fenced", t0),
		optedIn("db-0", "nofence", defaultTolerations()),
		runningPod("web-0", "fenced", defaultTolerations()),
	)
	e.pass(t)
	for range 10 {
		e.step(t, 20*time.Second)
	}
	for _, name := range []string{"db-0", "web-0"} {
		if e.gone(t, name) {
			t.Errorf("%s deleted", name)
		}
	}
	for _, n := range []string{"nofence", "fenced"} {
		if _, ok := e.leaseOf(t, n).Annotations[fencing.FencedAtAnnotation]; ok {
			t.Errorf("lease of %s marked", n)
		}
	}
	if len(e.fencedEvents(t)) != 0 {
		t.Errorf("NodeFenced events: %v", e.fencedEvents(t))
	}
}

// The agent comes back (renews its lease, keeping the mark) before the
// fence timeout and margin have passed: the mark is removed and nothing is
// deleted, then or later.
func TestFailoverNodeBackBeforeDeadline(t *testing.T) {
	e := newEnv(t, Config{GracePeriod: 40 * time.Second, EvictionEnabled: true},
		fencedNode("n1", 20*time.Second), versionedLease("n1", t0),
		optedIn("db-0", "n1", defaultTolerations()),
	)
	e.pass(t)
	e.step(t, 41*time.Second)
	if _, ok := e.leaseOf(t, "n1").Annotations[fencing.FencedAtAnnotation]; !ok {
		t.Fatalf("lost node's lease not marked")
	}
	e.step(t, 15*time.Second, "n1")
	l := e.leaseOf(t, "n1")
	if _, ok := l.Annotations[fencing.FencedAtAnnotation]; ok {
		t.Fatalf("mark kept after the agent renewed: %v", l.Annotations)
	}
	for range 5 {
		e.step(t, 10*time.Second, "n1")
	}
	if e.gone(t, "db-0") || len(e.fencedEvents(t)) != 0 {
		t.Errorf("pod failed over though its node came back before the deadline")
	}
}

// A mark left on a healthy node's lease (by a controller that stopped
// mid-failover) is removed, or the agent could never extend its fence.
func TestFailoverLeftoverMarkRemoved(t *testing.T) {
	l := versionedLease("n1", t0)
	l.Annotations = map[string]string{fencing.FencedAtAnnotation: t0.Format(time.RFC3339)}
	e := newEnv(t, Config{GracePeriod: 40 * time.Second}, fencedNode("n1", 20*time.Second), l)
	e.pass(t)
	if _, ok := e.leaseOf(t, "n1").Annotations[fencing.FencedAtAnnotation]; ok {
		t.Errorf("leftover mark kept on a healthy node's lease")
	}
}

// The lease is written after the mark without a renewal the controller
// has seen (its cache behind): at the deadline the live read shows another
// resourceVersion, so nothing is deleted and the failover starts over with
// a new mark and a full wait.
func TestFailoverLeaseWrittenAfterMarkStartsOver(t *testing.T) {
	e := newEnv(t, Config{GracePeriod: 40 * time.Second, EvictionEnabled: true},
		fencedNode("n1", 20*time.Second), versionedLease("n1", t0),
		optedIn("db-0", "n1", defaultTolerations()),
	)
	e.pass(t)
	e.step(t, 41*time.Second)
	l := e.leaseOf(t, "n1")
	if _, ok := l.Annotations[fencing.FencedAtAnnotation]; !ok {
		t.Fatalf("lost node's lease not marked")
	}
	l.Labels = map[string]string{"written": "after-the-mark"}
	if _, err := e.client.CoordinationV1().Leases(LeaseNamespace).Update(context.Background(), l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.step(t, 22*time.Second)
	if e.gone(t, "db-0") {
		t.Fatalf("pod deleted though the lease was written after the mark")
	}
	e.step(t, time.Second) // a new mark
	remarked := e.clock.Now()
	if got := e.leaseOf(t, "n1").Annotations[fencing.FencedAtAnnotation]; got != remarked.UTC().Format(time.RFC3339) {
		t.Fatalf("fenced-at %q, want a new mark at %s", got, remarked.UTC().Format(time.RFC3339))
	}
	e.step(t, 21*time.Second)
	if e.gone(t, "db-0") {
		t.Fatalf("pod deleted before the new mark's wait ended")
	}
	e.step(t, time.Second)
	if !e.gone(t, "db-0") {
		t.Errorf("pod not deleted after the new mark's wait")
	}
}
