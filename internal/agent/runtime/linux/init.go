package linux

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"petset/internal/agent/runtime"
	"petset/internal/agent/runtime/linux/ctrinit"
	"petset/internal/logging"
)

// Hidden role: the petset binary re-executed as a sandbox's init.
const (
	roleEnv       = "PETSET_RUNTIME_ROLE"
	roleInit      = "sandbox-init"
	initConfigEnv = "PETSET_SANDBOX_CONFIG"
	defaultPath   = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// initConfig is what the runtime tells a new init (as a JSON file).
type initConfig struct {
	UID         string
	Hostname    string
	SetHostname bool
	Mounts      bool // own mount namespace: /etc files, /proc
	NewPID      bool
	HostsFile   string `json:",omitempty"`
	ResolvFile  string `json:",omitempty"`
	Socket      string
}

// A sandbox init starts containers and exec sessions from threads that
// change their mount namespace, root and capabilities and are then ended
// (ctrinit.Start, spawnExecSession). Go never ends the main thread: a
// goroutine that exits locked to it leaves it parked in that state, and
// /proc/<init pid> (the main thread's view) would show the container's
// mount namespace and root. Locking the main goroutine, which runs the init,
// to the main thread from an init function keeps every other goroutine off
// it.
func init() {
	if os.Getenv(roleEnv) == roleInit {
		goruntime.LockOSThread()
	}
}

// Main runs the hidden re-exec roles of this package. cmd/petset/main.go
// (and TestMain of tests that start sandboxes) call it first thing: when the
// process was started as a sandbox init it runs that role and exits, never
// returning; otherwise it returns false at once.
func Main() bool {
	switch role := os.Getenv(roleEnv); role {
	case "":
		return false
	case roleInit:
		os.Exit(runInit())
	default:
		// A sandbox init of an older build, still running after an
		// upgrade, starts exec sessions as the binary it finds in the
		// container in the role "container-init" and reads its failure
		// from descriptor 4. This build has no such role: fail there,
		// rather than run petset's command line as the session.
		msg := fmt.Sprintf("petset: this build has no runtime role %q; the pod was started by an older petset build: delete it to have it recreated", role)
		os.NewFile(4, "status").WriteString(msg)
		fmt.Fprintln(os.Stderr, msg)
		os.Exit(127)
	}
	return true
}

type initServer struct {
	cfg initConfig
	log *slog.Logger

	// mu guards procs and is held across fork+register and around wait4,
	// so the reaper never reaps a child before its handler is known.
	mu    sync.Mutex
	procs map[int]func(syscall.WaitStatus)

	cmu      sync.Mutex
	ctrs     map[string]*ictr
	execs    map[int]struct{}
	shutting bool
}

// ictr is one container as init supervises it.
type ictr struct {
	spec    startSpec
	pid     int
	started chan struct{} // closed once start's bookkeeping is done
	done    chan struct{}
	// mntns is the container's mount namespace (own root filesystem),
	// which exec sessions join; nil with isolation=none.
	mntns   *os.File
	stdinW  *os.File // write end of the stdin pipe, or the pty master
	pty     *os.File
	readers sync.WaitGroup
	outputs []*os.File
	log     *criLog

	smu    sync.Mutex
	sinks  []*sink
	exit   int
	status containerStatus
	// replay holds the output written before the first attach of a
	// container started with Stdin and StdinOnce (kubectl run -it), so
	// that attach sees the container's output from its start. Appended
	// under smu in the same critical section that feeds the sinks, so the
	// first attach gets the buffer and then the live stream with no gap
	// and no overlap. replaying is false once the first attach took it
	// (or the container exited).
	replaying   bool
	replay      []outChunk
	replayBytes int
}

// outChunk is a piece of a container's output kept for the first attach.
type outChunk struct {
	stderr bool
	data   []byte
}

// maxReplay bounds the output kept for the first attach; past it the
// oldest chunks are dropped (the log file still has everything).
const maxReplay = 1 << 20

// keepForReplay records p for the first attach; c.smu is held.
func (c *ictr) keepForReplay(stderr bool, p []byte) {
	if !c.replaying {
		return
	}
	c.replay = append(c.replay, outChunk{stderr: stderr, data: append([]byte(nil), p...)})
	c.replayBytes += len(p)
	for c.replayBytes > maxReplay && len(c.replay) > 1 {
		c.replayBytes -= len(c.replay[0].data)
		c.replay[0] = outChunk{}
		c.replay = c.replay[1:]
	}
}

// takeReplay writes the kept output to sk and stops keeping; c.smu is
// held. A write error closes the sink.
func (c *ictr) takeReplay(sk *sink) {
	chunks := c.replay
	c.replaying, c.replay, c.replayBytes = false, nil, 0
	for _, ch := range chunks {
		w := sk.out
		if ch.stderr && sk.err != nil {
			w = sk.err
		}
		if _, err := w.Write(ch.data); err != nil {
			sk.close()
			return
		}
	}
}

// sink is one attached client's output.
type sink struct {
	out, err *os.File
	gone     chan struct{}
	once     sync.Once
}

func (s *sink) close() {
	s.once.Do(func() {
		s.out.Close()
		if s.err != nil {
			s.err.Close()
		}
		close(s.gone)
	})
}

func runInit() int {
	// Started with the collector off (gcOff): the package inits of
	// the petset binary are done; collect their garbage once from here.
	debug.SetGCPercent(100)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "sandbox-init")
	var cfg initConfig
	ready := os.NewFile(3, "ready")
	fail := func(err error) int {
		log.Error("sandbox init failed", logging.ErrKey, err)
		if ready != nil {
			fmt.Fprintf(ready, "%v\n", err)
			ready.Close()
		}
		return 1
	}
	if err := readJSON(os.Getenv(initConfigEnv), &cfg); err != nil {
		return fail(fmt.Errorf("read sandbox config: %w", err))
	}
	log = log.With("pod", cfg.UID)
	if err := setupSandbox(cfg); err != nil {
		return fail(err)
	}
	// Init lives as long as the pod: give back the heap the start-up
	// garbage grew (anonymous memory of a sandbox init 13.4 MB instead of
	// 18.3; the rest holds the package inits' live objects).
	debug.FreeOSMemory()
	if !cfg.NewPID {
		// Orphans of the pod reparent to init rather than to the host's init.
		unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	os.Remove(cfg.Socket)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: cfg.Socket, Net: "unix"})
	if err != nil {
		return fail(fmt.Errorf("listen on %s: %w", cfg.Socket, err))
	}
	os.Chmod(cfg.Socket, 0o600)
	s := &initServer{cfg: cfg, log: log, procs: map[int]func(syscall.WaitStatus){},
		ctrs: map[string]*ictr{}, execs: map[int]struct{}{}}
	io.WriteString(ready, "ok\n")
	ready.Close()
	log.Info("sandbox init ready", "pid", os.Getpid(), "hostname", cfg.Hostname)

	exit := make(chan struct{})
	go s.serve(ln, exit)
	for {
		select {
		case sig := <-sigs:
			switch sig {
			case syscall.SIGCHLD:
				s.reap()
			case syscall.SIGTERM:
				go func() { s.shutdown(); close(exit) }()
			}
		case <-exit:
			ln.Close()
			os.Remove(cfg.Socket)
			log.Info("sandbox init exits")
			return 0
		}
	}
}

// setupSandbox runs once inside the new namespaces.
func setupSandbox(cfg initConfig) error {
	if cfg.SetHostname {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
	}
	if !cfg.Mounts {
		return nil
	}
	// Receive the host's mounts but never propagate ours back.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("make / a mount slave: %w", err)
	}
	if cfg.NewPID {
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("mount /proc: %w", err)
		}
	}
	// Each container gets its own root filesystem (ctrinit.Start) with
	// the pod's hosts and resolv.conf; the pod's mount namespace keeps the
	// host's view, and only this init runs in it (the threads that build
	// containers' roots leave it first). The pod's files are bound here too, so that
	// the namespace's mount table names them (tests find a pod's
	// processes by it).
	for _, m := range []struct{ src, dst string }{{cfg.HostsFile, "/etc/hosts"}, {cfg.ResolvFile, "/etc/resolv.conf"}} {
		if m.src == "" {
			continue
		}
		if _, err := os.Stat(m.dst); err != nil {
			return fmt.Errorf("%s: %w", m.dst, err)
		}
		if err := unix.Mount(m.src, m.dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", m.dst, err)
		}
	}
	return nil
}

func (s *initServer) serve(ln *net.UnixListener, exit chan struct{}) {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		go s.handle(&ctlConn{c: c}, exit)
	}
}

func (s *initServer) handle(cc *ctlConn, exit chan struct{}) {
	defer cc.c.Close()
	var req request
	files, err := cc.recvFirst(&req)
	if err != nil {
		return
	}
	cc.rd = bufio.NewReader(cc.c)
	switch req.Op {
	case opStart:
		rep := s.start(req.Start)
		cc.send(rep)
	case opStop:
		cc.send(s.stop(req.ID, req.Grace))
	case opExec:
		s.exec(cc, req, files)
	case opAttach:
		s.attach(cc, req, files)
	case opShutdown:
		s.shutdown()
		cc.send(reply{})
		close(exit)
	case "remove":
		s.cmu.Lock()
		if c := s.ctrs[req.ID]; c != nil && isClosed(c.done) {
			delete(s.ctrs, req.ID)
		}
		s.cmu.Unlock()
		cc.send(reply{})
	default:
		cc.send(reply{Error: "unknown op " + req.Op})
	}
	closeFiles(files)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// spawn forks and execs one process of the pod (isolation=none) and
// registers onExit.
func (s *initServer) spawn(path string, argv, env []string, dir string, files []*os.File, tty bool, cg cgroupPaths, onExit func(syscall.WaitStatus)) (int, error) {
	fds := make([]uintptr, len(files))
	for i, f := range files {
		fds[i] = f.Fd()
	}
	return s.launch(tty, cg, onExit, func(attr syscall.SysProcAttr, fork ctrinit.ForkExec) (int, error) {
		return fork(path, argv, &syscall.ProcAttr{Dir: dir, Env: env, Files: fds, Sys: &attr})
	})
}

// launch starts one process of the pod with start, giving it the pod
// process's attributes (a session of its own, the terminal on fd 0 with
// tty, the container's cgroup: joined at clone with cgroup v2, after with
// v1) and a ForkExec that registers onExit.
func (s *initServer) launch(tty bool, cg cgroupPaths, onExit func(syscall.WaitStatus), start func(syscall.SysProcAttr, ctrinit.ForkExec) (int, error)) (int, error) {
	attr := syscall.SysProcAttr{Setsid: true}
	if tty {
		attr.Setctty = true
		attr.Ctty = 0
	}
	if cg.Mode == cgroupV2 && len(cg.Dirs) == 1 {
		f, err := os.Open(cg.Dirs[0])
		if err != nil {
			return 0, fmt.Errorf("open cgroup: %w", err)
		}
		defer f.Close()
		attr.UseCgroupFD = true
		attr.CgroupFD = int(f.Fd())
	}
	pid, err := start(attr, s.forkExec(onExit))
	if err != nil {
		return 0, err
	}
	if cg.Mode == cgroupV1 {
		if err := cg.join(pid); err != nil {
			s.log.Warn("process runs without its container's resource limits", "pid", pid, logging.ErrKey, err)
		}
	}
	return pid, nil
}

// gcOff turns Go's collector off in a re-executed petset binary. The
// binary's package inits (kubectl, the API server's and etcd's packages)
// allocate ≈ 15 MB, and with the default GOGC the collector runs four
// times during them: about 30 % of the CPU a start of the binary costs
// (`perf stat -r 30 petset version` on the development machine: 65–78 ms
// task-clock with GOGC=off, 96–108 without). A sandbox init turns the
// collector back on first thing (runInit).
const gcOff = "GOGC=off"

// containerSpec is a container's program and security context, with
// setup what building its root filesystem needs (ctrinit.Start); without,
// it describes an exec session in it.
func (s *initServer) containerSpec(sp startSpec, setup bool, path string, argv []string) ctrinit.Spec {
	cs := ctrinit.Spec{Security: sp.Security, Path: path, Argv: argv,
		Env: containerEnv(sp, s.cfg.Hostname), Dir: sp.WorkingDir}
	if !setup {
		return cs
	}
	hostname, _ := os.Hostname() // the pod's UTS namespace: the node's with host network
	// Bound by path: the thread building the root filesystem in its new
	// mount namespace cannot bind /proc/self/exe, which belongs to this
	// namespace's mounts.
	petset, _ := os.Executable()
	cs.Rootfs, cs.Petset, cs.Hostname = sp.Rootfs, petset, hostname
	cs.HostsFile, cs.ResolvFile = s.cfg.HostsFile, s.cfg.ResolvFile
	for _, m := range sp.Mounts {
		cs.Mounts = append(cs.Mounts, ctrinit.Mount{Source: m.HostPath, SubPath: m.SubPath, Target: m.ContainerPath, ReadOnly: m.ReadOnly})
	}
	return cs
}

// startContainer builds a new container's root filesystem and starts its
// program from this process (ctrinit.Start), with files as its stdio; it
// returns the container's mount namespace for later exec sessions and,
// with spec.TTY, the master of the container's terminal.
func (s *initServer) startContainer(spec ctrinit.Spec, files []*os.File, cg cgroupPaths, onExit func(syscall.WaitStatus)) (int, *os.File, *os.File, error) {
	var st ctrinit.Started
	pid, err := s.launch(false, cg, onExit, func(attr syscall.SysProcAttr, fork ctrinit.ForkExec) (int, error) {
		var err error
		st, err = ctrinit.Start(&spec, files, attr, fork)
		return st.PID, err
	})
	if err != nil {
		return 0, nil, nil, err
	}
	return pid, st.MountNS, st.Terminal, nil
}

// spawnExecSession starts an exec session in a running container from
// this process (ctrinit.Exec): forked from a thread that joined the
// container's mount namespace, with the container's credentials and files
// as its stdio.
func (s *initServer) spawnExecSession(spec ctrinit.Spec, mntns *os.File, files []*os.File, tty bool, cg cgroupPaths, onExit func(syscall.WaitStatus)) (int, error) {
	return s.launch(tty, cg, onExit, func(attr syscall.SysProcAttr, fork ctrinit.ForkExec) (int, error) {
		return ctrinit.Exec(&spec, mntns, files, attr, fork)
	})
}

// forkExec is ctrinit's ForkExec: fork and exec under mu, registering
// onExit for the pid before the reaper can see it exit.
func (s *initServer) forkExec(onExit func(syscall.WaitStatus)) ctrinit.ForkExec {
	return func(path string, argv []string, pa *syscall.ProcAttr) (int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		pid, err := syscall.ForkExec(path, argv, pa)
		if err == nil {
			s.procs[pid] = onExit
		}
		return pid, err
	}
}

// reap collects every exited child; init is PID 1 of the pod, so this also
// reaps orphans of the pod's processes.
func (s *initServer) reap() {
	for {
		var ws syscall.WaitStatus
		s.mu.Lock()
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		var h func(syscall.WaitStatus)
		if pid > 0 {
			h = s.procs[pid]
			delete(s.procs, pid)
		}
		s.mu.Unlock()
		if pid <= 0 || err != nil {
			return
		}
		if h != nil {
			go h(ws)
		}
	}
}

func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func (s *initServer) writeStatus(c *ictr) {
	if err := writeJSON(c.spec.StatusPath, c.status); err != nil {
		s.log.Error("write container status", "container", c.spec.ID, logging.ErrKey, err)
	}
}

func (s *initServer) start(sp *startSpec) reply {
	if sp == nil {
		return reply{Error: "no container spec"}
	}
	s.cmu.Lock()
	if s.shutting {
		s.cmu.Unlock()
		return reply{Error: "sandbox is shutting down"}
	}
	if _, ok := s.ctrs[sp.ID]; ok {
		s.cmu.Unlock()
		return reply{Error: "container " + sp.ID + " exists"}
	}
	c := &ictr{spec: *sp, started: make(chan struct{}), done: make(chan struct{})}
	c.status = containerStatus{ID: sp.ID, PodUID: sp.PodUID, Name: sp.Name, Attempt: sp.Attempt,
		State: runtime.StateCreated, CreatedAt: sp.CreatedAt}
	s.ctrs[sp.ID] = c
	s.cmu.Unlock()
	if !s.cfg.Mounts && len(sp.Mounts) > 0 {
		s.log.Warn("volume mounts are not applied with isolation=none", "mounts", len(sp.Mounts))
	}
	if err := s.startProcess(c); err != nil {
		c.status.State = runtime.StateExited
		c.status.ExitCode = 128
		c.status.Reason = "StartError"
		c.status.Message = err.Error()
		c.status.FinishedAt = time.Now().UTC()
		s.writeStatus(c)
		close(c.done)
		return reply{Error: err.Error()}
	}
	return reply{PID: c.pid, StartedAt: c.status.StartedAt}
}

func containerEnv(sp startSpec, hostname string) []string {
	env := append([]string(nil), sp.Env...)
	hasPath, hasHost := false, false
	for _, e := range env {
		hasPath = hasPath || strings.HasPrefix(e, "PATH=")
		hasHost = hasHost || strings.HasPrefix(e, "HOSTNAME=")
	}
	if !hasPath {
		env = append(env, defaultPath)
	}
	if !hasHost && hostname != "" {
		env = append(env, "HOSTNAME="+hostname)
	}
	return env
}

func workDir(d string) string {
	if d == "" {
		return "/"
	}
	return d
}

func (s *initServer) startProcess(c *ictr) error {
	sp := c.spec
	lg, err := openCRILog(sp.LogPath)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	c.log = lg
	dir := workDir(sp.WorkingDir)
	if !s.cfg.Mounts {
		// With a root filesystem of its own, ctrinit.Start creates it
		// there.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			lg.close()
			return fmt.Errorf("working dir: %w", err)
		}
	}
	var child []*os.File
	var stdoutR, stderrR *os.File
	ownTTY := sp.TTY && s.cfg.Mounts
	if ownTTY {
		// The terminal is opened in the container's own devpts once its
		// root filesystem is built (ctrinit.Start).
		devnull, err := os.Open(os.DevNull)
		if err != nil {
			lg.close()
			return err
		}
		child = []*os.File{devnull, devnull, devnull}
	} else if sp.TTY {
		master, slave, err := pty.Open()
		if err != nil {
			lg.close()
			return fmt.Errorf("open pty: %w", err)
		}
		c.pty, stdoutR = master, master
		if sp.Stdin {
			c.stdinW = master
		}
		child = []*os.File{slave, slave, slave}
	} else {
		var stdin *os.File
		if sp.Stdin {
			r, w, err := os.Pipe()
			if err != nil {
				lg.close()
				return err
			}
			stdin, c.stdinW = r, w
		} else {
			stdin, err = os.Open(os.DevNull)
			if err != nil {
				lg.close()
				return err
			}
		}
		or, ow, err := os.Pipe()
		if err != nil {
			lg.close()
			return err
		}
		er, ew, err := os.Pipe()
		if err != nil {
			lg.close()
			return err
		}
		stdoutR, stderrR = or, er
		child = []*os.File{stdin, ow, ew}
	}
	onExit := func(ws syscall.WaitStatus) { s.exited(c, ws) }
	var pid int
	var mntns, master *os.File
	if s.cfg.Mounts {
		cs := s.containerSpec(sp, true, sp.Path, sp.Argv)
		cs.TTY = sp.TTY
		pid, mntns, master, err = s.startContainer(cs, child, sp.Cgroup, onExit)
		if err == nil && ownTTY {
			c.pty, stdoutR = master, master
			if sp.Stdin {
				c.stdinW = master
			}
		}
	} else {
		pid, err = s.spawn(sp.Path, sp.Argv, containerEnv(sp, s.cfg.Hostname), dir, child, sp.TTY, sp.Cgroup, onExit)
	}
	if sp.TTY {
		child[0].Close()
	} else {
		closeFiles(child)
	}
	if err != nil {
		closeFiles([]*os.File{stdoutR, stderrR, c.stdinW})
		lg.close()
		if s.cfg.Mounts {
			// Why the container could not start: its root filesystem, the
			// program's lookup, the exec (start records a StartError).
			return err
		}
		return fmt.Errorf("start %s: %w", sp.Path, err)
	}
	c.smu.Lock()
	c.pid = pid
	c.mntns = mntns
	c.status.State = runtime.StateRunning
	c.status.PID = pid
	c.status.StartedAt = time.Now().UTC()
	s.writeStatus(c)
	c.replaying = sp.Stdin && sp.StdinOnce
	c.smu.Unlock()
	c.outputs = append(c.outputs, stdoutR)
	c.readers.Add(1)
	go s.pump(c, stdoutR, "stdout")
	if stderrR != nil {
		c.outputs = append(c.outputs, stderrR)
		c.readers.Add(1)
		go s.pump(c, stderrR, "stderr")
	}
	close(c.started)
	return nil
}

// pump copies one output stream into the log and to attached clients.
func (s *initServer) pump(c *ictr, r *os.File, stream string) {
	defer c.readers.Done()
	ls := &lineSplitter{log: c.log, stream: stream}
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			ls.write(buf[:n])
			c.smu.Lock()
			c.keepForReplay(stream == "stderr", buf[:n])
			for _, sk := range c.sinks {
				w := sk.out
				if stream == "stderr" && sk.err != nil {
					w = sk.err
				}
				if _, werr := w.Write(buf[:n]); werr != nil {
					sk.close()
				}
			}
			c.smu.Unlock()
		}
		if err != nil {
			break
		}
	}
	ls.flush()
}

// exited runs when a container's main process has been reaped.
func (s *initServer) exited(c *ictr, ws syscall.WaitStatus) {
	<-c.started
	// Whatever the container left behind in its session dies with it.
	syscall.Kill(-c.pid, syscall.SIGKILL)
	drained := make(chan struct{})
	go func() { c.readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(2 * time.Second):
		// A process outside the container's session holds the output open.
		closeFiles(c.outputs)
		<-drained
	}
	c.log.close()
	code := exitCode(ws)
	c.smu.Lock()
	c.status.State = runtime.StateExited
	c.status.ExitCode = code
	c.status.FinishedAt = time.Now().UTC()
	switch {
	case ws.Signaled() && ws.Signal() == syscall.SIGKILL && c.spec.Cgroup.oomKilled():
		c.status.Reason = "OOMKilled"
	case code == 0:
		c.status.Reason = "Completed"
	default:
		c.status.Reason = "Error"
	}
	c.exit = code
	s.writeStatus(c)
	if c.mntns != nil {
		// No exec session may join it any more (exec takes its own
		// duplicate under smu while the container runs).
		c.mntns.Close()
		c.mntns = nil
	}
	sinks := c.sinks
	c.sinks = nil
	// A later attach replays the log file instead (Runtime.Attach).
	c.replaying, c.replay, c.replayBytes = false, nil, 0
	c.smu.Unlock()
	for _, sk := range sinks {
		sk.close()
	}
	if c.pty != nil {
		c.pty.Close()
	} else if c.stdinW != nil {
		c.stdinW.Close()
	}
	if !c.spec.TTY {
		closeFiles(c.outputs)
	}
	close(c.done)
}

func (s *initServer) container(id string) *ictr {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.ctrs[id]
}

func (s *initServer) stop(id string, grace time.Duration) reply {
	c := s.container(id)
	if c == nil {
		return reply{Error: "container " + id + " not found"}
	}
	if isClosed(c.done) || c.pid == 0 {
		<-c.done
		return reply{}
	}
	syscall.Kill(c.pid, syscall.SIGTERM)
	if grace < 0 {
		grace = 0
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		s.log.Info("grace period over, killing container", "container", id, "grace", grace)
		syscall.Kill(-c.pid, syscall.SIGKILL)
		syscall.Kill(c.pid, syscall.SIGKILL)
		<-c.done
	}
	return reply{}
}

// exec runs a process with the caller's stdio in the pod, in the
// container's environment, cgroup and working directory.
func (s *initServer) exec(cc *ctlConn, req request, files []*os.File) {
	c := s.container(req.ID)
	if c == nil || c.pid == 0 || isClosed(c.done) {
		cc.send(reply{Error: "container " + req.ID + " is not running"})
		return
	}
	if len(files) != 3 {
		cc.send(reply{Error: fmt.Sprintf("exec needs 3 stdio descriptors, got %d", len(files))})
		return
	}
	done := make(chan int, 1)
	onExit := func(ws syscall.WaitStatus) { done <- exitCode(ws) }
	var pid int
	var err error
	if s.cfg.Mounts {
		// In the container's root filesystem, with its credentials. A
		// duplicate of its mount namespace taken while it runs, so that
		// the descriptor cannot be closed (and its number reused) under us.
		var ns *os.File
		c.smu.Lock()
		if c.mntns != nil && c.status.State == runtime.StateRunning {
			var fd int
			if fd, err = unix.FcntlInt(c.mntns.Fd(), unix.F_DUPFD_CLOEXEC, 0); err == nil {
				ns = os.NewFile(uintptr(fd), "mntns")
			}
		}
		c.smu.Unlock()
		if ns == nil {
			closeFiles(files)
			cc.send(reply{Error: fmt.Sprintf("container %s is not running (%v)", req.ID, err)})
			return
		}
		pid, err = s.spawnExecSession(s.containerSpec(c.spec, false, req.Path, req.Argv), ns, files, req.TTY, c.spec.Cgroup, onExit)
		ns.Close()
	} else {
		pid, err = s.spawn(req.Path, req.Argv, containerEnv(c.spec, s.cfg.Hostname), workDir(c.spec.WorkingDir), files, req.TTY, c.spec.Cgroup, onExit)
	}
	closeFiles(files)
	if err != nil {
		cc.send(reply{Error: fmt.Sprintf("exec %s: %v", req.Path, err)})
		return
	}
	s.cmu.Lock()
	s.execs[pid] = struct{}{}
	s.cmu.Unlock()
	defer func() {
		s.cmu.Lock()
		delete(s.execs, pid)
		s.cmu.Unlock()
	}()
	cc.send(reply{PID: pid})
	hangup := make(chan struct{})
	go func() {
		io.Copy(io.Discard, cc.rd)
		close(hangup)
	}()
	select {
	case code := <-done:
		cc.send(reply{Exit: &code})
	case <-hangup:
		// The client went away: the session dies with it.
		syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
}

// attach connects a client to a running container's stdio: files are the
// client's stdout and stderr write ends and, if req.Stdin, a stdin read end.
func (s *initServer) attach(cc *ctlConn, req request, files []*os.File) {
	c := s.container(req.ID)
	if c == nil || c.pid == 0 || isClosed(c.done) {
		closeFiles(files)
		cc.send(reply{Error: "container " + req.ID + " is not running"})
		return
	}
	want := 2
	if req.Stdin {
		want = 3
	}
	if len(files) != want {
		closeFiles(files)
		cc.send(reply{Error: fmt.Sprintf("attach needs %d descriptors, got %d", want, len(files))})
		return
	}
	sk := &sink{out: files[0], err: files[1], gone: make(chan struct{})}
	if c.spec.TTY {
		files[1].Close()
		sk.err = nil
	}
	c.smu.Lock()
	if c.status.State != runtime.StateRunning || isClosed(c.done) {
		c.smu.Unlock()
		sk.close()
		if req.Stdin {
			files[2].Close()
		}
		cc.send(reply{Error: "container " + req.ID + " is not running"})
		return
	}
	if c.replaying {
		c.takeReplay(sk)
	}
	c.sinks = append(c.sinks, sk)
	c.smu.Unlock()
	if req.Stdin {
		in := files[2]
		if c.stdinW == nil {
			in.Close()
		} else {
			go func() {
				io.Copy(c.stdinW, in)
				in.Close()
				if c.spec.StdinOnce && !c.spec.TTY {
					c.stdinW.Close()
				}
			}()
			defer in.Close()
		}
	}
	cc.send(reply{})
	hangup := make(chan struct{})
	go func() {
		defer close(hangup)
		for {
			var r request
			if err := cc.recv(&r); err != nil {
				return
			}
			if r.Op == opResize && c.pty != nil {
				pty.Setsize(c.pty, &pty.Winsize{Cols: r.Width, Rows: r.Height})
			}
		}
	}()
	select {
	case <-c.done:
		code := c.exit
		cc.send(reply{Exit: &code})
	case <-hangup:
	case <-sk.gone:
	}
	c.smu.Lock()
	for i, x := range c.sinks {
		if x == sk {
			c.sinks = append(c.sinks[:i], c.sinks[i+1:]...)
			break
		}
	}
	c.smu.Unlock()
	sk.close()
}

// shutdown kills every process of the pod, waits for the containers'
// statuses to be written.
func (s *initServer) shutdown() {
	s.cmu.Lock()
	s.shutting = true
	var ctrs []*ictr
	for _, c := range s.ctrs {
		ctrs = append(ctrs, c)
	}
	for pid := range s.execs {
		syscall.Kill(-pid, syscall.SIGKILL)
	}
	s.cmu.Unlock()
	for _, c := range ctrs {
		if c.pid != 0 && !isClosed(c.done) {
			syscall.Kill(-c.pid, syscall.SIGKILL)
			syscall.Kill(c.pid, syscall.SIGKILL)
		}
	}
	for _, c := range ctrs {
		<-c.done
	}
}
