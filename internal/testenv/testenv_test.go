package testenv

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB that records how a helper ended the test.
type recorder struct {
	testing.TB
	skipped, failed bool
	logs            []string
}

func (r *recorder) Helper()               {}
func (r *recorder) Skipf(string, ...any)  { r.skipped = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func TestSkipOrFail(t *testing.T) {
	for _, ci := range []string{"true", ""} {
		t.Setenv("CI", ci)
		r := &recorder{TB: t}
		SkipOrFail(r, "needs %s", "x")
		if ci == "true" && (!r.failed || r.skipped) {
			t.Errorf("CI=true: failed=%v skipped=%v, want a failure", r.failed, r.skipped)
		}
		if ci == "" && (r.failed || !r.skipped) {
			t.Errorf("CI unset: failed=%v skipped=%v, want a skip", r.failed, r.skipped)
		}
	}
}

// Seed takes PETSET_TEST_SEED when set, picks one otherwise, and logs how to
// replay it either way; a malformed value fails the test.
func TestSeed(t *testing.T) {
	t.Setenv(SeedEnv, "42")
	r := &recorder{TB: t}
	if got := Seed(r); got != 42 || r.failed {
		t.Errorf("with %s=42: seed %d, failed %v", SeedEnv, got, r.failed)
	}
	if len(r.logs) != 1 || r.logs[0] != "seed=42 (replay: PETSET_TEST_SEED=42)" {
		t.Errorf("logs %q", r.logs)
	}

	t.Setenv(SeedEnv, "")
	r = &recorder{TB: t}
	got := Seed(r)
	if want := fmt.Sprintf("seed=%d (replay: PETSET_TEST_SEED=%d)", got, got); r.failed || len(r.logs) != 1 || r.logs[0] != want {
		t.Errorf("unset: failed %v, logs %q, want %q", r.failed, r.logs, want)
	}

	t.Setenv(SeedEnv, "x")
	r = &recorder{TB: t}
	if Seed(r); !r.failed {
		t.Errorf("%s=x: the test did not fail", SeedEnv)
	}
}
