package logging

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/go-logr/logr"
)

// ErrKey is the attribute key every component logs an error under.
const ErrKey = "err"

type ctxKey struct{}

// libraryLevel is the least level the libraries' contextual logs pass at;
// Setup lowers it to Info when verbose, as it does for klog's global output.
var libraryLevel atomic.Int64

func init() { libraryLevel.Store(int64(slog.LevelWarn)) }

// IntoContext returns a context carrying l for petset's code. The libraries
// petset builds on (client-go, the apiserver, leader election) find their
// contextual logger under logr's key: they get the same handler, marked
// source=klog and quietened as Setup quietens klog, so their informational
// chatter stays out of petset's log unless verbose.
func IntoContext(ctx context.Context, l *slog.Logger) context.Context {
	ctx = context.WithValue(ctx, ctxKey{}, l)
	lib := slog.New(&minLevel{Handler: l.Handler().WithAttrs([]slog.Attr{slog.String("source", "klog")}), min: slog.Level(libraryLevel.Load())})
	return logr.NewContextWithSlogLogger(ctx, lib)
}

// FromContext returns the logger ctx carries, or slog.Default() when it
// carries none.
func FromContext(ctx context.Context) *slog.Logger {
	if ctx != nil {
		if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok && l != nil {
			return l
		}
	}
	return slog.Default()
}
