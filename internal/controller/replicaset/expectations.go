package replicaset

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
)

// expectationsTimeout is how long a sync waits for the informer to show
// the pods it created or deleted before it manages replicas again anyway.
const expectationsTimeout = 5 * time.Minute

// expectations records, per ReplicaSet key, the pod creations and the
// deletions (by pod UID) a sync made that the pod informer has not shown
// yet.
type expectations struct {
	mu sync.Mutex
	m  map[string]*pending
}

type pending struct {
	adds    int
	deletes sets.Set[types.UID]
	at      time.Time
}

func newExpectations() *expectations { return &expectations{m: map[string]*pending{}} }

// expect replaces key's expectations with adds creations and the deletion
// of deletes.
func (e *expectations) expect(key string, adds int, deletes []types.UID, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &pending{adds: adds, deletes: sets.New(deletes...), at: now}
}

// created records that one expected creation was seen (or will not come).
func (e *expectations) created(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.m[key]; p != nil && p.adds > 0 {
		p.adds--
	}
}

// deleted records that the pod uid's deletion was seen (or will not come).
func (e *expectations) deleted(key string, uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.m[key]; p != nil {
		p.deletes.Delete(uid)
	}
}

// satisfied reports whether key has nothing pending, or waited long enough.
func (e *expectations) satisfied(key string, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.m[key]
	return p == nil || (p.adds <= 0 && p.deletes.Len() == 0) || now.Sub(p.at) > expectationsTimeout
}

// forget drops key's expectations (the ReplicaSet is gone).
func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
