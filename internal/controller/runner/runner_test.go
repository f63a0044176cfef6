package runner

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"petset/internal/logging"
)

// syncBuffer is a log sink safe for concurrent workers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// call is one reconcile the test observed.
type call struct {
	key    string
	logged string // what the per-item logger wrote
}

// start runs a runner whose reconcile is fn, with fast retries, and returns
// a channel of the calls and the log. The runner is stopped at cleanup and
// the test waits for Run to return.
func start(t *testing.T, fn func(ctx context.Context, key string, n int) (Result, error), synced ...func() bool) (*Runner[string], <-chan call, *syncBuffer, func()) {
	t.Helper()
	var logs syncBuffer
	ctx, cancel := context.WithCancel(logging.IntoContext(context.Background(), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	calls := make(chan call, 100)
	var mu sync.Mutex
	counts := map[string]int{}
	var hs []func() bool
	hs = append(hs, synced...)
	r := New(Config[string]{
		Name:        "test",
		Workers:     1, // one worker: keys are reconciled one after the other
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, 10*time.Millisecond),
		Reconcile: func(ctx context.Context, key string) (Result, error) {
			mu.Lock()
			counts[key]++
			n := counts[key]
			mu.Unlock()
			logging.FromContext(ctx).Info("reconciling")
			defer func() { calls <- call{key: key, logged: logs.String()} }()
			return fn(ctx, key, n)
		},
	})
	for _, h := range hs {
		r.cfg.Synced = append(r.cfg.Synced, h)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return r, calls, &logs, stop
}

func next(t *testing.T, calls <-chan call) call {
	t.Helper()
	select {
	case c := <-calls:
		return c
	case <-time.After(time.Minute):
		t.Fatal("no reconcile within a minute")
		return call{}
	}
}

func TestResults(t *testing.T) {
	for _, tc := range []struct {
		name string
		// results are returned on the 1st, 2nd … call for the key.
		results []func() (Result, error)
		// calls is how many reconciles must happen before the key is settled.
		calls int
		log   string
	}{
		{name: "done once", results: []func() (Result, error){func() (Result, error) { return Done, nil }}, calls: 1},
		{name: "error retried until done", results: []func() (Result, error){
			func() (Result, error) { return Done, errors.New("boom") },
			func() (Result, error) { return Done, errors.New("boom") },
			func() (Result, error) { return Done, nil },
		}, calls: 3, log: `level=WARN msg="reconcile failed; retrying" controller=test key=k err=boom`},
		{name: "requeue", results: []func() (Result, error){
			func() (Result, error) { return Requeue, nil },
			func() (Result, error) { return Done, nil },
		}, calls: 2},
		{name: "requeue after", results: []func() (Result, error){
			func() (Result, error) { return RequeueAfter(5 * time.Millisecond), nil },
			func() (Result, error) { return Done, nil },
		}, calls: 2},
		{name: "terminal dropped", results: []func() (Result, error){
			func() (Result, error) { return Done, Terminal(errors.New("invalid")) },
		}, calls: 1, log: `level=ERROR msg="reconcile failed; not retrying" controller=test key=k err=invalid`},
		{name: "panic recovered and retried", results: []func() (Result, error){
			func() (Result, error) { panic("nil map") },
			func() (Result, error) { return Done, nil },
		}, calls: 2, log: `level=ERROR msg="reconcile panicked" controller=test key=k panic="nil map"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, calls, logs, _ := start(t, func(_ context.Context, key string, n int) (Result, error) {
				if key != "k" {
					return Done, nil
				}
				return tc.results[min(n, len(tc.results))-1]()
			})
			r.Enqueue("k")
			for range tc.calls {
				c := next(t, calls)
				if c.key != "k" {
					t.Fatalf("reconciled %q, want k", c.key)
				}
				if !strings.Contains(c.logged, `msg=reconciling controller=test key=k`) {
					t.Fatalf("per-item logger lacks the controller and key: %s", c.logged)
				}
			}
			// With one worker, the marker is reconciled only after the
			// runner has handled k's last result: k must then be settled,
			// its back-off forgotten and nothing of it queued.
			r.Enqueue("marker")
			if c := next(t, calls); c.key != "marker" {
				t.Fatalf("reconciled %q after k settled, want the marker (%d calls of k expected)", c.key, tc.calls)
			}
			if n := r.queue.NumRequeues("k"); n != 0 {
				t.Fatalf("k keeps a back-off of %d requeues after it settled", n)
			}
			if tc.log != "" && !strings.Contains(logs.String(), tc.log) {
				t.Fatalf("log lacks %q:\n%s", tc.log, logs.String())
			}
		})
	}
}

func TestReadyAfterCachesSync(t *testing.T) {
	synced := make(chan struct{})
	r, calls, _, _ := start(t, func(context.Context, string, int) (Result, error) { return Done, nil }, func() bool {
		select {
		case <-synced:
			return true
		default:
			return false
		}
	})
	r.Enqueue("early")
	select {
	case <-r.Ready():
		t.Fatal("Ready before the caches synced")
	case c := <-calls:
		t.Fatalf("reconciled %q before the caches synced", c.key)
	default:
	}
	close(synced)
	select {
	case <-r.Ready():
	case <-time.After(time.Minute):
		t.Fatal("not Ready a minute after the caches synced")
	}
	if c := next(t, calls); c.key != "early" {
		t.Fatalf("reconciled %q, want the key enqueued before Run", c.key)
	}
}

func TestStopLogsNoError(t *testing.T) {
	inside := make(chan struct{})
	r, _, logs, stop := start(t, func(ctx context.Context, _ string, _ int) (Result, error) {
		close(inside)
		<-ctx.Done()
		return Done, ctx.Err() // a write cut short by the stop
	})
	r.Enqueue("k")
	<-inside
	stop() // returns once Run has
	out := logs.String()
	if strings.Contains(out, "level=WARN") || strings.Contains(out, "level=ERROR") {
		t.Fatalf("a graceful stop logged a failure:\n%s", out)
	}
	if !strings.Contains(out, `msg="controller stopped" controller=test`) {
		t.Fatalf("no stop line:\n%s", out)
	}
}

func TestRunWithoutSyncReturnsError(t *testing.T) {
	r := New(Config[string]{Name: "never", Reconcile: func(context.Context, string) (Result, error) { return Done, nil },
		Synced: []cache.InformerSynced{func() bool { return false }}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Run(ctx); err == nil {
		t.Fatal("Run returned nil although the caches never synced")
	}
}

func TestObjectKey(t *testing.T) {
	pod := &metav1.ObjectMeta{Namespace: "ns", Name: "web-0"}
	for _, obj := range []any{pod, cache.DeletedFinalStateUnknown{Key: "ns/web-0", Obj: pod}} {
		if k, ok := ObjectKey(obj); !ok || k != "ns/web-0" {
			t.Fatalf("ObjectKey(%T) = %q, %v; want ns/web-0", obj, k, ok)
		}
	}
	if _, ok := ObjectKey("not an object"); ok {
		t.Fatal("a string has no object key")
	}
}
