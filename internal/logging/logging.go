package logging

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"strconv"

	"k8s.io/klog/v2"
)

// Setup installs a text slog handler writing to w as the default logger
// and routes klog into it. With verbosity 0, klog's informational chatter
// (the libraries') is dropped; warnings and errors always pass.
func Setup(w io.Writer, verbosity int) *slog.Logger {
	level := slog.LevelInfo
	if verbosity > 0 {
		level = slog.LevelDebug
	}
	h := slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})
	logger := slog.New(h)
	slog.SetDefault(logger)

	klogLevel := slog.LevelWarn
	if verbosity > 0 {
		klogLevel = slog.LevelInfo
	}
	libraryLevel.Store(int64(klogLevel))
	klog.SetSlogLogger(slog.New(&minLevel{Handler: h.WithAttrs([]slog.Attr{slog.String("source", "klog")}), min: klogLevel}))
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("v", strconv.Itoa(verbosity))
	return logger
}

// minLevel drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (m *minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.Handler.Enabled(ctx, l)
}

// Handle writes a library's error whose only errors are a cancelled context
// or a closed connection at debug: the libraries log a request that petset's
// own stop cancelled (kubelet's lease controller: "Failed to ensure lease
// exists, will retry") and a read from a stream that its end closed (the
// websocket streams of kubectl exec/attach: "Error on socket receive … use of
// closed network connection") as failures, and they are none.
func (m *minLevel) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && onlyCancelled(r) {
		r.Level = slog.LevelDebug
		if !m.Enabled(ctx, r.Level) {
			return nil
		}
	}
	return m.Handler.Handle(ctx, r)
}

// onlyCancelled reports whether r carries an error and every error it
// carries is a cancelled context or a closed connection.
func onlyCancelled(r slog.Record) bool {
	seen := false
	all := true
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Value.Kind() == slog.KindAny {
			seen = true
			if !errors.Is(err, context.Canceled) && !errors.Is(err, net.ErrClosed) {
				all = false
				return false
			}
		}
		return true
	})
	return seen && all
}

func (m *minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &minLevel{Handler: m.Handler.WithAttrs(attrs), min: m.min}
}

func (m *minLevel) WithGroup(name string) slog.Handler {
	return &minLevel{Handler: m.Handler.WithGroup(name), min: m.min}
}
