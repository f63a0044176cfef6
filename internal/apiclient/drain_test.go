package apiclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	restclient "k8s.io/client-go/rest"
)

// A request in flight when its caller's context ends still gets its
// response; a watch ends with its context.
func TestDrainOnStop(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		if r.URL.Query().Get("watch") == "true" {
			<-r.Context().Done()
			return
		}
		<-release
		_, _ = io.WriteString(w, "done")
	}))
	defer srv.Close()
	cfg := &restclient.Config{Host: srv.URL}
	DrainOnStop(cfg)
	rt, err := restclient.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: rt}

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/api/v1/x", nil)
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		res, err := client.Do(req)
		if err != nil {
			got <- result{err: err}
			return
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		got <- result{string(b), err}
	}()
	<-arrived
	cancel()
	close(release)
	if r := <-got; r.err != nil || r.body != "done" {
		t.Fatalf("request in flight at cancel: body %q, err %v; want its response", r.body, r.err)
	}

	wctx, wcancel := context.WithCancel(context.Background())
	wreq, _ := http.NewRequestWithContext(wctx, http.MethodGet, srv.URL+"/api/v1/x?watch=true", nil)
	werr := make(chan error, 1)
	go func() {
		res, err := client.Do(wreq)
		if err == nil {
			_, err = io.ReadAll(res.Body)
			res.Body.Close()
		}
		werr <- err
	}()
	<-arrived
	wcancel()
	if err := <-werr; !errors.Is(err, context.Canceled) {
		t.Fatalf("watch after cancel: err %v, want context.Canceled", err)
	}
}

// A request whose context's deadline passes ends then, as without
// DrainOnStop: the caller's timeout is kept. (With the grace made endless,
// a drained request would never end.)
func TestDrainKeepsDeadlines(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // answers only when the client goes away
	}))
	defer srv.Close()
	cfg := &restclient.Config{Host: srv.URL}
	drainOnStop(cfg, time.Hour)
	rt, err := restclient.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/api/v1/x", nil)
	_, err = (&http.Client{Transport: rt}).Do(req)
	if err == nil {
		t.Fatal("request past its deadline succeeded")
	}
	if ctx.Err() != context.DeadlineExceeded {
		t.Fatalf("request ended (%v) before its deadline", err)
	}
}
