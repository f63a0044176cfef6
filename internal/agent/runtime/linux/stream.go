package linux

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"petset/internal/agent/runtime"
	"petset/internal/agent/runtime/linux/ctrinit"
)

// liveContainer returns the record of a running container and its sandbox.
func (r *Runtime) liveContainer(id string) (*containerRecord, *sandbox, error) {
	rec, err := r.record(id)
	if err != nil {
		return nil, nil, err
	}
	if r.readStatus(rec).State != runtime.StateRunning {
		return nil, nil, fmt.Errorf("container %s is not running", id)
	}
	sb := r.sandbox(rec.PodUID)
	if sb == nil || isClosed(sb.gone) {
		return nil, nil, fmt.Errorf("container %s is not running: its sandbox is gone", id)
	}
	return rec, sb, nil
}

// Exec implements runtime.Runtime. The sandbox's init starts the process
// inside all the pod's namespaces with the container's environment,
// working directory and cgroup; its stdio are pipes or a pty owned here.
// Cancelling ctx kills the process.
func (r *Runtime) Exec(ctx context.Context, containerID string, argv []string, s runtime.Streams) (int, error) {
	rec, _, err := r.liveContainer(containerID)
	if err != nil {
		return -1, err
	}
	if len(argv) == 0 {
		return -1, errors.New("exec: empty command")
	}
	// For an isolated container, ctrinit looks the program up in the
	// container's root filesystem.
	path, err := argv[0], error(nil)
	if !r.isolated {
		if path, err = exec.LookPath(argv[0]); err == nil {
			path, err = filepath.Abs(path)
		}
	}
	if err != nil {
		return -1, fmt.Errorf("exec in container %s: %w", containerID, err)
	}
	var child []*os.File // what the process gets
	var copies sync.WaitGroup
	var local []*os.File // our ends, closed at the end
	defer func() { closeFiles(local) }()
	if s.TTY {
		open := pty.Open
		if r.isolated && rec.HostPID > 0 {
			// A terminal of the container's own devpts, so that its name
			// (/dev/pts/N) resolves inside the container.
			open = func() (*os.File, *os.File, error) {
				return ctrinit.OpenPTY(fmt.Sprintf("/proc/%d/root/dev/ptmx", rec.HostPID))
			}
		}
		master, slave, err := open()
		if err != nil {
			return -1, fmt.Errorf("exec: open pty: %w", err)
		}
		local = append(local, master)
		child = []*os.File{slave, slave, slave}
		if s.Stdin != nil {
			go io.Copy(master, s.Stdin)
		}
		if s.Resize != nil {
			// The caller owns the channel and may never close it: stop
			// resizing before the master is closed.
			var mu sync.Mutex
			closed := false
			stop := make(chan struct{})
			go func() {
				for {
					select {
					case sz, ok := <-s.Resize:
						if !ok {
							return
						}
						mu.Lock()
						if !closed {
							pty.Setsize(master, &pty.Winsize{Cols: sz.Width, Rows: sz.Height})
						}
						mu.Unlock()
					case <-stop:
						return
					}
				}
			}()
			defer func() {
				close(stop)
				mu.Lock()
				closed = true
				mu.Unlock()
			}()
		}
		out := s.Stdout
		if out == nil {
			out = io.Discard
		}
		copies.Add(1)
		go func() {
			defer copies.Done()
			io.Copy(out, master) // ends with EIO once the last slave holder exits
		}()
	} else {
		stdin, err := r.inputPipe(s.Stdin, &local)
		if err != nil {
			return -1, err
		}
		stdout, err := r.outputPipe(s.Stdout, &local, &copies)
		if err != nil {
			closeFiles([]*os.File{stdin})
			return -1, err
		}
		stderr, err := r.outputPipe(s.Stderr, &local, &copies)
		if err != nil {
			closeFiles([]*os.File{stdin, stdout})
			return -1, err
		}
		child = []*os.File{stdin, stdout, stderr}
	}
	cc, err := dialCtl(r.l.sock(rec.PodUID))
	if err != nil {
		closeChild(child)
		return -1, err
	}
	defer cc.c.Close()
	err = cc.send(request{Op: opExec, ID: containerID, Path: path, Argv: argv, TTY: s.TTY}, child...)
	closeChild(child)
	if err != nil {
		return -1, fmt.Errorf("exec: %w", err)
	}
	var rep reply
	if err := cc.recv(&rep); err != nil {
		return -1, fmt.Errorf("exec: %w", err)
	}
	if rep.Error != "" {
		return -1, fmt.Errorf("exec in container %s: %s", containerID, rep.Error)
	}
	donec := make(chan error, 1)
	var final reply
	go func() { donec <- cc.recv(&final) }()
	select {
	case err := <-donec:
		if err != nil || final.Exit == nil {
			return -1, fmt.Errorf("exec in container %s: lost the session: %v", containerID, err)
		}
	case <-ctx.Done():
		cc.c.Close() // init kills the session
		<-donec
		return -1, ctx.Err()
	}
	copies.Wait()
	return *final.Exit, nil
}

func closeChild(child []*os.File) {
	seen := map[*os.File]bool{}
	for _, f := range child {
		if f != nil && !seen[f] {
			seen[f] = true
			f.Close()
		}
	}
}

// inputPipe returns the read end for a process's stdin fed from src (or
// /dev/null when src is nil).
func (r *Runtime) inputPipe(src io.Reader, local *[]*os.File) (*os.File, error) {
	if src == nil {
		return os.Open(os.DevNull)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	go func() {
		io.Copy(pw, src)
		pw.Close()
	}()
	return pr, nil
}

// outputPipe returns the write end for a process's output copied to dst.
func (r *Runtime) outputPipe(dst io.Writer, local *[]*os.File, wg *sync.WaitGroup) (*os.File, error) {
	if dst == nil {
		return os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	*local = append(*local, pr)
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(dst, pr)
	}()
	return pw, nil
}

// Attach implements runtime.Runtime. It returns when the container exits,
// the client's streams end, or ctx is done.
//
// A container started with Stdin and StdinOnce (kubectl run -it) gives its
// first attach everything it wrote from its start (init keeps it until
// then) followed by the live stream. When such a container has already
// exited, Attach writes its whole output from the log file and returns.
func (r *Runtime) Attach(ctx context.Context, containerID string, s runtime.Streams) error {
	rec, err := r.record(containerID)
	if err != nil {
		return err
	}
	if rec.FirstAttachReplays && r.readStatus(rec).State == runtime.StateExited {
		return r.replayLog(ctx, rec, s)
	}
	if _, _, err := r.liveContainer(containerID); err != nil {
		return err
	}
	var local []*os.File
	defer func() { closeFiles(local) }()
	var copies sync.WaitGroup
	stdout, err := r.outputPipe(orDiscard(s.Stdout), &local, &copies)
	if err != nil {
		return err
	}
	stderr, err := r.outputPipe(orDiscard(s.Stderr), &local, &copies)
	if err != nil {
		stdout.Close()
		return err
	}
	files := []*os.File{stdout, stderr}
	if s.Stdin != nil {
		pr, pw, err := os.Pipe()
		if err != nil {
			closeFiles(files)
			return err
		}
		files = append(files, pr)
		local = append(local, pw)
		go func() {
			io.Copy(pw, s.Stdin)
			pw.Close()
		}()
	}
	cc, err := dialCtl(r.l.sock(rec.PodUID))
	if err != nil {
		closeFiles(files)
		return err
	}
	defer cc.c.Close()
	err = cc.send(request{Op: opAttach, ID: containerID, Stdin: s.Stdin != nil}, files...)
	closeFiles(files)
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	var rep reply
	if err := cc.recv(&rep); err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	if rep.Error != "" {
		if rec.FirstAttachReplays && r.readStatus(rec).State == runtime.StateExited {
			// It exited since the check above.
			closeFiles(local)
			local = nil
			copies.Wait()
			return r.replayLog(ctx, rec, s)
		}
		return fmt.Errorf("attach to container %s: %s", containerID, rep.Error)
	}
	stopResize := make(chan struct{})
	defer close(stopResize)
	if s.Resize != nil {
		go func() {
			for {
				select {
				case sz, ok := <-s.Resize:
					if !ok {
						return
					}
					cc.send(request{Op: opResize, Width: sz.Width, Height: sz.Height})
				case <-stopResize:
					return
				}
			}
		}()
	}
	donec := make(chan struct{})
	go func() {
		var final reply
		cc.recv(&final)
		close(donec)
	}()
	select {
	case <-donec:
		copies.Wait()
	case <-ctx.Done():
		cc.c.Close()
		<-donec
		return ctx.Err()
	}
	return nil
}

// replayLog writes an exited container's whole output from its log file:
// stdout records to s.Stdout, stderr records to s.Stderr (to s.Stdout with
// a terminal, which also gets CRLF line ends as a terminal would).
func (r *Runtime) replayLog(ctx context.Context, rec *containerRecord, s runtime.Streams) error {
	f, err := os.Open(r.l.logPath(rec.ID))
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("attach to container %s: %w", rec.ID, err)
	}
	defer f.Close()
	eol := []byte("\n")
	if s.TTY {
		eol = []byte("\r\n")
	}
	var p logParser
	buf := make([]byte, 32*1024)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := f.Read(buf)
		for _, l := range p.feed(buf[:n]) {
			w := s.Stdout
			if l.stream == "stderr" && s.Stderr != nil && !s.TTY {
				w = s.Stderr
			}
			if w == nil {
				continue
			}
			if _, err := w.Write(append(l.content, eol...)); err != nil {
				return fmt.Errorf("attach to container %s: %w", rec.ID, err)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("attach to container %s: %w", rec.ID, rerr)
		}
	}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// Logs implements runtime.Runtime over the container's CRI log file. With
// Follow it keeps streaming (woken by inotify) until the container has
// exited and everything is written, or ctx is done.
func (r *Runtime) Logs(ctx context.Context, containerID string, opts runtime.LogOptions, w io.Writer) error {
	rec, err := r.record(containerID)
	if err != nil {
		return err
	}
	f, err := os.Open(r.l.logPath(containerID))
	if isNotExist(err) {
		if !opts.Follow || r.readStatus(rec).State == runtime.StateExited {
			return nil
		}
		// Not started yet: an empty log.
		f, err = os.OpenFile(r.l.logPath(containerID), os.O_RDONLY|os.O_CREATE, 0o640)
	}
	if err != nil {
		return fmt.Errorf("logs of container %s: %w", containerID, err)
	}
	defer f.Close()
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	flt := &logFilter{since: opts.SinceTime, timestamps: opts.Timestamps, limit: -1, w: bw}
	if opts.LimitBytes != nil {
		flt.limit = *opts.LimitBytes
	}
	var p logParser
	// The existing content, with the tail applied.
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("logs of container %s: %w", containerID, err)
	}
	lines := p.feed(data)
	if opts.TailLines != nil && *opts.TailLines >= 0 && int64(len(lines)) > *opts.TailLines {
		lines = lines[int64(len(lines))-*opts.TailLines:]
	}
	for _, l := range lines {
		if !flt.emit(l) {
			return nil
		}
	}
	if !opts.Follow {
		return nil
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("follow logs: %w", err)
	}
	inf := os.NewFile(uintptr(in), "inotify")
	defer inf.Close()
	if _, err := unix.InotifyAddWatch(in, r.l.logPath(containerID), unix.IN_MODIFY); err != nil {
		return fmt.Errorf("follow logs: %w", err)
	}
	if _, err := unix.InotifyAddWatch(in, r.l.statusDir(), unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
		return fmt.Errorf("follow logs: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { inf.Close() })
	defer stop()
	buf := make([]byte, 32*1024)
	evbuf := make([]byte, 4096)
	for {
		exited := r.readStatus(rec).State == runtime.StateExited
		for {
			n, err := f.Read(buf)
			if n > 0 {
				for _, l := range p.feed(buf[:n]) {
					if !flt.emit(l) {
						return nil
					}
				}
			}
			if err != nil {
				break
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if exited {
			return nil
		}
		if _, err := inf.Read(evbuf); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, syscall.EAGAIN) {
				continue
			}
			return fmt.Errorf("follow logs: %w", err)
		}
	}
}
