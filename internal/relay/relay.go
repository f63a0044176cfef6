package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"petset/internal/logging"
)

// Relay forwards connections accepted on From to one of To.
type Relay struct {
	from  string
	to    []string
	log   *slog.Logger
	ready chan struct{}
	addr  chan net.Addr
	// current is the index in to of the address that accepted last.
	current atomic.Int64
}

// New returns a relay from the listen address from to the dial addresses
// to (API servers of one cluster): each connection goes to the address
// that accepted the last one, or when it refuses, to the next in turn.
func New(from string, to []string, log *slog.Logger) *Relay {
	if log == nil {
		log = slog.Default()
	}
	return &Relay{from: from, to: to, log: log.With("component", "apiserver-relay", "listen", from),
		ready: make(chan struct{}), addr: make(chan net.Addr, 1)}
}

// Ready is closed once the relay listens.
func (r *Relay) Ready() <-chan struct{} { return r.ready }

// Addr is the bound listen address; valid once Ready.
func (r *Relay) Addr() net.Addr {
	a := <-r.addr
	r.addr <- a
	return a
}

// Run listens and relays until ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", r.from)
	if err != nil {
		return fmt.Errorf("relay: listen on %s: %w", r.from, err)
	}
	r.addr <- ln.Addr()
	close(r.ready)
	var wg sync.WaitGroup
	connCtx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		wg.Wait()
	}()
	go func() {
		<-ctx.Done()
		_ = ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("relay: %w", err)
			}
			r.log.Warn("accept", logging.ErrKey, err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.serve(connCtx, c)
		}()
	}
}

// dial connects to the address that accepted last, or the next ones in
// turn.
func (r *Relay) dial(ctx context.Context) (net.Conn, error) {
	n := int64(len(r.to))
	if n == 0 {
		return nil, errors.New("no API server address")
	}
	start := r.current.Load()
	var errs []error
	for i := int64(0); i < n; i++ {
		idx := (start + i) % n
		out, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", r.to[idx])
		if err == nil {
			if idx != start && r.current.CompareAndSwap(start, idx) {
				r.log.Info("API server changed", "from", r.to[start], "to", r.to[idx])
			}
			return out, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// serve copies both ways until either side closes or ctx ends.
func (r *Relay) serve(ctx context.Context, in net.Conn) {
	defer in.Close()
	out, err := r.dial(ctx)
	if err != nil {
		r.log.Warn("dial the API server", "to", r.to, logging.ErrKey, err)
		return
	}
	defer out.Close()
	stop := context.AfterFunc(ctx, func() {
		_ = in.Close()
		_ = out.Close()
	})
	defer stop()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done
	<-done
}
