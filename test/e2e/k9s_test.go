package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"petset/test/harness"
)

// TestK9s (issue 11): k9s, built from the Go module proxy (make k9s), in a
// tmux session of its own against petset on simulated nodes: its
// StatefulSet view lists the web set with 3/3 ready, and after `:pods` the
// pod view lists web-0..2 Running. The test reads tmux's captured screen.
func TestK9s(t *testing.T) {
	t.Parallel()
	k9s := harness.LookK9s(t)
	tmux := harness.LookTool(t, "tmux")
	u := harness.StartUp(t, "--simulate-nodes", "2")
	k := u.K
	k.MustRun(t, "apply", "-f", example(t, "web/statefulset.yaml"))
	u.WaitReady(t, "web", 3)

	dir := t.TempDir()
	sock := filepath.Join(dir, "tmux.sock")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(tmux, append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	// k9s's config, logs and screen dumps stay in the test's HOME.
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "XDG_STATE_HOME=" + filepath.Join(dir, "state"),
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_CACHE_HOME=" + filepath.Join(dir, "cache"), "KUBECONFIG=" + u.Kubeconfig}
	cmd := fmt.Sprintf("env %s %s --readonly --namespace default --command statefulsets --logFile %s",
		strings.Join(env, " "), k9s, filepath.Join(dir, "k9s.log"))
	run("new-session", "-d", "-s", "k9s", "-x", "180", "-y", "40", cmd)
	pid, err := strconv.Atoi(strings.TrimSpace(run("display-message", "-p", "-t", "k9s", "#{pid}")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The tmux server (and k9s under it) is stopped by its PID.
		_ = syscall.Kill(pid, syscall.SIGTERM)
		_ = os.Remove(sock)
	})
	screen := func() string { return run("capture-pane", "-p", "-t", "k9s") }
	waitScreen := func(what string, want ...string) {
		t.Helper()
		var last string
		err := harness.WaitFor(time.Minute, func() (bool, error) {
			last = screen()
			for _, w := range want {
				if !strings.Contains(last, w) {
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil {
			t.Fatalf("k9s never showed %s (%q):\n%s", what, want, last)
		}
	}
	waitScreen("the StatefulSet view", "statefulsets(default)", "web", "3/3")
	run("send-keys", "-t", "k9s", ":pods", "Enter")
	waitScreen("the pod view", "pods(default)", "web-0", "web-1", "web-2", "Running")
	t.Logf("k9s pod view:\n%s", screen())
}
