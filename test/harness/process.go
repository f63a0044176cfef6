package harness

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"petset/internal/testenv"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a started child process, stopped by its PID when the test ends.
type Process struct {
	Cmd    *exec.Cmd
	stdout *lineBuffer
	stderr *lineBuffer
	done   chan struct{}
	err    error // valid after done is closed
}

// lineBuffer is what a process wrote, safe for one writer and concurrent
// readers, with the time each complete line arrived.
type lineBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []Line
	part  []byte // the line being written
}

// Line is one complete output line and when the test read it.
type Line struct {
	Text string
	At   time.Time
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	rest := p
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			b.part = append(b.part, rest...)
			return len(p), nil
		}
		b.lines = append(b.lines, Line{Text: string(append(b.part, rest[:i]...)), At: now})
		b.part = b.part[:0]
		rest = rest[i+1:]
	}
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// find returns the first complete line matching re.
func (b *lineBuffer) find(re *regexp.Regexp) (Line, []string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.lines {
		if m := re.FindStringSubmatch(l.Text); m != nil {
			return l, m, true
		}
	}
	return Line{}, nil, false
}

// StartProcess starts name with args and env (added to the test's
// environment) and registers a cleanup that stops it: SIGTERM, a bounded
// wait, then SIGKILL — by its PID only — and, if the test failed, logs the
// tail of its stderr.
func StartProcess(t testing.TB, env []string, name string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &Process{Cmd: cmd, stdout: &lineBuffer{}, stderr: &lineBuffer{}, done: make(chan struct{})}
	cmd.Stdout = p.stdout
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() && p.Stderr() != "" {
			t.Logf("%s (pid %d) stderr (tail):\n%s", name, p.Pid(), Tail(p.Stderr(), 4000))
		}
	})
	return p
}

// stopWait bounds a graceful stop before SIGKILL.
const stopWait = 30 * time.Second

// Stop sends SIGTERM, waits up to 30s for the process to exit, then SIGKILLs it.
// It is safe to call more than once.
func (p *Process) Stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(stopWait):
	}
	t.Logf("pid %d did not stop on SIGTERM within %v; killing it; stderr (tail):\n%s", p.Cmd.Process.Pid, stopWait, Tail(p.Stderr(), 4000))
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// Kill sends SIGKILL and waits for the process to exit.
func (p *Process) Kill(t testing.TB) {
	t.Helper()
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(stopWait):
		t.Fatalf("pid %d did not exit on SIGKILL", p.Cmd.Process.Pid)
	}
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed when the process has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Pid is the process id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Stdout and Stderr return what the process has written so far.
func (p *Process) Stdout() string { return p.stdout.String() }
func (p *Process) Stderr() string { return p.stderr.String() }

// StdoutLine returns the first stdout line matching re, its submatches and
// when it was read.
func (p *Process) StdoutLine(re *regexp.Regexp) (Line, []string, bool) {
	return p.stdout.find(re)
}

// readyLine is what `petset server` and `petset up` print once they serve.
var readyLine = regexp.MustCompile(`petset is ready; kubeconfig: (\S+)`)

// WaitReady waits for petset's ready line and returns the kubeconfig it
// names and when the line was read; it fails early if the process exits.
// The error holds the tail of the process's stderr.
func (p *Process) WaitReady(bound time.Duration) (kubeconfig string, at time.Time, err error) {
	err = WaitFor(bound, func() (bool, error) {
		if l, m, ok := p.StdoutLine(readyLine); ok {
			kubeconfig, at = m[1], l.At
			return true, nil
		}
		if p.Exited() {
			return false, errors.New("petset exited before it was ready")
		}
		return false, nil
	})
	if err != nil {
		err = fmt.Errorf("%w\nstderr (tail):\n%s", err, Tail(p.Stderr(), 3000))
	}
	return kubeconfig, at, err
}

// addrInUse reports whether a start failed because its port was taken
// (between FreePort's pick and petset's listen).
func (p *Process) addrInUse() bool {
	return bytes.Contains([]byte(p.Stderr()), []byte("address already in use"))
}

// FreePort is a loopback TCP port free at the time of the call.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitFor polls cond every 100ms until it returns true, returns an error, or
// timeout passes (a bound for a condition, never a timing assertion).
func WaitFor(timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met within %v", timeout)
		}
		<-tick.C
	}
}

// Tail is the last n bytes of s, marked when cut.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// LookTool is the path of a host program a test needs (kubectl, dig, curl):
// without it the test skips, or fails in CI, where every required check runs.
func LookTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		testenv.SkipOrFail(t, "no %s on PATH: %v", name, err)
	}
	return path
}
