package apiclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	restclient "k8s.io/client-go/rest"
)

// drainGrace bounds how long a request in flight when its caller's context
// ends may still take.
const drainGrace = 10 * time.Second

// DrainOnStop makes the clients of cfg finish a request in flight when its
// caller's context ends, for up to 10 s, instead of aborting it: at a
// graceful stop the controllers' and the agent's last writes complete, and
// the API server does not see (and log as errors) requests whose client
// went away in the middle. Watches still end with their context, and so
// does a request whose context's deadline passed: a caller's timeout is
// kept (leader election steps down when its renew deadline passes, however
// long the request would still take).
func DrainOnStop(cfg *restclient.Config) { drainOnStop(cfg, drainGrace) }

func drainOnStop(cfg *restclient.Config, grace time.Duration) {
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return drain{rt, grace} })
}

type drain struct {
	rt    http.RoundTripper
	grace time.Duration
}

func (d drain) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Query().Get("watch") == "true" {
		return d.rt.RoundTrip(req)
	}
	parent := req.Context()
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stopAfter := context.AfterFunc(parent, func() {
		if errors.Is(parent.Err(), context.DeadlineExceeded) {
			cancel()
			return
		}
		t := time.NewTimer(d.grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-ctx.Done():
		}
	})
	done := func() {
		stopAfter()
		cancel()
	}
	res, err := d.rt.RoundTrip(req.WithContext(ctx))
	if err != nil {
		done()
		return nil, err
	}
	res.Body = &drainBody{ReadCloser: res.Body, done: done}
	return res, nil
}

// drainBody ends the request's context when the body is closed.
type drainBody struct {
	io.ReadCloser
	done func()
}

func (b *drainBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}
