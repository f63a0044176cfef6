package agent

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// killDeadline returns when a terminating pod's containers get SIGKILL,
// given the deadline fixed so far (zero: none yet) and the pod as the agent
// sees it now. As kubelet's calculateEffectiveGracePeriod, the deadline
// only ever moves earlier: a delete with a shorter grace period
// (deletionGracePeriodSeconds shrinks) brings it forward to now plus the new
// period; a pod that is gone from the API while it terminates (pod == nil,
// force-deleted with --grace-period=0 --force) is killed at once.
func killDeadline(current, now time.Time, pod *corev1.Pod) time.Time {
	at := now
	if pod != nil {
		at = now.Add(gracePeriod(pod))
	}
	if !current.IsZero() && current.Before(at) {
		return current
	}
	return at
}

// deadline is a kill deadline shared by the goroutines stopping one pod's
// containers; it only moves earlier.
type deadline struct {
	mu sync.Mutex
	at time.Time
}

func (d *deadline) get() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.at
}

// advance moves the deadline to at if that is earlier and reports whether
// it moved.
func (d *deadline) advance(at time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.at.IsZero() || at.Before(d.at) {
		d.at = at
		return true
	}
	return false
}

// identities reserves pod identities (namespace/name) on the node: a pod
// may create its sandbox only while no other pod UID of the same name holds
// the name. A UID holds it from its sandbox's creation until its teardown
// completed (processes gone, sandbox stopped, volumes unmounted), so a
// StatefulSet pod replaced after a force delete never runs next to the old
// one on this node.
type identities struct {
	mu      sync.Mutex
	holders map[string]map[types.UID]bool // namespace/name → UIDs holding it
}

func identityKey(namespace, name string) string { return namespace + "/" + name }

// claim reserves key for uid. It fails, returning one other holder, while
// another UID holds key.
func (ids *identities) claim(key string, uid types.UID) (types.UID, bool) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	for other := range ids.holders[key] {
		if other != uid {
			return other, false
		}
	}
	if ids.holders == nil {
		ids.holders = map[string]map[types.UID]bool{}
	}
	if ids.holders[key] == nil {
		ids.holders[key] = map[types.UID]bool{}
	}
	ids.holders[key][uid] = true
	return "", true
}

// hold records that uid holds key whatever else does (a sandbox found
// running after a restart).
func (ids *identities) hold(key string, uid types.UID) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if ids.holders == nil {
		ids.holders = map[string]map[types.UID]bool{}
	}
	if ids.holders[key] == nil {
		ids.holders[key] = map[types.UID]bool{}
	}
	ids.holders[key][uid] = true
}

// release drops every name uid holds and returns them.
func (ids *identities) release(uid types.UID) []string {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	var freed []string
	for key, h := range ids.holders {
		if h[uid] {
			delete(h, uid)
			freed = append(freed, key)
			if len(h) == 0 {
				delete(ids.holders, key)
			}
		}
	}
	return freed
}
