package e2e

import (
	"strings"
	"testing"

	"petset/test/harness"
)

// TestGracefulStopLogsNoErrors stops `petset up` with SIGTERM and reads what
// it logged from then on: a normal stop logs no error (the controllers and
// leader election stop and release the lease while the API server still
// serves, the kubernetes Service's endpoints are withdrawn through it) and
// nothing of etcd's own JSON log (it logs through petset's logger, quiet
// while it closes). It also exits 0.
func TestGracefulStopLogsNoErrors(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t)
	// The ready line is printed once the controllers run on the leader.
	before := len(u.Process.Stderr())
	u.Stop(t)
	if code := u.Process.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("petset up exited with %d after SIGTERM, want 0", code)
	}
	stop := u.Process.Stderr()[before:]
	var bad []string
	for _, line := range strings.Split(stop, "\n") {
		switch {
		case strings.Contains(line, "level=ERROR"),
			strings.HasPrefix(strings.TrimSpace(line), "{"),
			strings.Contains(line, "connection refused"):
			bad = append(bad, line)
		}
	}
	if len(bad) > 0 {
		t.Errorf("petset up logged at its graceful stop:\n%s\n\nall it logged at stop:\n%s", strings.Join(bad, "\n"), stop)
	}
	if !strings.Contains(stop, `msg="stopped leading"`) {
		t.Errorf("no \"stopped leading\" line at stop; it logged:\n%s", stop)
	}
}
