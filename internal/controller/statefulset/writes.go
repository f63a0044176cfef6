package statefulset

import (
	"strconv"
	"sync"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// writeTracker remembers, per set, the highest resourceVersion of the
// controller's own pod and claim writes, so that a sync of that set can wait
// until the informer caches have observed them (stale-write consistency).
// resourceVersions are compared as integers, which holds for an etcd-backed
// API server; objects whose resourceVersion does not parse are not tracked.
// Safe for concurrent use.
type writeTracker struct {
	podsSeen func() string // the pod informer's last observed resourceVersion
	pvcsSeen func() string // the claim informer's last observed resourceVersion

	mu      sync.Mutex
	pending map[types.UID]*pendingWrites
}

type pendingWrites struct{ pods, claims int64 }

// record notes a write made on behalf of set.
func (w *writeTracker) record(set *apps.StatefulSet, obj metav1.Object) {
	if w == nil {
		return
	}
	rv, err := strconv.ParseInt(obj.GetResourceVersion(), 10, 64)
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending == nil {
		w.pending = make(map[types.UID]*pendingWrites)
	}
	p := w.pending[set.UID]
	if p == nil {
		p = &pendingWrites{}
		w.pending[set.UID] = p
	}
	switch obj.(type) {
	case *v1.Pod:
		p.pods = max(p.pods, rv)
	case *v1.PersistentVolumeClaim:
		p.claims = max(p.claims, rv)
	}
}

// observed reports whether the caches have seen every recorded write of set,
// forgetting the writes once they have been seen.
func (w *writeTracker) observed(set *apps.StatefulSet) bool {
	if w == nil {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pending[set.UID]
	if p == nil {
		return true
	}
	if p.pods > 0 && !seen(w.podsSeen, p.pods) {
		return false
	}
	p.pods = 0
	if p.claims > 0 && !seen(w.pvcsSeen, p.claims) {
		return false
	}
	delete(w.pending, set.UID)
	return true
}

// forget drops the records of a set that no longer exists.
func (w *writeTracker) forget(uid types.UID) {
	if w == nil {
		return
	}
	w.mu.Lock()
	delete(w.pending, uid)
	w.mu.Unlock()
}

func seen(lastSeen func() string, rv int64) bool {
	if lastSeen == nil {
		return true
	}
	last, err := strconv.ParseInt(lastSeen(), 10, 64)
	if err != nil {
		return true
	}
	return last >= rv
}
