package job

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// expectationsTimeout is how long a job waits for the informer to show
// the pods it created or deleted before it acts again regardless (kube's
// ExpectationsTimeout).
const expectationsTimeout = 5 * time.Minute

// expectations remember what a reconcile did that the pod cache does not
// show yet, so the next reconcile neither creates nor deletes pods twice
// nor counts a pod whose finalizer it already removed (upstream's
// controller expectations and finalizer expectations).
type expectations struct {
	mu      sync.Mutex
	pending map[string]*pending // by job key
	// released are pods whose finalizer was removed and which the cache
	// may still show with it.
	released map[types.UID]bool
}

type pending struct {
	adds, dels int
	since      time.Time
}

func newExpectations() *expectations {
	return &expectations{pending: map[string]*pending{}, released: map[types.UID]bool{}}
}

// expect records that job key created adds pods and deleted dels.
func (e *expectations) expect(key string, adds, dels int, now time.Time) {
	if adds == 0 && dels == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pending[key] = &pending{adds: adds, dels: dels, since: now}
}

// observed records that the cache showed a created (add) or deleted pod of job key.
func (e *expectations) observed(key string, add bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.pending[key]
	if !ok {
		return
	}
	if add {
		p.adds--
	} else {
		p.dels--
	}
	if p.adds <= 0 && p.dels <= 0 {
		delete(e.pending, key)
	}
}

// satisfied reports whether job key may create or delete pods again.
func (e *expectations) satisfied(key string, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.pending[key]
	if ok && now.Sub(p.since) > expectationsTimeout {
		delete(e.pending, key)
		return true
	}
	return !ok
}

func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.pending, key)
}

func (e *expectations) release(uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.released[uid] = true
}

func (e *expectations) isReleased(uid types.UID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.released[uid]
}

// settled forgets a released pod the cache now shows without its finalizer (or gone).
func (e *expectations) settled(uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.released, uid)
}
