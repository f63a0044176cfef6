package agent

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"petset/internal/agent/runtime"
	"petset/internal/fencing"
)

// recordingFence is a fenceTable that keeps what the agent allowed, with
// the expiry of each address on the test's clock.
type recordingFence struct {
	mu      sync.Mutex
	clock   Clock
	until   map[netip.Addr]time.Time
	allows  int
	ensured bool
}

func (f *recordingFence) Ensure() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ensured = true
	return nil
}

func (f *recordingFence) Allow(m map[netip.Addr]time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.allows++
	f.until = map[netip.Addr]time.Time{}
	for a, d := range m {
		f.until[a] = f.clock.Now().Add(d)
	}
	return nil
}

func (f *recordingFence) Add(m map[netip.Addr]time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.until == nil {
		f.until = map[netip.Addr]time.Time{}
	}
	for a, d := range m {
		f.until[a] = f.clock.Now().Add(d)
	}
	return nil
}

// passes reports whether the fence lets ip through now.
func (f *recordingFence) passes(ip string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.until[netip.MustParseAddr(ip)]
	return ok && f.clock.Now().Before(u)
}

func (f *recordingFence) allowCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.allows
}

func sandboxOf(h *harness, uid types.UID) *runtime.Sandbox {
	list, _ := h.rt.ListSandboxes(context.Background())
	for _, sb := range list {
		if sb.UID == string(uid) {
			return &sb
		}
	}
	return nil
}

func TestConfirmedAddresses(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	before, after := start.Add(-time.Second), start.Add(time.Millisecond)
	sbs := []runtime.Sandbox{
		{UID: "kept", IP: "10.0.0.2", CreatedAt: before},
		{UID: "deleted", IP: "10.0.0.3", CreatedAt: before},
		{UID: "new", IP: "10.0.0.4", CreatedAt: after},
		{UID: "revoked-new", IP: "10.0.0.5", CreatedAt: after},
		{UID: "revoked-old", IP: "10.0.0.6", CreatedAt: before},
		{UID: "host-network", IP: "", CreatedAt: before},
	}
	assigned := map[types.UID]bool{"kept": true, "host-network": true, "revoked-old": true}
	revoked := map[types.UID]bool{"revoked-new": true, "revoked-old": true}
	allowed, admitted, revoke := confirmedAddresses(sbs, assigned, revoked, start, 7*time.Second)
	want := map[netip.Addr]time.Duration{netip.MustParseAddr("10.0.0.2"): 7 * time.Second, netip.MustParseAddr("10.0.0.4"): 7 * time.Second}
	if len(allowed) != len(want) || allowed[netip.MustParseAddr("10.0.0.2")] != want[netip.MustParseAddr("10.0.0.2")] || allowed[netip.MustParseAddr("10.0.0.4")] != want[netip.MustParseAddr("10.0.0.4")] {
		t.Errorf("allowed = %v, want %v", allowed, want)
	}
	if len(admitted) != 2 || admitted["kept"] != netip.MustParseAddr("10.0.0.2") || admitted["new"] != netip.MustParseAddr("10.0.0.4") {
		t.Errorf("admitted = %v", admitted)
	}
	if len(revoke) != 1 || revoke[0] != "deleted" {
		t.Errorf("revoke = %v, want [deleted]: a sandbox older than the confirmation and missing from its LIST", revoke)
	}
}

// TestFenceConfirmation drives the agent's side of the fence on a fake
// clock: pods are let through for the fence timeout from each
// confirmation; a pod the API stops returning (while the agent's cache
// still has it) is stopped for good; without confirmations the fence
// closes and the opted-in pod is stopped, and it starts again once the API
// confirms it; the control plane's mark stops the agent from extending.
func TestFenceConfirmation(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := newHarness(t, clk)
	fence := &recordingFence{clock: clk}
	cfg := h.config()
	cfg.Fence, cfg.FenceTimeout = fence, 9*time.Second
	ctx := context.Background()

	// The API's answers: a lease (marked or not, or unreachable) and the
	// pods, minus those the test has "deleted elsewhere".
	var mu sync.Mutex
	var leaseErr error
	marked := false
	hidden := map[types.UID]bool{}
	h.client.PrependReactor("get", "leases", func(a k8stesting.Action) (bool, apiruntime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if leaseErr != nil {
			return true, nil, leaseErr
		}
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: corev1.NamespaceNodeLease}}
		if marked {
			l.Annotations = map[string]string{fencing.FencedAtAnnotation: clk.Now().Format(time.RFC3339)}
		}
		return true, l, nil
	})
	h.client.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, apiruntime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(hidden) == 0 {
			return false, nil, nil
		}
		obj, err := h.client.Tracker().List(corev1.SchemeGroupVersion.WithResource("pods"), corev1.SchemeGroupVersion.WithKind("Pod"), "")
		if err != nil {
			return true, nil, err
		}
		l := obj.(*corev1.PodList)
		var keep []corev1.Pod
		for _, p := range l.Items {
			if !hidden[p.UID] {
				keep = append(keep, p)
			}
		}
		l.Items = keep
		return true, l, nil
	})

	h.start(cfg)
	if !fence.ensured {
		t.Fatal("the agent did not install its fence before it was ready")
	}
	n, err := h.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil || n.Annotations[fencing.FenceTimeoutAnnotation] != "9s" {
		t.Fatalf("node annotations %v (err %v), want %s=9s", n.Annotations, err, fencing.FenceTimeoutAnnotation)
	}

	auto := simplePod("auto-0")
	auto.Annotations = map[string]string{fencing.FailoverAnnotation: fencing.FailoverAuto}
	auto = h.createPod(auto)
	gone := h.createPod(simplePod("gone-0"))
	plain := h.createPod(simplePod("plain-0"))
	var ips = map[types.UID]string{}
	eventually(t, "three sandboxes, each let through at once", func() bool {
		for _, p := range []*corev1.Pod{auto, gone, plain} {
			sb := sandboxOf(h, p.UID)
			if sb == nil || !fence.passes(sb.IP) {
				return false
			}
			ips[p.UID] = sb.IP
		}
		return true
	}, nil)

	// A confirmation 3s later extends every pod to 3s+9s.
	clk.Step(3 * time.Second)
	h.agent.confirm(ctx)
	clk.Step(8 * time.Second)
	for uid, ip := range ips {
		if !fence.passes(ip) {
			t.Errorf("pod %s (%s) fenced 8s after a confirmation with a 9s timeout", uid, ip)
		}
	}

	// gone-0 is deleted elsewhere (force-deleted, replaced) while the
	// agent's cache still holds it: the next confirmation stops it for good.
	mu.Lock()
	hidden[gone.UID] = true
	mu.Unlock()
	h.agent.confirm(ctx)
	if fence.passes(ips[gone.UID]) {
		t.Error("a pod missing from the confirmation's LIST is still let through")
	}
	eventually(t, "gone-0's sandbox torn down", func() bool { return sandboxOf(h, gone.UID) == nil }, nil)
	if h.agent.podByUID(gone.UID) == nil {
		t.Fatal("test premise: the agent's cache should still hold gone-0")
	}

	// The API becomes unreachable: after the fence timeout the fence is
	// closed, and the opted-in pod is stopped by its own agent.
	mu.Lock()
	leaseErr = errors.New("connection refused")
	mu.Unlock()
	clk.Step(9 * time.Second)
	h.agent.confirm(ctx)
	if fence.passes(ips[plain.UID]) || fence.passes(ips[auto.UID]) {
		t.Error("pods still let through 9s after the last confirmation")
	}
	eventually(t, "self-fencing: the opted-in pod stopped", func() bool { return sandboxOf(h, auto.UID) == nil }, nil)
	if sandboxOf(h, plain.UID) == nil {
		t.Error("a pod that did not opt in was stopped; it should only be fenced")
	}

	// The API answers again: the opted-in pod runs again and is let
	// through; gone-0 never comes back, though the cache still has it.
	mu.Lock()
	leaseErr = nil
	mu.Unlock()
	h.agent.confirm(ctx)
	eventually(t, "the opted-in pod running and let through again", func() bool {
		sb := sandboxOf(h, auto.UID)
		return sb != nil && fence.passes(sb.IP)
	}, nil)
	if !fence.passes(ips[plain.UID]) {
		t.Error("the plain pod is not let through after a confirmation")
	}
	h.agent.queue.Add(gone.UID)
	h.agent.confirm(ctx)
	if sandboxOf(h, gone.UID) != nil {
		t.Error("a revoked pod was started again")
	}

	// The control plane marks the lease: the agent stops extending.
	mu.Lock()
	marked = true
	mu.Unlock()
	before := fence.allowCount()
	clk.Step(time.Second)
	h.agent.confirm(ctx)
	if fence.allowCount() != before {
		t.Error("the agent extended its fence although the lease carries the fenced-at mark")
	}
}

// TestNextConfirm: before a first confirmation the agent retries from
// 100ms, doubling, never beyond the regular interval; after one, every
// third of the fence timeout.
func TestNextConfirm(t *testing.T) {
	every := 2 * time.Second
	var got []time.Duration
	var d time.Duration
	for range 7 {
		d = nextConfirm(true, d, every)
		got = append(got, d)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, every, every}
	if !slices.Equal(got, want) {
		t.Errorf("waits before a first confirmation = %v, want %v", got, want)
	}
	if d := nextConfirm(false, 200*time.Millisecond, every); d != every {
		t.Errorf("wait after a confirmation = %v, want %v", d, every)
	}
	if d := nextConfirm(true, 0, 50*time.Millisecond); d != 50*time.Millisecond {
		t.Errorf("first wait with a 150ms fence timeout = %v, want its third", d)
	}
}
