package etcd

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"
)

func TestZapLoggerWritesToSlog(t *testing.T) {
	var buf bytes.Buffer
	quiet := new(atomic.Bool)
	lg := zapLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), quiet).With(zap.String("member", "petset"))

	lg.Info("chatter")
	lg.Warn("slow fdatasync", zap.Error(errors.New("disk")))
	lg.Error("lost leader")
	lg.Warn("simple token is not cryptographically signed")
	lg.Warn("Failed to detect schema version", zap.Error(errors.New("missing term information")))
	lg.Error("failed to update storage version", zap.Error(errors.New("cannot detect storage schema version: missing term information")))
	lg.Error("failed to update storage version", zap.Error(errors.New("bolt: disk full")))
	quiet.Store(true)
	lg.Error("setting up serving from embedded etcd failed.", zap.Error(errors.New("http: Server closed")))

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`level=WARN msg="slow fdatasync" source=etcd err=disk member=petset`,
		`level=ERROR msg="lost leader" source=etcd member=petset`,
		`level=DEBUG msg="simple token is not cryptographically signed" source=etcd member=petset`,
		`level=DEBUG msg="Failed to detect schema version" source=etcd err="missing term information" member=petset`,
		`level=DEBUG msg="failed to update storage version" source=etcd err="cannot detect storage schema version: missing term information" member=petset`,
		`level=ERROR msg="failed to update storage version" source=etcd err="bolt: disk full" member=petset`,
		`level=DEBUG msg="setting up serving from embedded etcd failed." source=etcd err="http: Server closed" member=petset`,
	}
	if len(lines) != len(want) {
		t.Fatalf("logged %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if _, rest, ok := strings.Cut(lines[i], " "); !ok || rest != w {
			t.Errorf("line %d = %q, want time=… %s", i, lines[i], w)
		}
		if strings.Contains(lines[i], "{") {
			t.Errorf("line %d is etcd's JSON: %q", i, lines[i])
		}
	}
}
