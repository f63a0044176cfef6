package harness

import (
	"errors"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLineBufferSplitsLinesAcrossWrites(t *testing.T) {
	var b lineBuffer
	for _, w := range []string{"par", "tial\nsecond\nthi", "rd\n", "unfinished"} {
		if _, err := b.Write([]byte(w)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, l := range b.lines {
		if l.At.IsZero() {
			t.Errorf("line %q has no time", l.Text)
		}
		got = append(got, l.Text)
	}
	if strings.Join(got, "|") != "partial|second|third" {
		t.Errorf("lines = %q", got)
	}
	if b.String() != "partial\nsecond\nthird\nunfinished" {
		t.Errorf("String() = %q", b.String())
	}
	if _, m, ok := b.find(regexp.MustCompile(`^th(.*)$`)); !ok || m[1] != "ird" {
		t.Errorf("find = %q, %v", m, ok)
	}
}

func TestWaitReadyReadsTheKubeconfig(t *testing.T) {
	p := StartProcess(t, nil, "sh", "-c", "echo starting; echo 'petset is ready; kubeconfig: /x/kubeconfig'; exec sleep 600")
	kubeconfig, at, err := p.WaitReady(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if kubeconfig != "/x/kubeconfig" || at.IsZero() {
		t.Errorf("WaitReady = %q, %v", kubeconfig, at)
	}
}

// A start that ends early fails at once, with the tail of what it wrote to
// stderr in the error.
func TestWaitReadyReportsAnEarlyExitWithStderr(t *testing.T) {
	p := StartProcess(t, nil, "sh", "-c", "echo 'listen tcp: address already in use' >&2; exit 3")
	_, _, err := p.WaitReady(time.Hour)
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("WaitReady = %v", err)
	}
	if !p.addrInUse() {
		t.Error("addrInUse is false")
	}
}

// Stop ends the process by its PID: SIGTERM first, and the process is gone
// (reaped) when Stop returns.
func TestStopEndsTheProcessByPID(t *testing.T) {
	p := StartProcess(t, nil, "sh", "-c", "trap 'echo got TERM; exit 0' TERM; echo up; while :; do sleep 0.1; done")
	if err := WaitFor(time.Minute, func() (bool, error) { return strings.Contains(p.Stdout(), "up\n"), nil }); err != nil {
		t.Fatal(err)
	}
	p.Stop(t)
	if !p.Exited() || !strings.Contains(p.Stdout(), "got TERM") {
		t.Fatalf("after Stop: exited %v, stdout %q", p.Exited(), p.Stdout())
	}
	if err := syscall.Kill(p.Pid(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("pid %d still there after Stop: %v", p.Pid(), err)
	}
	p.Stop(t) // safe to repeat
}
