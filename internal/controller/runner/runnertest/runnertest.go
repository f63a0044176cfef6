package runnertest

import (
	"context"
	"testing"

	"petset/internal/controller/runner"
)

// marker cannot be a namespace/name key.
const marker = "\x00marker"

// Recorder is a runner whose one worker records every key it is given.
type Recorder struct {
	Runner *runner.Runner[string]
	seen   chan string
}

// Start runs a recording runner until the test ends.
func Start(t testing.TB, ctx context.Context) *Recorder {
	t.Helper()
	r := &Recorder{seen: make(chan string, 16)}
	r.Runner = runner.New(runner.Config[string]{Name: "record", Reconcile: func(_ context.Context, key string) (runner.Result, error) {
		r.seen <- key
		return runner.Done, nil
	}})
	ctx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- r.Runner.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// Drain returns the keys enqueued since the last Drain, in the order the
// worker took them: the one worker takes keys in order, so once a marker
// enqueued now comes out, everything enqueued before it has come out.
func (r *Recorder) Drain() []string {
	r.Runner.Enqueue(marker)
	var keys []string
	for k := range r.seen {
		if k == marker {
			break
		}
		keys = append(keys, k)
	}
	return keys
}
