package logging

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/go-logr/logr"
)

func TestFromContextReturnsTheLoggerPutIn(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil)).With("component", "x")
	ctx := IntoContext(context.Background(), l)
	FromContext(ctx).Info("hello")
	if !strings.Contains(buf.String(), "component=x") || !strings.Contains(buf.String(), "msg=hello") {
		t.Fatalf("logged %q, want the context's logger", buf.String())
	}
	// Libraries that read logr's context key reach the same sink, quietened
	// below warnings as klog is.
	buf.Reset()
	logr.FromContextOrDiscard(ctx).Info("library chatter")
	if buf.Len() != 0 {
		t.Fatalf("a library's info line was logged: %q", buf.String())
	}
	logr.FromContextOrDiscard(ctx).Error(nil, "library failure")
	if !strings.Contains(buf.String(), "library failure") || !strings.Contains(buf.String(), "source=klog") || !strings.Contains(buf.String(), "component=x") {
		t.Fatalf("a library's error did not reach the context's logger: %q", buf.String())
	}
}

func TestFromContextWithoutLoggerIsDefault(t *testing.T) {
	if got := FromContext(context.Background()); got != slog.Default() {
		t.Fatalf("FromContext(empty) = %p, want slog.Default()", got)
	}
}

// A library's error that is only a cancelled context (a request petset's
// stop cancelled) is debug, not an error; any other error stays an error.
func TestLibraryCancelledErrorIsDebug(t *testing.T) {
	var buf bytes.Buffer
	ctx := IntoContext(context.Background(), slog.New(slog.NewTextHandler(&buf, nil)))
	lib := logr.FromContextOrDiscard(ctx)
	lib.Error(fmt.Errorf("ensure lease: %w", context.Canceled), "Failed to ensure lease exists, will retry")
	if buf.Len() != 0 {
		t.Fatalf("a cancelled request was logged as a library error: %q", buf.String())
	}
	lib.Error(&net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}, "Error on socket receive")
	if buf.Len() != 0 {
		t.Fatalf("a read from a closed stream was logged as a library error: %q", buf.String())
	}
	lib.Error(errors.New("connection refused"), "Failed to ensure lease exists, will retry")
	if !strings.Contains(buf.String(), "level=ERROR") || !strings.Contains(buf.String(), "connection refused") {
		t.Fatalf("a real library error was not logged: %q", buf.String())
	}
}
