package etcd

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"petset/internal/logging"
)

// zapLogger is a zap logger for etcd's server and client that writes to l,
// marked source=etcd, at warn and above: etcd's own JSON lines and stack
// traces stay out of petset's log. While quiet is set (the embedded server
// is being closed), its complaints about its listeners closing are expected
// and logged at debug.
func zapLogger(l *slog.Logger, quiet *atomic.Bool) *zap.Logger {
	return zap.New(&slogCore{h: l.Handler().WithAttrs([]slog.Attr{slog.String("source", "etcd")}), quiet: quiet})
}

// expected are the warnings the embedded etcd gives at every start for the
// way petset configures it (client gRPC and HTTP on one loopback port,
// etcd's auth not enabled); they are logged at debug.
var expected = map[string]bool{
	"Running http and grpc server on single port. This is not recommended for production.": true,
	"simple token is not cryptographically signed":                                         true,
}

// beforeFirstCommit are warnings a new member gives when it reads its
// backend before the first batch holding its raft term was committed
// (etcd commits every 100 ms): its storage-version monitor runs as soon as
// the member has elected itself, which a member alone does in tens of
// milliseconds (Config.Alone), and tries again 4 s later. With that error
// ("missing term information", which only a backend without any commit
// gives) they are logged at debug.
var beforeFirstCommit = map[string]bool{
	"Failed to detect schema version":  true,
	"failed to update storage version": true,
}

const missingTerm = "missing term information"

// slogCore is a zapcore.Core writing to a slog.Handler.
type slogCore struct {
	h      slog.Handler
	fields []zapcore.Field
	quiet  *atomic.Bool
}

func (c *slogCore) Enabled(l zapcore.Level) bool { return l >= zapcore.WarnLevel }

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	return &slogCore{h: c.h, fields: append(append([]zapcore.Field(nil), c.fields...), fields...), quiet: c.quiet}
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	level := slog.LevelWarn
	if e.Level >= zapcore.ErrorLevel {
		level = slog.LevelError
	}
	if expected[e.Message] || (c.quiet != nil && c.quiet.Load()) ||
		(beforeFirstCommit[e.Message] && errorContains(fields, missingTerm)) {
		level = slog.LevelDebug
	}
	ctx := context.Background()
	if !c.h.Enabled(ctx, level) {
		return nil
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fields {
		f.AddTo(enc)
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	r := slog.NewRecord(e.Time, level, e.Message, 0)
	for _, k := range keys {
		key := k
		if key == "error" {
			key = logging.ErrKey
		}
		r.AddAttrs(slog.Any(key, enc.Fields[k]))
	}
	return c.h.Handle(ctx, r)
}

func (c *slogCore) Sync() error { return nil }

// errorContains reports whether an error field of fields says text.
func errorContains(fields []zapcore.Field, text string) bool {
	for _, f := range fields {
		if err, ok := f.Interface.(error); ok && f.Type == zapcore.ErrorType && strings.Contains(err.Error(), text) {
			return true
		}
	}
	return false
}
