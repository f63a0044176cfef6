package linux

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"petset/internal/agent/runtime"
	"petset/internal/agent/runtime/linux/ctrinit"
	"petset/internal/logging"
)

// Isolation modes.
const (
	// IsolationNamespaces runs every pod in its own namespaces (needs root).
	IsolationNamespaces = "namespaces"
	// IsolationNone runs containers as plain host processes.
	IsolationNone = "none"
)

// Config configures a Runtime.
type Config struct {
	// StateDir holds sandboxes', containers' and addresses' state and the
	// container logs (default /var/lib/petset/runtime). Keep it short: init
	// control sockets live below it (unix socket paths are limited to 107
	// bytes).
	StateDir string
	// Bridge is the node's pod bridge (default petset0).
	Bridge string
	// PodCIDR is this node's pod network (default 10.88.0.0/24); the bridge
	// holds its first address.
	PodCIDR string
	// Isolation is IsolationNamespaces (default) or IsolationNone.
	Isolation string
	// CgroupParent is the cgroup below which pods get their groups
	// (default petset).
	CgroupParent string
	// Executable is the binary re-executed as sandbox init (default
	// os.Executable()); it must call Main first thing.
	Executable string
}

// Runtime runs pods as Linux processes; see the package documentation.
type Runtime struct {
	cfg      Config
	l        layout
	log      *slog.Logger
	isolated bool
	net      *network
	cg       *cgroups

	mu         sync.Mutex
	sandboxes  map[string]*sandbox
	containers map[string]*containerRecord
	podLocks   map[string]*sync.Mutex

	qmu    sync.Mutex
	queue  []runtime.Event
	qwake  chan struct{}
	events chan runtime.Event

	inotify *os.File
	closing chan struct{}
	// afterStep, when set (tests), is called after each sandbox creation
	// step (creationSteps).
	afterStep func(step string)
	closeMu   sync.Once
	wg        sync.WaitGroup
}

type sandbox struct {
	rec   sandboxRecord
	pidfd *os.File
	child bool          // started by this process: reap it
	gone  chan struct{} // closed when init has exited
}

var _ runtime.Runtime = (*Runtime)(nil)

// New checks the machine, prepares the state directory and the bridge, and
// adopts sandboxes that are still running from an earlier agent. It starts
// the goroutines that watch for exits; Close stops them.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.StateDir == "" {
		cfg.StateDir = "/var/lib/petset/runtime"
	}
	if cfg.Bridge == "" {
		cfg.Bridge = "petset0"
	}
	if cfg.PodCIDR == "" {
		cfg.PodCIDR = "10.88.0.0/24"
	}
	if cfg.Isolation == "" {
		cfg.Isolation = IsolationNamespaces
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = "petset"
	}
	if cfg.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("petset: find own executable: %w", err)
		}
		cfg.Executable = exe
	}
	abs, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("petset: state dir: %w", err)
	}
	cfg.StateDir = abs
	r := &Runtime{
		cfg: cfg, l: layout{root: abs}, log: slog.Default().With("component", "runtime"),
		sandboxes: map[string]*sandbox{}, containers: map[string]*containerRecord{}, podLocks: map[string]*sync.Mutex{},
		qwake: make(chan struct{}, 1), events: make(chan runtime.Event), closing: make(chan struct{}),
	}
	switch cfg.Isolation {
	case IsolationNamespaces:
		if missing := missingCaps(); len(missing) > 0 {
			return nil, fmt.Errorf("petset: isolated pods need root (%s); run as root or use --isolation=none", strings.Join(missing, ", "))
		}
		r.isolated = true
	case IsolationNone:
	default:
		return nil, fmt.Errorf("petset: unknown isolation %q (want %q or %q)", cfg.Isolation, IsolationNamespaces, IsolationNone)
	}
	if len(r.l.sock(strings.Repeat("x", 36))) > 100 {
		return nil, fmt.Errorf("petset: state dir %s is too long for unix socket paths below it", abs)
	}
	if err := r.l.mkdirs(); err != nil {
		return nil, err
	}
	if r.isolated {
		n, err := newNetwork(cfg.Bridge, cfg.PodCIDR, r.l.ipamDir())
		if err != nil {
			return nil, fmt.Errorf("petset: %w", err)
		}
		if err := n.ensureBridge(); err != nil {
			return nil, fmt.Errorf("petset: pod network: %w", err)
		}
		n.log = r.log
		r.net = n
		r.cg = detectCgroups(cfg.CgroupParent)
		if r.cg.mode == cgroupNone {
			r.log.Warn("container resource limits will not be applied", "reason", r.cg.reason)
		} else {
			r.log.Info("container resource limits", "cgroups", r.cg.describe())
		}
	} else {
		r.cg = &cgroups{reason: "isolation=none"}
		r.log.Warn("isolation=none: pods run as plain host processes: no own hostname, no pod IP (host network), no /etc/hosts or resolv.conf of their own, no volume bind mounts, no resource limits")
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("petset: inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, r.l.statusDir(), unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("petset: watch %s: %w", r.l.statusDir(), err)
	}
	r.inotify = os.NewFile(uintptr(fd), "inotify")
	r.loadContainers()
	r.wg.Add(2)
	go r.watchStatus()
	go r.pumpEvents()
	r.adoptSandboxes(ctx)
	return r, nil
}

// missingCaps lists the capabilities isolated pods need that this process
// lacks.
func missingCaps() []string {
	b, err := os.ReadFile("/proc/self/status")
	var eff uint64
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
				eff, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			}
		}
	}
	var missing []string
	if eff&(1<<unix.CAP_SYS_ADMIN) == 0 {
		missing = append(missing, "CAP_SYS_ADMIN")
	}
	if eff&(1<<unix.CAP_NET_ADMIN) == 0 {
		missing = append(missing, "CAP_NET_ADMIN")
	}
	return missing
}

// Close stops the runtime's goroutines. Pods keep running; a new Runtime
// over the same state directory adopts them.
func (r *Runtime) Close() error {
	r.closeMu.Do(func() {
		close(r.closing)
		r.inotify.Close()
		r.mu.Lock()
		for _, sb := range r.sandboxes {
			sb.pidfd.Close()
		}
		r.mu.Unlock()
	})
	r.wg.Wait()
	return nil
}

// Isolated reports whether pods get their own namespaces.
func (r *Runtime) Isolated() bool { return r.isolated }

// Limits says how container resource limits are enforced, or why not.
func (r *Runtime) Limits() string { return r.cg.describe() }

// Events implements runtime.Runtime.
func (r *Runtime) Events() <-chan runtime.Event { return r.events }

func (r *Runtime) emit(ev runtime.Event) {
	r.qmu.Lock()
	r.queue = append(r.queue, ev)
	r.qmu.Unlock()
	select {
	case r.qwake <- struct{}{}:
	default:
	}
}

// pumpEvents delivers queued events in order without ever blocking emit.
func (r *Runtime) pumpEvents() {
	defer r.wg.Done()
	for {
		r.qmu.Lock()
		var ev *runtime.Event
		if len(r.queue) > 0 {
			e := r.queue[0]
			r.queue = r.queue[1:]
			ev = &e
		}
		r.qmu.Unlock()
		if ev == nil {
			select {
			case <-r.qwake:
				continue
			case <-r.closing:
				return
			}
		}
		select {
		case r.events <- *ev:
		case <-r.closing:
			return
		}
	}
}

// watchStatus turns status file writes (by inits or by the runtime) into
// Events.
func (r *Runtime) watchStatus() {
	defer r.wg.Done()
	buf := make([]byte, 64*1024)
	for {
		n, err := r.inotify.Read(buf)
		if err != nil {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameBytes := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			name := strings.TrimRight(string(nameBytes), "\x00")
			id, ok := strings.CutSuffix(name, ".json")
			if !ok || strings.HasPrefix(name, ".") {
				continue
			}
			r.mu.Lock()
			rec := r.containers[id]
			r.mu.Unlock()
			if rec == nil {
				var st containerStatus
				if readJSON(r.l.statusPath(id), &st) != nil {
					continue
				}
				r.emit(runtime.Event{PodUID: st.PodUID, ContainerID: id})
				continue
			}
			r.emit(runtime.Event{PodUID: rec.PodUID, ContainerID: id})
		}
	}
}

func (r *Runtime) loadContainers() {
	ents, _ := os.ReadDir(filepath.Join(r.l.root, "containers"))
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range ents {
		var rec containerRecord
		if err := readJSON(filepath.Join(r.l.ctrDir(e.Name()), "config.json"), &rec); err != nil {
			continue
		}
		r.containers[rec.ID] = &rec
	}
}

// adoptSandboxes finds sandboxes from an earlier agent: live ones are
// watched again, dead ones are cleaned up.
func (r *Runtime) adoptSandboxes(ctx context.Context) {
	r.removeStrayPodDirs()
	ents, _ := os.ReadDir(filepath.Join(r.l.root, "pods"))
	for _, e := range ents {
		var rec sandboxRecord
		if err := readJSON(filepath.Join(r.l.root, "pods", e.Name(), "sandbox.json"), &rec); err != nil {
			continue
		}
		if rec.Creating {
			unlock := r.lockPod(rec.UID)
			r.recoverPartial(ctx, rec, "sandbox creation was interrupted")
			unlock()
			continue
		}
		if alive(rec.InitPID, rec.InitStart) {
			pfd, err := unix.PidfdOpen(rec.InitPID, unix.PIDFD_NONBLOCK)
			if err == nil {
				sb := &sandbox{rec: rec, pidfd: os.NewFile(uintptr(pfd), "pidfd"), gone: make(chan struct{})}
				// The pidfd is open: if the same process is still there it
				// cannot be recycled any more.
				if alive(rec.InitPID, rec.InitStart) {
					r.mu.Lock()
					r.sandboxes[rec.UID] = sb
					r.mu.Unlock()
					r.watchSandbox(sb)
					r.log.Info("adopted running sandbox", "pod", rec.Namespace+"/"+rec.Name, "uid", rec.UID, "pid", rec.InitPID)
					continue
				}
				sb.pidfd.Close()
			}
		}
		r.log.Info("sandbox of an earlier agent is gone; cleaning up", "pod", rec.Namespace+"/"+rec.Name, "uid", rec.UID)
		unlock := r.lockPod(rec.UID)
		r.teardown(ctx, &sandbox{rec: rec, gone: closedChan()}, "sandbox init process is gone")
		unlock()
	}
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// watchSandbox waits for the sandbox's init to exit and cleans up after an
// unexpected death.
func (r *Runtime) watchSandbox(sb *sandbox) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := waitPidfd(sb.pidfd); err != nil {
			return // closed by Close
		}
		if sb.child {
			var info unix.Siginfo
			unix.Waitid(unix.P_PIDFD, int(sb.pidfd.Fd()), &info, unix.WEXITED|unix.WNOHANG, nil)
		}
		close(sb.gone)
		select {
		case <-r.closing:
			return
		default:
		}
		unlock := r.lockPod(sb.rec.UID)
		defer unlock()
		r.mu.Lock()
		cur := r.sandboxes[sb.rec.UID]
		r.mu.Unlock()
		if cur != sb {
			return // StopSandbox already took care of it
		}
		r.log.Warn("sandbox init exited unexpectedly", "pod", sb.rec.Namespace+"/"+sb.rec.Name, "uid", sb.rec.UID)
		r.teardown(context.Background(), sb, "sandbox init process exited")
	}()
}

// waitPidfd blocks until the process behind a nonblocking pidfd exits or
// the file is closed.
func waitPidfd(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var exited bool
	err = rc.Read(func(fd uintptr) bool {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(p, 0)
		exited = n > 0
		return exited
	})
	if err != nil {
		return err
	}
	return nil
}

func (r *Runtime) lockPod(uid string) func() {
	r.mu.Lock()
	m := r.podLocks[uid]
	if m == nil {
		m = &sync.Mutex{}
		r.podLocks[uid] = m
	}
	r.mu.Unlock()
	m.Lock()
	return m.Unlock
}

func (r *Runtime) sandbox(uid string) *sandbox {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sandboxes[uid]
}

func sandboxOf(rec sandboxRecord) runtime.Sandbox {
	return runtime.Sandbox{UID: rec.UID, Namespace: rec.Namespace, Name: rec.Name, IP: rec.IP, CreatedAt: rec.CreatedAt}
}

// errClosed is returned by methods called after Close.
var errClosed = errors.New("runtime is closed")

func (r *Runtime) closed() bool { return isClosed(r.closing) }

// RunSandbox implements runtime.Runtime.
func (r *Runtime) RunSandbox(ctx context.Context, cfg runtime.SandboxConfig) (runtime.Sandbox, error) {
	if r.closed() {
		return runtime.Sandbox{}, errClosed
	}
	if cfg.UID == "" {
		return runtime.Sandbox{}, errors.New("run sandbox: empty pod UID")
	}
	unlock := r.lockPod(cfg.UID)
	defer unlock()
	if sb := r.sandbox(cfg.UID); sb != nil {
		if !isClosed(sb.gone) {
			r.refreshFiles(sb.rec, cfg)
			return sandboxOf(sb.rec), nil
		}
		r.teardown(ctx, sb, "sandbox init process exited")
	}
	rec, err := r.startSandbox(ctx, cfg)
	if err != nil {
		if rec.UID != "" && rec.Creating {
			r.recoverPartial(ctx, rec, "sandbox creation failed")
		}
		return runtime.Sandbox{}, fmt.Errorf("run sandbox for pod %s/%s: %w", cfg.Namespace, cfg.Name, err)
	}
	return sandboxOf(rec), nil
}

func (r *Runtime) startSandbox(ctx context.Context, cfg runtime.SandboxConfig) (sandboxRecord, error) {
	dir := r.l.podDir(cfg.UID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return sandboxRecord{}, err
	}
	hostname := cfg.Hostname
	if hostname == "" {
		hostname = cfg.Name
	}
	rec := sandboxRecord{UID: cfg.UID, Namespace: cfg.Namespace, Name: cfg.Name, Hostname: hostname,
		HostNetwork: cfg.HostNetwork, Isolated: r.isolated, CreatedAt: time.Now().UTC(), Creating: true}
	// Recorded first, so that whatever the next steps leave behind, a
	// successor finds it (adoptSandboxes → recoverPartial).
	if err := writeJSON(r.l.sandboxFile(cfg.UID), rec); err != nil {
		os.RemoveAll(dir)
		return rec, fmt.Errorf("record sandbox: %w", err)
	}
	r.step(stepRecorded)
	ic := initConfig{UID: cfg.UID, Hostname: hostname, Socket: r.l.sock(cfg.UID)}
	var flags uintptr
	if r.isolated {
		flags = unix.CLONE_NEWIPC | unix.CLONE_NEWPID | unix.CLONE_NEWNS
		ic.Mounts, ic.NewPID = true, true
		if !cfg.HostNetwork {
			flags |= unix.CLONE_NEWNET | unix.CLONE_NEWUTS
			ic.SetHostname = true
		}
		for _, f := range []struct {
			data []byte
			name string
			dst  *string
		}{{cfg.HostsFile, "hosts", &ic.HostsFile}, {cfg.ResolvConf, "resolv.conf", &ic.ResolvFile}} {
			if len(f.data) == 0 {
				continue
			}
			p := filepath.Join(dir, f.name)
			if err := os.WriteFile(p, f.data, 0o644); err != nil {
				return rec, err
			}
			*f.dst = p
		}
	}
	cfgPath := filepath.Join(dir, "init.json")
	if err := writeJSON(cfgPath, ic); err != nil {
		return rec, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "init.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return rec, err
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return rec, err
	}
	defer devnull.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return rec, err
	}
	defer readyR.Close()
	// Init gets only what it needs, not the agent's environment: its
	// configuration is in the file, and a container's environment is in
	// its spec.
	env := []string{gcOff, roleEnv + "=" + roleInit, initConfigEnv + "=" + cfgPath}
	pidfd := -1
	pid, err := syscall.ForkExec(r.cfg.Executable, []string{"petset-sandbox-init", cfg.UID}, &syscall.ProcAttr{
		Dir:   "/",
		Env:   env,
		Files: []uintptr{devnull.Fd(), logf.Fd(), logf.Fd(), readyW.Fd()},
		Sys:   &syscall.SysProcAttr{Setsid: true, Cloneflags: flags, PidFD: &pidfd},
	})
	readyW.Close()
	if err != nil {
		return rec, fmt.Errorf("start sandbox init: %w", err)
	}
	unix.SetNonblock(pidfd, true)
	sb := &sandbox{pidfd: os.NewFile(uintptr(pidfd), "pidfd"), child: true, gone: make(chan struct{})}
	rec.InitPID = pid
	st, _ := procStart(pid)
	rec.InitStart = st
	sb.rec = rec
	kill := func() {
		syscall.Kill(pid, syscall.SIGKILL)
		var info unix.Siginfo
		unix.Waitid(unix.P_PIDFD, pidfd, &info, unix.WEXITED, nil)
		sb.pidfd.Close()
	}
	if err := writeJSON(r.l.sandboxFile(cfg.UID), rec); err != nil {
		kill()
		return rec, fmt.Errorf("record sandbox: %w", err)
	}
	r.step(stepInitStarted)
	// Readiness: init writes "ok" (or its error) and closes the pipe.
	readyc := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(readyR)
		readyc <- strings.TrimSpace(string(b))
	}()
	select {
	case msg := <-readyc:
		if msg != "ok" {
			kill()
			if msg == "" {
				msg = "sandbox init exited before it was ready (see " + filepath.Join(dir, "init.log") + ")"
			}
			return rec, errors.New(msg)
		}
	case <-ctx.Done():
		kill()
		return rec, ctx.Err()
	}
	r.step(stepInitReady)
	undo := func() {
		kill()
		if r.net != nil {
			r.net.detach(rec.HostVeth)
			r.net.release(cfg.UID, rec.IP)
		}
		os.Remove(r.l.sandboxFile(cfg.UID))
	}
	if r.isolated && !cfg.HostNetwork {
		ip, err := r.net.allocate(cfg.UID)
		if err != nil {
			kill()
			return rec, err
		}
		rec.IP, rec.HostVeth = ip.String(), vethName(cfg.UID)
	}
	sb.rec = rec
	r.step(stepAddress)
	if ic.HostsFile != "" && rec.IP != "" {
		if err := os.WriteFile(ic.HostsFile, withOwnAddress(cfg.HostsFile, rec.IP, hostname), 0o644); err != nil {
			undo()
			return rec, fmt.Errorf("write pod hosts file: %w", err)
		}
	}
	r.step(stepHostsFile)
	if rec.IP != "" {
		if _, err := r.net.attach(cfg.UID, pid, net.ParseIP(rec.IP).To4()); err != nil {
			undo()
			return rec, err
		}
	}
	r.step(stepNetwork)
	rec.Creating = false
	sb.rec = rec
	if err := writeJSON(r.l.sandboxFile(cfg.UID), rec); err != nil {
		undo()
		return rec, fmt.Errorf("persist sandbox: %w", err)
	}
	r.step(stepComplete)
	r.mu.Lock()
	r.sandboxes[cfg.UID] = sb
	r.mu.Unlock()
	r.watchSandbox(sb)
	r.log.Info("sandbox started", "pod", cfg.Namespace+"/"+cfg.Name, "uid", cfg.UID, "pid", pid, "ip", rec.IP)
	return rec, nil
}

// refreshFiles rewrites a running pod's hosts and resolv.conf in place
// (same inode, so the bind mounts show the new content) when the agent
// passes new content, e.g. once it knows the pod's IP.
func (r *Runtime) refreshFiles(rec sandboxRecord, cfg runtime.SandboxConfig) {
	if !rec.Isolated {
		return
	}
	dir := r.l.podDir(rec.UID)
	for _, f := range []struct {
		data []byte
		name string
	}{{withOwnAddress(cfg.HostsFile, rec.IP, rec.Hostname), "hosts"}, {cfg.ResolvConf, "resolv.conf"}} {
		p := filepath.Join(dir, f.name)
		old, err := os.ReadFile(p)
		if err != nil || len(f.data) == 0 || string(old) == string(f.data) {
			continue // not mounted (no content at creation), or unchanged
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			r.log.Warn("update pod file", "uid", rec.UID, "file", f.name, logging.ErrKey, err)
		}
	}
}

// withOwnAddress adds "<ip> <hostname>" to a hosts file that does not
// mention the pod's IP yet (the agent cannot know it before the sandbox
// exists).
func withOwnAddress(hosts []byte, ip, hostname string) []byte {
	if len(hosts) == 0 || ip == "" {
		return hosts
	}
	for _, line := range strings.Split(string(hosts), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == ip {
			return hosts
		}
	}
	out := append([]byte(nil), hosts...)
	if out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(out, ip+"\t"+hostname+"\n"...)
}

// StopSandbox implements runtime.Runtime.
func (r *Runtime) StopSandbox(ctx context.Context, podUID string) error {
	if r.closed() {
		return errClosed
	}
	unlock := r.lockPod(podUID)
	defer unlock()
	sb := r.sandbox(podUID)
	if sb == nil {
		var rec sandboxRecord
		if readJSON(r.l.sandboxFile(podUID), &rec) == nil {
			r.teardown(ctx, &sandbox{rec: rec, gone: closedChan()}, "sandbox stopped")
		}
		return nil
	}
	if !isClosed(sb.gone) {
		if _, err := call(r.l.sock(podUID), request{Op: opShutdown}); err != nil {
			r.log.Warn("sandbox init did not shut down cleanly; killing it", "uid", podUID, logging.ErrKey, err)
		}
		// Init exits after its reply; SIGKILL of a pod's PID 1 takes every
		// process of the pod with it.
		if alive(sb.rec.InitPID, sb.rec.InitStart) {
			syscall.Kill(sb.rec.InitPID, syscall.SIGKILL)
		}
		select {
		case <-sb.gone:
		case <-r.closing:
			return errClosed
		case <-ctx.Done():
			return fmt.Errorf("stop sandbox %s: %w", podUID, ctx.Err())
		}
	}
	r.teardown(ctx, sb, "sandbox stopped")
	return nil
}

// teardown releases everything of a sandboxes whose init is gone. Called
// with the pod lock held.
func (r *Runtime) teardown(ctx context.Context, sb *sandbox, why string) {
	rec := sb.rec
	r.mu.Lock()
	if r.sandboxes[rec.UID] == sb {
		delete(r.sandboxes, rec.UID)
	}
	var ctrs []*containerRecord
	for _, c := range r.containers {
		if c.PodUID == rec.UID {
			ctrs = append(ctrs, c)
		}
	}
	r.mu.Unlock()
	for _, c := range ctrs {
		st := r.readStatus(c)
		if st.State != runtime.StateExited {
			if !rec.Isolated && c.HostPID > 0 {
				// No PID namespace holds these: kill the session.
				syscall.Kill(-c.HostPID, syscall.SIGKILL)
			}
			st.State = runtime.StateExited
			st.ExitCode = 137
			st.Reason = "Error"
			st.Message = why
			st.FinishedAt = time.Now().UTC()
			if err := writeJSON(r.l.statusPath(c.ID), st); err != nil {
				r.log.Error("write container status", "container", c.ID, logging.ErrKey, err)
			}
		}
		c.Cgroup.remove()
	}
	if r.net != nil {
		r.net.detach(rec.HostVeth)
		r.net.release(rec.UID, rec.IP)
	}
	if r.cg != nil {
		r.cg.removePod(podKey(rec.UID))
	}
	os.Remove(r.l.sock(rec.UID))
	os.RemoveAll(r.l.podDir(rec.UID))
	if sb.pidfd != nil && isClosed(sb.gone) {
		sb.pidfd.Close()
	}
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// StartContainer implements runtime.Runtime. When the process cannot be
// started, the container is recorded as Exited with reason StartError
// (exit code 128) and the error is returned along with that status.
func (r *Runtime) StartContainer(ctx context.Context, podUID string, cfg runtime.ContainerConfig) (runtime.ContainerStatus, error) {
	if r.closed() {
		return runtime.ContainerStatus{}, errClosed
	}
	sb := r.sandbox(podUID)
	if sb == nil || isClosed(sb.gone) {
		return runtime.ContainerStatus{}, notFound("sandbox", podUID)
	}
	if len(cfg.Argv) == 0 {
		return runtime.ContainerStatus{}, errors.New("start container: empty argv")
	}
	if !r.isolated {
		// Plain host processes get no mounts at all; a subPath names a
		// file or directory the program expects at its mountPath (a
		// configuration file, a key), so running without it would fail
		// later and obscurely. Refuse it here, by name.
		for _, m := range cfg.Mounts {
			if m.SubPath != "" {
				return runtime.ContainerStatus{}, fmt.Errorf("subPath mounts need isolated pods: with --isolation=none no volume is mounted, so %q of the volume cannot appear at %s; run petset as root with --isolation=namespaces", m.SubPath, m.ContainerPath)
			}
		}
	}
	id := newID()
	rec := &containerRecord{ID: id, PodUID: podUID, Name: cfg.Name, Attempt: cfg.Attempt, CreatedAt: time.Now().UTC(),
		Env: cfg.Env, WorkDir: cfg.WorkingDir, FirstAttachReplays: cfg.Stdin && cfg.StdinOnce}
	if err := os.MkdirAll(r.l.ctrDir(id), 0o700); err != nil {
		return runtime.ContainerStatus{}, fmt.Errorf("start container: %w", err)
	}
	failed := func(err error) (runtime.ContainerStatus, error) {
		st := containerStatus{ID: id, PodUID: podUID, Name: cfg.Name, Attempt: cfg.Attempt, State: runtime.StateExited,
			CreatedAt: rec.CreatedAt, FinishedAt: time.Now().UTC(), ExitCode: 128, Reason: "StartError", Message: err.Error()}
		if _, serr := os.Stat(r.l.statusPath(id)); serr != nil {
			writeJSON(r.l.statusPath(id), st)
		} else {
			readJSON(r.l.statusPath(id), &st)
		}
		return r.toStatus(rec, st), fmt.Errorf("start container %s of pod %s: %w", cfg.Name, podUID, err)
	}
	// Isolated containers look their program up in their own root
	// filesystem (ctrinit); plain host processes here.
	path, err := cfg.Argv[0], error(nil)
	var sec ctrinit.Security
	if r.isolated {
		sec, err = containerSecurity(cfg.Security)
		if err == nil {
			err = os.Mkdir(r.l.rootfsDir(id), 0o700)
		}
		rec.Cgroup, err = r.createCgroup(podUID, id, cfg, err)
	} else if path, err = exec.LookPath(cfg.Argv[0]); err == nil {
		path, err = filepath.Abs(path)
	}
	if err := writeJSON(filepath.Join(r.l.ctrDir(id), "config.json"), rec); err != nil {
		return runtime.ContainerStatus{}, fmt.Errorf("start container: %w", err)
	}
	r.mu.Lock()
	r.containers[id] = rec
	r.mu.Unlock()
	if err != nil {
		return failed(err)
	}
	spec := &startSpec{ID: id, PodUID: podUID, Name: cfg.Name, Attempt: cfg.Attempt, Path: path, Argv: cfg.Argv,
		Env: cfg.Env, WorkingDir: cfg.WorkingDir, Stdin: cfg.Stdin, StdinOnce: cfg.StdinOnce, TTY: cfg.TTY,
		CreatedAt: rec.CreatedAt, LogPath: r.l.logPath(id), StatusPath: r.l.statusPath(id), Cgroup: rec.Cgroup,
		Security: sec}
	if r.isolated {
		spec.Rootfs = r.l.rootfsDir(id)
	}
	for _, m := range cfg.Mounts {
		spec.Mounts = append(spec.Mounts, mountSpec(m))
	}
	type result struct {
		rep reply
		err error
	}
	resc := make(chan result, 1)
	go func() {
		rep, err := call(r.l.sock(podUID), request{Op: opStart, Start: spec})
		resc <- result{rep, err}
	}()
	var res result
	select {
	case res = <-resc:
	case <-ctx.Done():
		return runtime.ContainerStatus{}, fmt.Errorf("start container %s: %w", cfg.Name, ctx.Err())
	}
	if res.err != nil {
		return failed(res.err)
	}
	if rec.HostPID = hostPID(sb.rec, res.rep.PID); rec.HostPID > 0 {
		writeJSON(filepath.Join(r.l.ctrDir(id), "config.json"), rec)
	}
	r.log.Info("container started", "pod", sb.rec.Namespace+"/"+sb.rec.Name, "container", cfg.Name, "id", id, "pid", rec.HostPID)
	return r.ContainerStatus(ctx, id)
}

// containerSecurity turns the agent's security context into the
// credentials its program is started with (ctrinit).
func containerSecurity(s runtime.Security) (ctrinit.Security, error) {
	caps, err := ctrinit.Capabilities(s.Privileged, s.CapAdd, s.CapDrop)
	if err != nil {
		return ctrinit.Security{}, err
	}
	return ctrinit.Security{
		UID: s.RunAsUser, GID: s.RunAsGroup, SupplementalGroups: s.SupplementalGroups, Caps: caps,
		NoNewPrivs: !s.AllowPrivilegeEscalation && !s.Privileged, Privileged: s.Privileged,
		ReadOnlyRootfs: s.ReadOnlyRootFilesystem,
	}, nil
}

func (r *Runtime) createCgroup(podUID, id string, cfg runtime.ContainerConfig, prev error) (cgroupPaths, error) {
	if prev != nil {
		return cgroupPaths{}, prev
	}
	if r.cg.mode == cgroupNone {
		if cfg.Resources.CPUMilli > 0 || cfg.Resources.MemoryBytes > 0 {
			r.log.Warn("container resource limits not applied", "pod", podUID, "container", cfg.Name, "reason", r.cg.reason)
		}
		return cgroupPaths{}, nil
	}
	p, err := r.cg.create(podKey(podUID), id[:12], cfg.Resources)
	if err != nil {
		p.remove()
		return cgroupPaths{}, fmt.Errorf("cgroup: %w", err)
	}
	return p, nil
}

// hostPID translates a PID in the sandbox's PID namespace to the host's.
func hostPID(sb sandboxRecord, nsPID int) int {
	if !sb.Isolated {
		return nsPID
	}
	want, err := os.Readlink("/proc/" + strconv.Itoa(sb.InitPID) + "/ns/pid")
	if err != nil {
		return 0
	}
	ents, _ := os.ReadDir("/proc")
	suffix := "\t" + strconv.Itoa(nsPID)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "NSpid:") {
				if strings.HasSuffix(line, suffix) && strings.Count(line, "\t") >= 2 {
					if ns, _ := os.Readlink("/proc/" + e.Name() + "/ns/pid"); ns == want {
						return pid
					}
				}
				break
			}
		}
	}
	return 0
}

func (r *Runtime) record(id string) (*containerRecord, error) {
	r.mu.Lock()
	rec := r.containers[id]
	r.mu.Unlock()
	if rec == nil {
		return nil, notFound("container", id)
	}
	return rec, nil
}

func (r *Runtime) readStatus(rec *containerRecord) containerStatus {
	var st containerStatus
	if err := readJSON(r.l.statusPath(rec.ID), &st); err != nil {
		return containerStatus{ID: rec.ID, PodUID: rec.PodUID, Name: rec.Name, Attempt: rec.Attempt,
			State: runtime.StateCreated, CreatedAt: rec.CreatedAt}
	}
	return st
}

func (r *Runtime) toStatus(rec *containerRecord, st containerStatus) runtime.ContainerStatus {
	out := runtime.ContainerStatus{ID: rec.ID, PodUID: rec.PodUID, Name: rec.Name, Attempt: rec.Attempt,
		State: st.State, PID: st.PID, CreatedAt: rec.CreatedAt, StartedAt: st.StartedAt, FinishedAt: st.FinishedAt,
		ExitCode: st.ExitCode, Reason: st.Reason, Message: st.Message}
	if rec.HostPID > 0 {
		out.PID = rec.HostPID
	}
	if out.State == runtime.StateExited {
		out.PID = 0
	}
	return out
}

// ContainerStatus implements runtime.Runtime.
func (r *Runtime) ContainerStatus(ctx context.Context, containerID string) (runtime.ContainerStatus, error) {
	rec, err := r.record(containerID)
	if err != nil {
		return runtime.ContainerStatus{}, err
	}
	return r.toStatus(rec, r.readStatus(rec)), nil
}

// ListSandboxes implements runtime.Runtime: the sandboxes whose init runs.
func (r *Runtime) ListSandboxes(ctx context.Context) ([]runtime.Sandbox, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]runtime.Sandbox, 0, len(r.sandboxes))
	for _, sb := range r.sandboxes {
		if !isClosed(sb.gone) {
			out = append(out, sandboxOf(sb.rec))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// ListContainers implements runtime.Runtime.
func (r *Runtime) ListContainers(ctx context.Context, podUID string) ([]runtime.ContainerStatus, error) {
	r.mu.Lock()
	var recs []*containerRecord
	for _, c := range r.containers {
		if c.PodUID == podUID {
			recs = append(recs, c)
		}
	}
	r.mu.Unlock()
	out := make([]runtime.ContainerStatus, 0, len(recs))
	for _, c := range recs {
		out = append(out, r.toStatus(c, r.readStatus(c)))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// StopContainer implements runtime.Runtime.
func (r *Runtime) StopContainer(ctx context.Context, containerID string, grace time.Duration) error {
	rec, err := r.record(containerID)
	if err != nil {
		return err
	}
	if r.readStatus(rec).State == runtime.StateExited {
		return nil
	}
	sb := r.sandbox(rec.PodUID)
	if sb == nil || isClosed(sb.gone) {
		return nil // the sandbox is gone and its processes with it
	}
	errc := make(chan error, 1)
	go func() {
		_, err := call(r.l.sock(rec.PodUID), request{Op: opStop, ID: containerID, Grace: grace})
		errc <- err
	}()
	select {
	case err := <-errc:
		if err != nil && r.readStatus(rec).State != runtime.StateExited {
			return fmt.Errorf("stop container %s: %w", containerID, err)
		}
		return nil
	case <-sb.gone:
		return nil
	case <-r.closing:
		return errClosed
	case <-ctx.Done():
		return fmt.Errorf("stop container %s: %w", containerID, ctx.Err())
	}
}

// RemoveContainer implements runtime.Runtime.
func (r *Runtime) RemoveContainer(ctx context.Context, containerID string) error {
	rec, err := r.record(containerID)
	if err != nil {
		return err
	}
	st := r.readStatus(rec)
	if st.State == runtime.StateRunning {
		if sb := r.sandbox(rec.PodUID); sb != nil && !isClosed(sb.gone) {
			return fmt.Errorf("remove container %s: it is running; stop it first", containerID)
		}
	}
	if sb := r.sandbox(rec.PodUID); sb != nil && !isClosed(sb.gone) {
		call(r.l.sock(rec.PodUID), request{Op: "remove", ID: containerID})
	}
	r.mu.Lock()
	delete(r.containers, containerID)
	r.mu.Unlock()
	rec.Cgroup.remove()
	if err := errors.Join(os.RemoveAll(r.l.ctrDir(containerID)), os.Remove(r.l.statusPath(containerID))); err != nil && !isNotExist(err) {
		return fmt.Errorf("remove container %s: %w", containerID, err)
	}
	r.emit(runtime.Event{PodUID: rec.PodUID, ContainerID: containerID})
	return nil
}
