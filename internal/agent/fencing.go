package agent

import (
	"context"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fieldsel "k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"

	"petset/internal/agent/runtime"
	"petset/internal/fencing"
	"petset/internal/logging"
)

// fenceTable is what the agent needs of its node's network fence;
// *fence.Fence (internal/agent/fence) satisfies it.
type fenceTable interface {
	// Ensure installs the fence, keeping what an earlier agent allowed.
	Ensure() error
	// Allow makes exactly these addresses pass, each for its duration.
	Allow(map[netip.Addr]time.Duration) error
	// Add lets these addresses pass for their durations, beside the others.
	Add(map[netip.Addr]time.Duration) error
}

// fenceState is the agent's side of the fence (docs/fencing.md): when the
// node last confirmed its pods with the API, which pods the API no longer
// assigns to it, and which addresses the fence lets through since the last
// confirmation. Guarded by Agent.mu.
type fenceState struct {
	// confirmedAt is when the last successful confirmation began (zero:
	// never). The fence's elements expire FenceTimeout after it.
	confirmedAt time.Time
	// closed is whether the last check found confirmedAt too old (or
	// zero: a new agent starts closed): the pods are fenced and opted-in
	// ones are being killed.
	closed bool
	// revoked holds UIDs that had a sandbox here before a confirmation
	// whose LIST did not return them: deleted, never to run again.
	revoked map[types.UID]bool
	// admitted maps the UIDs whose address the fence holds to it.
	admitted map[types.UID]netip.Addr
}

// fenced reports whether the node's fence is closed: it has one, and no
// confirmation began within FenceTimeout.
func (a *Agent) fenced() bool {
	if a.cfg.Fence == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fenceClosedLocked(a.clock.Now())
}

func (a *Agent) fenceClosedLocked(now time.Time) bool {
	return a.fence.confirmedAt.IsZero() || now.Sub(a.fence.confirmedAt) >= a.cfg.FenceTimeout
}

// confirmedOnce reports whether any confirmation has succeeded.
func (a *Agent) confirmedOnce() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.fence.confirmedAt.IsZero()
}

// revokedPod reports whether a confirmation found the pod no longer
// assigned to the node.
func (a *Agent) revokedPod(uid types.UID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fence.revoked[uid]
}

// fenceLoop confirms the node's pods every third of FenceTimeout and keeps
// the fence open for the confirmed ones. Until a first confirmation has
// succeeded — a new node's Lease is created by the lease loop, which starts
// with it, so the confirmation before it usually finds none — it retries
// sooner (firstConfirmRetry), so that a new node does not hold its pods
// for a third of the fence timeout.
func (a *Agent) fenceLoop(ctx context.Context) {
	every := a.cfg.FenceTimeout / 3
	var retry time.Duration
	for {
		retry = nextConfirm(!a.confirmedOnce(), retry, every)
		select {
		case <-ctx.Done():
			return
		case <-a.clock.After(retry):
		}
		a.confirm(ctx)
	}
}

// firstConfirmRetry is the first wait between confirmations while none has
// succeeded yet; it doubles up to the regular interval.
const firstConfirmRetry = 100 * time.Millisecond

// nextConfirm is the wait before the next confirmation: every, once one has
// succeeded (never false); before that, firstConfirmRetry doubled after
// each wait (prev), up to every.
func nextConfirm(never bool, prev, every time.Duration) time.Duration {
	if !never {
		return every
	}
	next := firstConfirmRetry
	if prev > 0 {
		next = 2 * prev
	}
	return min(next, every)
}

// confirm asks the API which pods the node runs — a quorum read of the
// node's Lease (no fenced-at mark) then a LIST of the pods bound to the
// node — and, when both answered, lets the confirmed pods' addresses
// through for FenceTimeout from when the confirmation began. Sandboxes that
// existed before it began and are not in the LIST are revoked: torn down,
// never restarted. When no confirmation succeeded within FenceTimeout, the
// fence has closed in the kernel already; confirm then wakes every pod so
// that the opted-in ones are killed (self-fencing).
func (a *Agent) confirm(ctx context.Context) {
	log := a.log
	start := a.clock.Now()
	ok := a.confirmOnce(ctx, start)
	a.mu.Lock()
	wasClosed := a.fence.closed
	a.fence.closed = a.fenceClosedLocked(a.clock.Now())
	nowClosed := a.fence.closed
	a.mu.Unlock()
	switch {
	case nowClosed && !wasClosed:
		log.Warn("fence closed: no confirmation from the API within the fence timeout; the node's pods are cut off", "fenceTimeout", a.cfg.FenceTimeout)
		a.enqueueAll()
	case ok && wasClosed && !nowClosed:
		log.Info("fence open: the API confirmed the node's pods")
		a.enqueueAll()
	case !ok && nowClosed && !a.confirmedOnce():
		log.Debug("fence: not confirmed yet; the node's pods wait for a first confirmation")
	}
}

func (a *Agent) confirmOnce(ctx context.Context, start time.Time) bool {
	log := a.log
	cctx, cancel := context.WithTimeout(ctx, a.cfg.FenceTimeout/3)
	defer cancel()
	lease, err := a.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(cctx, a.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		log.Debug("fence: reading the node lease", logging.ErrKey, err)
		return false
	}
	if at, marked := lease.Annotations[fencing.FencedAtAnnotation]; marked {
		log.Info("fence: the control plane marked the node fenced; not extending the fence", "fencedAt", at)
		return false
	}
	list, err := a.client.CoreV1().Pods(metav1.NamespaceAll).List(cctx, metav1.ListOptions{
		FieldSelector: fieldsel.OneTermEqualSelector("spec.nodeName", a.cfg.NodeName).String(),
	})
	if err != nil {
		log.Debug("fence: listing the node's pods", logging.ErrKey, err)
		return false
	}
	sandboxes, err := a.rt.ListSandboxes(ctx)
	if err != nil {
		log.Warn("fence: listing sandboxes", logging.ErrKey, err)
		return false
	}
	left := a.cfg.FenceTimeout - a.clock.Since(start)
	if left <= 0 {
		return false
	}
	assigned := make(map[types.UID]bool, len(list.Items))
	for i := range list.Items {
		assigned[list.Items[i].UID] = true
	}
	allowed, admitted, revoke := confirmedAddresses(sandboxes, assigned, a.revokedSnapshot(), start, left)
	if err := a.cfg.Fence.Allow(allowed); err != nil {
		log.Warn("fence: writing the allowed pods", logging.ErrKey, err)
		return false
	}
	a.mu.Lock()
	a.fence.confirmedAt = start
	a.fence.admitted = admitted
	for _, uid := range revoke {
		a.fence.revoked[uid] = true
	}
	// Forget revoked pods that left no trace: no sandbox, not in the cache.
	live := make(map[types.UID]bool, len(sandboxes))
	for _, sb := range sandboxes {
		live[types.UID(sb.UID)] = true
	}
	for uid := range a.fence.revoked {
		if !live[uid] && !assigned[uid] && a.podByUID(uid) == nil {
			delete(a.fence.revoked, uid)
		}
	}
	a.mu.Unlock()
	for _, uid := range revoke {
		log.Info("fence: the API no longer assigns this pod to the node; stopping it for good", "podUID", uid)
		a.queue.Add(uid)
	}
	return true
}

func (a *Agent) revokedSnapshot() map[types.UID]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[types.UID]bool, len(a.fence.revoked))
	for k := range a.fence.revoked {
		out[k] = true
	}
	return out
}

// confirmedAddresses decides one confirmation: a sandbox the LIST returned
// is allowed for left; one created after the confirmation began (its pod
// may have been bound after the LIST was read) too, unless revoked; one
// that existed before and is missing from the LIST is revoked. Host-network
// sandboxes have no address to allow.
func confirmedAddresses(sandboxes []runtime.Sandbox, assigned, revoked map[types.UID]bool, start time.Time, left time.Duration) (map[netip.Addr]time.Duration, map[types.UID]netip.Addr, []types.UID) {
	allowed := map[netip.Addr]time.Duration{}
	admitted := map[types.UID]netip.Addr{}
	var revoke []types.UID
	for _, sb := range sandboxes {
		uid := types.UID(sb.UID)
		switch {
		case revoked[uid]:
			continue
		case !assigned[uid] && sb.CreatedAt.Before(start):
			revoke = append(revoke, uid)
			continue
		}
		if ip, err := netip.ParseAddr(sb.IP); err == nil {
			allowed[ip] = left
			admitted[uid] = ip
		}
	}
	return allowed, admitted, revoke
}

// admit lets a new sandbox's address through at once, for what is left of
// the last confirmation, so a pod started between confirmations answers
// without waiting for the next one. Nothing is admitted while the fence is
// closed or for a revoked pod.
func (a *Agent) admit(ctx context.Context, uid types.UID, sb runtime.Sandbox) {
	if a.cfg.Fence == nil {
		return
	}
	ip, err := netip.ParseAddr(sb.IP)
	if err != nil {
		return
	}
	a.mu.Lock()
	if have, ok := a.fence.admitted[uid]; ok && have == ip {
		a.mu.Unlock()
		return
	}
	now := a.clock.Now()
	left := a.cfg.FenceTimeout - now.Sub(a.fence.confirmedAt)
	if a.fence.revoked[uid] || a.fenceClosedLocked(now) || left <= 0 {
		a.mu.Unlock()
		return
	}
	a.fence.admitted[uid] = ip
	a.mu.Unlock()
	if err := a.cfg.Fence.Add(map[netip.Addr]time.Duration{ip: left}); err != nil {
		a.log.Warn("fence: admitting a new pod", "podUID", uid, logging.ErrKey, err)
		a.mu.Lock()
		delete(a.fence.admitted, uid)
		a.mu.Unlock()
	}
}

// forgetAdmitted drops a pod's admission, so that its next sandbox is
// admitted again.
func (a *Agent) forgetAdmitted(uid types.UID) {
	a.mu.Lock()
	delete(a.fence.admitted, uid)
	a.mu.Unlock()
}
