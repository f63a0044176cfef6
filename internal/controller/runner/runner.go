package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"petset/internal/logging"
)

// Result says what happens to a key after a reconcile that returned no error.
type Result struct {
	requeue bool
	after   time.Duration
}

var (
	// Done forgets the key's back-off: it comes back only when enqueued again.
	Done = Result{}
	// Requeue processes the key again after its rate-limited back-off.
	Requeue = Result{requeue: true}
)

// RequeueAfter processes the key again after d (at once if d <= 0).
func RequeueAfter(d time.Duration) Result { return Result{after: max(d, time.Nanosecond)} }

// String is for logs and test failures.
func (r Result) String() string {
	switch {
	case r.after > 0:
		return fmt.Sprintf("requeue after %s", r.after)
	case r.requeue:
		return "requeue"
	default:
		return "done"
	}
}

type terminalError struct{ err error }

func (t terminalError) Error() string { return t.err.Error() }
func (t terminalError) Unwrap() error { return t.err }

// Terminal marks err as one that retrying will not fix: the runner logs it
// and drops the key until it is enqueued again.
func Terminal(err error) error {
	if err == nil {
		return nil
	}
	return terminalError{err}
}

// IsTerminal reports whether err was marked with Terminal.
func IsTerminal(err error) bool {
	var t terminalError
	return errors.As(err, &t)
}

// Config wires a Runner.
type Config[K comparable] struct {
	// Name names the controller in logs ("controller" attribute) and its queue.
	Name string
	// Workers is how many keys are reconciled at once (default 1).
	Workers int
	// Reconcile brings the state named by key to what it should be.
	Reconcile func(ctx context.Context, key K) (Result, error)
	// Synced are the informers' HasSynced functions Run waits for.
	Synced []cache.InformerSynced
	// RateLimiter spaces retries of one key (default: client-go's
	// controller rate limiter, 5ms doubling to 1000s, 10 qps overall).
	RateLimiter workqueue.TypedRateLimiter[K]
	// LogAttrs are the per-item logger's attributes for key (default: "key", key).
	LogAttrs func(key K) []any
}

// Runner drains one controller's workqueue. Build it with New.
type Runner[K comparable] struct {
	cfg   Config[K]
	queue workqueue.TypedRateLimitingInterface[K]
	ready chan struct{}
}

// New builds the runner and its queue; keys may be enqueued before Run.
func New[K comparable](cfg Config[K]) *Runner[K] {
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.RateLimiter == nil {
		cfg.RateLimiter = workqueue.DefaultTypedControllerRateLimiter[K]()
	}
	if cfg.LogAttrs == nil {
		cfg.LogAttrs = func(k K) []any { return []any{"key", k} }
	}
	return &Runner[K]{
		cfg: cfg,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(cfg.RateLimiter,
			workqueue.TypedRateLimitingQueueConfig[K]{Name: cfg.Name}),
		ready: make(chan struct{}),
	}
}

// Enqueue adds key to the queue (once, however often it is added before a worker takes it).
func (r *Runner[K]) Enqueue(key K) { r.queue.Add(key) }

// EnqueueAfter adds key to the queue after d.
func (r *Runner[K]) EnqueueAfter(key K, d time.Duration) { r.queue.AddAfter(key, d) }

// Len is the number of keys waiting (for tests and metrics).
func (r *Runner[K]) Len() int { return r.queue.Len() }

// Ready is closed once the caches have synced and the workers run.
func (r *Runner[K]) Ready() <-chan struct{} { return r.ready }

// Run waits for the caches, runs the workers until ctx is done, then shuts
// the queue down and returns once every worker has finished its key. It
// returns an error only if ctx ended before the caches synced.
func (r *Runner[K]) Run(ctx context.Context) error {
	defer r.queue.ShutDown()
	log := logging.FromContext(ctx).With("controller", r.cfg.Name)
	if !cache.WaitForCacheSync(ctx.Done(), r.cfg.Synced...) {
		return fmt.Errorf("%s: caches did not sync: %w", r.cfg.Name, context.Cause(ctx))
	}
	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r.next(ctx, log) {
			}
		}()
	}
	log.Info("controller started", "workers", r.cfg.Workers)
	close(r.ready)
	<-ctx.Done()
	r.queue.ShutDown()
	wg.Wait()
	log.Info("controller stopped")
	return nil
}

// next reconciles one key; false once the queue is shut down.
func (r *Runner[K]) next(ctx context.Context, log *slog.Logger) bool {
	key, quit := r.queue.Get()
	if quit {
		return false
	}
	defer r.queue.Done(key)
	ilog := log.With(r.cfg.LogAttrs(key)...)
	res, err := r.reconcile(logging.IntoContext(ctx, ilog), key)
	switch {
	case err != nil && ctx.Err() != nil:
		// Stopping: the failure is the cancellation's; the key is dropped with the queue.
	case errors.Is(err, errPanicked):
		r.queue.AddRateLimited(key) // logged with its stack where it was recovered
	case err != nil && IsTerminal(err):
		ilog.Error("reconcile failed; not retrying", logging.ErrKey, err)
		r.queue.Forget(key)
	case err != nil:
		if apierrors.IsConflict(err) {
			ilog.Debug("reconcile conflicted; retrying", logging.ErrKey, err)
		} else {
			ilog.Warn("reconcile failed; retrying", logging.ErrKey, err)
		}
		r.queue.AddRateLimited(key)
	case res.after > 0:
		r.queue.Forget(key)
		r.queue.AddAfter(key, res.after)
	case res.requeue:
		r.queue.AddRateLimited(key)
	default:
		r.queue.Forget(key)
	}
	return true
}

var errPanicked = errors.New("reconcile panicked")

// reconcile runs the controller's function, turning a panic into an error
// so that one bad object cannot stop the controller.
func (r *Runner[K]) reconcile(ctx context.Context, key K) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			logging.FromContext(ctx).Error("reconcile panicked", "panic", p, "stack", string(debug.Stack()))
			res, err = Done, fmt.Errorf("%w: %v", errPanicked, p)
		}
	}()
	return r.cfg.Reconcile(ctx, key)
}

// ObjectKey is the namespace/name key of an informer's object, also for the
// tombstone a delete event may carry.
func ObjectKey(obj any) (string, bool) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	return key, err == nil
}
