package testenv

import (
	"os"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true), where every required
// tier must run.
func InCI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail skips t, or fails it in CI, where nothing required may be
// skipped.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("required in CI: "+format, args...)
		return
	}
	t.Skipf(format, args...)
}

// RequireRoot skips t (fails it in CI) unless the test runs as root; why
// says what needs root.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "%s: run these tests as root", why)
	}
}
