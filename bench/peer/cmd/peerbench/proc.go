package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// proc is one process of a system under test, its output in a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// start runs bin with args, stdout and stderr to dir/name.log, in a process
// group of its own.
func start(name, dir, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process, then SIGKILL to its group after 15 s.
func (p *proc) stop() {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
}

// tail is the end of the process's log.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// waitFor polls cond every 50 ms until it holds, the process exits, or the
// bound passes.
func (p *proc) waitFor(ctx context.Context, bound time.Duration, what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	for !cond() {
		if p.exited() {
			return fmt.Errorf("%s exited before %s: %v\n%s", p.name, what, p.err, p.tail())
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("%s: no %s within %s\n%s", p.name, what, bound, p.tail()), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// profile fetches a CPU profile of seconds from the pprof server at addr
// into path, in the background; the channel closes when it is done.
func profile(ctx context.Context, addr string, seconds int, path string) <-chan struct{} {
	return fetchProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds), path)
}

// heapProfile fetches a heap profile (after a GC) from the pprof server at
// addr into path, in the background; the channel closes when it is done.
func heapProfile(ctx context.Context, addr string, path string) <-chan struct{} {
	return fetchProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/heap?gc=1", addr), path)
}

func fetchProfile(ctx context.Context, url, path string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			progress("  profile: %v", err)
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			progress("  profile: %v", err)
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode == http.StatusOK {
			err = os.WriteFile(path, b, 0o644)
		} else if err == nil {
			err = fmt.Errorf("%s", resp.Status)
		}
		if err != nil {
			progress("  profile: %v", err)
			return
		}
		progress("  profile: %s", path)
	}()
	return done
}
