package agent

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	"petset/internal/agent/runtime"
	rtfake "petset/internal/agent/runtime/fake"
)

func TestKillDeadline(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pod := func(spec, deletion *int64) *corev1.Pod {
		p := &corev1.Pod{}
		p.Spec.TerminationGracePeriodSeconds = spec
		p.DeletionGracePeriodSeconds = deletion
		return p
	}
	i := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		name    string
		current time.Time
		pod     *corev1.Pod
		want    time.Time
	}{
		{"first delete, default grace", time.Time{}, pod(nil, nil), now.Add(30 * time.Second)},
		{"first delete, spec grace", time.Time{}, pod(i(10), nil), now.Add(10 * time.Second)},
		{"deletion grace wins over spec", time.Time{}, pod(i(10), i(3)), now.Add(3 * time.Second)},
		{"unchanged grace keeps the deadline", now.Add(20 * time.Second), pod(nil, i(30)), now.Add(20 * time.Second)},
		{"shorter grace moves it earlier", now.Add(20 * time.Second), pod(nil, i(5)), now.Add(5 * time.Second)},
		{"grace 0 kills now", now.Add(20 * time.Second), pod(nil, i(0)), now},
		{"a longer grace never moves it later", now.Add(2 * time.Second), pod(nil, i(60)), now.Add(2 * time.Second)},
		{"force-deleted (gone) kills now", now.Add(25 * time.Second), nil, now},
		{"past deadline stays", now.Add(-time.Second), nil, now.Add(-time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := killDeadline(tc.current, now, tc.pod); !got.Equal(tc.want) {
				t.Errorf("killDeadline = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestIdentitiesClaimRelease(t *testing.T) {
	var ids identities
	k := identityKey("default", "slow-0")
	if _, ok := ids.claim(k, "old"); !ok {
		t.Fatal("first claim failed")
	}
	if _, ok := ids.claim(k, "old"); !ok {
		t.Fatal("re-claim by the holder failed")
	}
	if other, ok := ids.claim(k, "new"); ok || other != "old" {
		t.Fatalf("claim by a second UID: %q %v, want old false", other, ok)
	}
	if _, ok := ids.claim(identityKey("other", "slow-0"), "new"); !ok {
		t.Fatal("same name in another namespace is another identity")
	}
	if freed := ids.release("old"); len(freed) != 1 || freed[0] != k {
		t.Fatalf("release freed %v", freed)
	}
	if _, ok := ids.claim(k, "new"); !ok {
		t.Fatal("claim after release failed")
	}
	ids.hold(k, "adopted") // two found running after a restart: both hold it
	if _, ok := ids.claim(k, "third"); ok {
		t.Fatal("claim while two hold the name")
	}
	ids.release("new")
	if other, ok := ids.claim(k, "third"); ok || other != "adopted" {
		t.Fatalf("claim while the adopted one holds it: %q %v", other, ok)
	}
}

// overlapCheck is the fake runtime with an invariant: no sandbox is created
// while another sandbox of the same namespace/name exists.
type overlapCheck struct {
	*rtfake.Runtime
	mu         sync.Mutex
	violations []string
}

func (o *overlapCheck) RunSandbox(ctx context.Context, cfg runtime.SandboxConfig) (runtime.Sandbox, error) {
	list, _ := o.ListSandboxes(ctx)
	for _, sb := range list {
		if sb.Namespace == cfg.Namespace && sb.Name == cfg.Name && sb.UID != cfg.UID {
			o.mu.Lock()
			o.violations = append(o.violations, cfg.UID+" created while "+sb.UID+" still runs")
			o.mu.Unlock()
		}
	}
	return o.Runtime.RunSandbox(ctx, cfg)
}

func (o *overlapCheck) seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.violations...)
}

// slowHarness runs an agent on a fake clock whose containers ignore SIGTERM
// (they only exit when killed), like a process trapping SIGTERM.
func slowHarness(t *testing.T) (*harness, *clocktesting.FakeClock, *overlapCheck) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := newHarness(t, clk)
	rt, err := rtfake.New(rtfake.Config{PodCIDR: "10.88.3.0/24", StopDelay: 24 * time.Hour, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	h.rt = rt
	oc := &overlapCheck{Runtime: rt}
	cfg := h.config()
	cfg.Runtime = oc
	h.start(cfg)
	return h, clk, oc
}

func (h *harness) runningSlowPod(uid string) *corev1.Pod {
	h.t.Helper()
	p := simplePod("slow-0")
	p.UID = types.UID(uid)
	p.Spec.Containers[0].ReadinessProbe = nil
	h.createPod(p)
	eventually(h.t, "slow-0 running", func() bool {
		p := h.pod("slow-0")
		return p != nil && p.UID == types.UID(uid) && p.Status.Phase == corev1.PodRunning
	}, nil)
	return h.pod("slow-0")
}

// markDeleted does what the API server does on a graceful delete.
func (h *harness) markDeleted(p *corev1.Pod, grace int64) *corev1.Pod {
	h.t.Helper()
	now := metav1.Now()
	p.DeletionTimestamp = &now
	p.DeletionGracePeriodSeconds = &grace
	out, err := h.client.CoreV1().Pods(p.Namespace).Update(context.Background(), p, metav1.UpdateOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func (h *harness) container(uid types.UID) runtime.ContainerStatus {
	l, _ := h.rt.ListContainers(context.Background(), string(uid))
	if len(l) == 0 {
		return runtime.ContainerStatus{}
	}
	return l[len(l)-1]
}

// sigtermed waits until the agent has sent SIGTERM to the pod's container
// (the fake runtime logs it) and so is waiting out the grace period.
func (h *harness) sigtermed(id string) {
	h.t.Helper()
	eventually(h.t, "SIGTERM sent", func() bool {
		var b strings.Builder
		_ = h.rt.Logs(context.Background(), id, runtime.LogOptions{}, &b)
		return strings.Contains(b.String(), "received SIGTERM")
	}, nil)
}

// A second delete with a shorter grace period brings the kill forward
// without the clock moving; a force delete kills at once and the
// replacement (same name, new UID) is created only after the old sandbox
// is gone.
func TestShorterGraceAndForceDelete(t *testing.T) {
	t.Run("shorter grace", func(t *testing.T) {
		h, _, _ := slowHarness(t)
		p := h.runningSlowPod("uid-old")
		c := h.container(p.UID)
		p = h.markDeleted(p, 30)
		h.sigtermed(c.ID)
		if got := h.container(p.UID); got.State == runtime.StateExited {
			t.Fatalf("exited before its grace period: %+v", got)
		}
		// The fake clock does not move: only the new deadline can kill it,
		// after which the agent finishes the deletion and removes the pod.
		h.markDeleted(p, 0)
		eventually(t, "pod killed and removed by the agent", func() bool { return h.pod("slow-0") == nil }, nil)
		if got, err := h.rt.ContainerStatus(context.Background(), c.ID); err == nil && (got.State != runtime.StateExited || got.ExitCode != 137) {
			t.Fatalf("container after the grace-0 delete: %+v", got)
		}
	})
	t.Run("force delete and replacement", func(t *testing.T) {
		h, _, oc := slowHarness(t)
		ctx := context.Background()
		p := h.runningSlowPod("uid-old")
		c := h.container(p.UID)
		p = h.markDeleted(p, 30)
		h.sigtermed(c.ID)
		// kubectl delete --grace-period=0 --force: the object is gone at once
		// and the StatefulSet controller creates the replacement.
		if err := h.client.CoreV1().Pods("default").Delete(ctx, "slow-0", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		h.runningSlowPod("uid-new")
		got, err := h.rt.ContainerStatus(ctx, c.ID)
		if err == nil && (got.State != runtime.StateExited || got.ExitCode != 137) {
			t.Fatalf("old container after force delete: %+v", got)
		}
		sbs, _ := h.rt.ListSandboxes(ctx)
		if len(sbs) != 1 || sbs[0].UID != "uid-new" {
			t.Fatalf("sandboxes: %+v", sbs)
		}
		if v := oc.seen(); len(v) > 0 {
			t.Fatalf("two copies of slow-0: %v", v)
		}
	})
}

// After a restart, a sandbox the runtime still runs for a pod that is gone
// holds the name: the pod now bound under that name (a new UID) gets its
// sandbox only after the old one is torn down.
func TestAdoptedSandboxHoldsName(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	if _, err := h.rt.RunSandbox(ctx, runtime.SandboxConfig{UID: "uid-old", Namespace: "default", Name: "slow-0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.rt.StartContainer(ctx, "uid-old", runtime.ContainerConfig{Name: "main", Argv: []string{"sleep"}}); err != nil {
		t.Fatal(err)
	}
	p := simplePod("slow-0")
	p.UID = "uid-new"
	p.Spec.Containers[0].ReadinessProbe = nil
	h.createPod(p)
	oc := &overlapCheck{Runtime: h.rt}
	cfg := h.config()
	cfg.Runtime = oc
	h.start(cfg)
	eventually(t, "the new slow-0 running", func() bool {
		p := h.pod("slow-0")
		return p != nil && p.Status.Phase == corev1.PodRunning
	}, nil)
	sbs, _ := h.rt.ListSandboxes(ctx)
	if len(sbs) != 1 || sbs[0].UID != "uid-new" {
		t.Fatalf("sandboxes: %+v", sbs)
	}
	if v := oc.seen(); len(v) > 0 {
		t.Fatalf("two copies of slow-0: %v", v)
	}
}
