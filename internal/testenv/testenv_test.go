package testenv

import "testing"

// recorder is a testing.TB that records how a helper ended the test.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skipf(string, ...any)  { r.skipped = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

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
