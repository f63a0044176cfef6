package testenv

import (
	"os"
	"strconv"
	"testing"
	"time"
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

// SeedEnv names the variable that replays a randomized test.
const SeedEnv = "PETSET_TEST_SEED"

// Seed is the seed of a randomized test: PETSET_TEST_SEED when set (to
// replay a failure), otherwise a new one. It logs it, so every run of the
// test says how to replay it.
func Seed(t testing.TB) int64 {
	t.Helper()
	seed := time.Now().UnixNano()
	if s := os.Getenv(SeedEnv); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", SeedEnv, s, err)
			return 0
		}
		seed = v
	}
	t.Logf("seed=%d (replay: %s=%d)", seed, SeedEnv, seed)
	return seed
}
