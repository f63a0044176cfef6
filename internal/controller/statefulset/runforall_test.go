package statefulset

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunForAllBurstIsConcurrent(t *testing.T) {
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	inflight, maxInflight := 0, 0
	var calls atomic.Int32
	fn := func(i int) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		inflight++
		maxInflight = max(maxInflight, inflight)
		cond.Broadcast()
		if i > 0 { // batches after the first hold ≥ 2 calls; wait (bounded) for a peer
			timer := time.AfterFunc(10*time.Second, func() { mu.Lock(); cond.Broadcast(); mu.Unlock() })
			deadline := time.Now().Add(10 * time.Second)
			for maxInflight < 2 && time.Now().Before(deadline) {
				cond.Wait()
			}
			timer.Stop()
		}
		inflight--
		calls.Add(1)
		return true, nil // "blocked" is ignored in burst mode
	}
	blocked, err := runForAll(30, fn, false)
	if blocked || err != nil {
		t.Fatalf("burst: blocked=%v err=%v", blocked, err)
	}
	if calls.Load() != 30 {
		t.Fatalf("%d calls, want 30", calls.Load())
	}
	if maxInflight < 2 {
		t.Fatalf("at most %d calls in flight", maxInflight)
	}
}

func TestRunForAllStops(t *testing.T) {
	var calls atomic.Int32
	boom := errors.New("boom")
	// Burst: the batch holding the error (indices 3..6 in batches 1,2,4,…) completes, later ones do not run.
	_, err := runForAll(100, func(i int) (bool, error) {
		calls.Add(1)
		if i == 3 {
			return false, boom
		}
		return false, nil
	}, false)
	if !errors.Is(err, boom) || calls.Load() != 7 {
		t.Fatalf("burst with an error: err=%v calls=%d, want boom and 7", err, calls.Load())
	}
	// Monotonic: stops at the first blocked index.
	calls.Store(0)
	blocked, err := runForAll(10, func(i int) (bool, error) {
		calls.Add(1)
		return i == 2, nil
	}, true)
	if !blocked || err != nil || calls.Load() != 3 {
		t.Fatalf("monotonic: blocked=%v err=%v calls=%d", blocked, err, calls.Load())
	}
}
