package fake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"

	"petset/internal/agent/runtime"
)

// Config tunes the simulated lifecycle.
type Config struct {
	// PodCIDR is the range pod IPs come from, e.g. "10.88.1.0/24". Empty
	// means 10.88.0.0/16.
	PodCIDR string
	// StartDelay is how long a container stays Created before Running.
	StartDelay time.Duration
	// StopDelay is how long a container takes to exit after SIGTERM.
	StopDelay time.Duration
	// ReadyDelay is how long a container must run before Probe passes.
	ReadyDelay time.Duration
	// InitDuration is how long an init container (ContainerConfig.Init)
	// runs before it completes with exit code 0.
	InitDuration time.Duration
	// Clock drives every timer; nil means the real clock.
	Clock clock.WithDelayedExecution
}

// Runtime is the simulated runtime. Create it with New.
type Runtime struct {
	cfg    Config
	clock  clock.WithDelayedExecution
	prefix netip.Prefix
	last   netip.Addr // broadcast address, never handed out
	events chan runtime.Event

	mu         sync.Mutex
	nextIP     netip.Addr
	usedIPs    map[netip.Addr]string // ip -> pod UID
	sandboxes  map[string]*sandbox   // pod UID -> sandbox
	containers map[string]*container // container ID -> container
	seq        int
}

type sandbox struct {
	cfg runtime.SandboxConfig
	sb  runtime.Sandbox
}

type container struct {
	st      runtime.ContainerStatus
	cfg     runtime.ContainerConfig
	log     bytes.Buffer
	timer   clock.Timer
	exited  chan struct{} // closed on exit
	stopped bool          // SIGTERM sent
	exitAt  time.Time     // when a stopped container exits (by itself or killed)
}

// New returns a runtime with no sandboxes.
func New(cfg Config) (*Runtime, error) {
	cidr := cfg.PodCIDR
	if cidr == "" {
		cidr = "10.88.0.0/16"
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("fake runtime: pod CIDR %q: %w", cidr, err)
	}
	p = p.Masked()
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	last, _ := netip.AddrFromSlice(b)
	return &Runtime{
		last:       last,
		cfg:        cfg,
		clock:      clk,
		prefix:     p,
		events:     make(chan runtime.Event, 4096),
		nextIP:     p.Addr().Next().Next(),
		usedIPs:    map[netip.Addr]string{},
		sandboxes:  map[string]*sandbox{},
		containers: map[string]*container{},
	}, nil
}

var _ runtime.Runtime = (*Runtime)(nil)

func (r *Runtime) emit(podUID, id string) {
	select {
	case r.events <- runtime.Event{PodUID: podUID, ContainerID: id}:
	default:
	}
}

// allocIP returns a free address of the pod CIDR; r.mu is held.
func (r *Runtime) allocIP(uid string) (string, error) {
	start := r.nextIP
	for {
		ip := r.nextIP
		n := ip.Next()
		if !r.prefix.Contains(n) || !n.IsValid() {
			n = r.prefix.Addr().Next().Next()
		}
		r.nextIP = n
		if r.prefix.Contains(ip) && ip != r.last {
			if _, used := r.usedIPs[ip]; !used {
				r.usedIPs[ip] = uid
				return ip.String(), nil
			}
		}
		if r.nextIP == start {
			return "", fmt.Errorf("fake runtime: pod CIDR %s is exhausted", r.prefix)
		}
	}
}

// RunSandbox creates the pod's sandbox or returns the existing one.
func (r *Runtime) RunSandbox(_ context.Context, cfg runtime.SandboxConfig) (runtime.Sandbox, error) {
	if cfg.UID == "" {
		return runtime.Sandbox{}, errors.New("fake runtime: sandbox needs a pod UID")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.sandboxes[cfg.UID]; ok {
		// The pod's annotations as they are now: a simulated outcome set
		// on a running pod applies to its running containers.
		s.cfg.Annotations = cfg.Annotations
		for _, c := range r.containers {
			if c.st.PodUID == cfg.UID && c.st.State == runtime.StateRunning {
				r.simulateLocked(c, r.clock.Now())
			}
		}
		return s.sb, nil
	}
	sb := runtime.Sandbox{UID: cfg.UID, Namespace: cfg.Namespace, Name: cfg.Name, CreatedAt: r.clock.Now()}
	if !cfg.HostNetwork {
		ip, err := r.allocIP(cfg.UID)
		if err != nil {
			return runtime.Sandbox{}, err
		}
		sb.IP = ip
	}
	r.sandboxes[cfg.UID] = &sandbox{cfg: cfg, sb: sb}
	return sb, nil
}

// StopSandbox kills the sandbox's containers (immediately) and forgets it.
func (r *Runtime) StopSandbox(_ context.Context, podUID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.sandboxes[podUID]
	if !ok {
		return nil
	}
	for _, c := range r.containers {
		if c.st.PodUID == podUID && c.st.State != runtime.StateExited {
			r.exitLocked(c, r.clock.Now(), 137, "Error", "sandbox stopped")
		}
	}
	if s.sb.IP != "" {
		if a, err := netip.ParseAddr(s.sb.IP); err == nil {
			delete(r.usedIPs, a)
		}
	}
	delete(r.sandboxes, podUID)
	return nil
}

func logf(c *container, at time.Time, format string, args ...any) {
	fmt.Fprintf(&c.log, "%s %s\n", at.UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, args...))
}

// StartContainer records a Created container that turns Running after
// Config.StartDelay.
func (r *Runtime) StartContainer(_ context.Context, podUID string, cfg runtime.ContainerConfig) (runtime.ContainerStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sandboxes[podUID]; !ok {
		return runtime.ContainerStatus{}, fmt.Errorf("fake runtime: sandbox %s: %w", podUID, runtime.ErrNotFound)
	}
	r.seq++
	id := fmt.Sprintf("sim-%s-%s-%d-%d", shortUID(podUID), cfg.Name, cfg.Attempt, r.seq)
	c := &container{
		cfg:    cfg,
		exited: make(chan struct{}),
		st: runtime.ContainerStatus{
			ID: id, PodUID: podUID, Name: cfg.Name, Attempt: cfg.Attempt,
			State: runtime.StateCreated, CreatedAt: r.clock.Now(),
		},
	}
	r.containers[id] = c
	now := r.clock.Now()
	logf(c, now, "simulated container %s created (argv %q)", cfg.Name, cfg.Argv)
	pid := 100000 + r.seq
	// Timer callbacks must not read the clock (a fake clock runs them while
	// holding its lock), so they use the time they were scheduled for.
	run := func(at time.Time) {
		c.st.State = runtime.StateRunning
		c.st.StartedAt = at
		c.st.PID = pid
		logf(c, at, "simulated container %s running", cfg.Name)
		if cfg.Init || r.jobPodLocked(podUID) {
			r.completeInit(c, at)
		}
		r.simulateLocked(c, at)
	}
	if r.cfg.StartDelay <= 0 {
		run(now)
	} else {
		at := now.Add(r.cfg.StartDelay)
		c.timer = r.clock.AfterFunc(r.cfg.StartDelay, r.later(func() {
			if c.st.State == runtime.StateCreated {
				c.timer = nil
				run(at)
				r.emit(podUID, id)
			}
		}))
	}
	r.emit(podUID, id)
	return c.st, nil
}

// completeInit schedules an init container's successful exit
// Config.InitDuration after it started running at; r.mu is held.
func (r *Runtime) completeInit(c *container, at time.Time) {
	end := at.Add(r.cfg.InitDuration)
	d := end.Sub(r.clock.Now())
	if d <= 0 {
		r.exitLocked(c, end, 0, "Completed", "")
		return
	}
	c.timer = r.clock.AfterFunc(d, r.later(func() {
		if c.st.State == runtime.StateRunning && !c.stopped {
			c.timer = nil
			r.exitLocked(c, end, 0, "Completed", "")
		}
	}))
}

// SimulateAnnotation is the annotation users steer simulated nodes with:
// on a pod "fail" or "succeed" (read from SandboxConfig.Annotations), on a
// Node "stop-heartbeat" (read by CutOff).
const SimulateAnnotation = "petset.io/simulate"

// jobNameLabel is the label kube's API server puts on every Job's pods.
const jobNameLabel = "batch.kubernetes.io/job-name"

// simulateLocked makes a running container exit as its pod's
// SimulateAnnotation says ("fail": 1, "succeed": 0), at; r.mu is held.
func (r *Runtime) simulateLocked(c *container, at time.Time) {
	if c.st.State != runtime.StateRunning {
		return
	}
	s, ok := r.sandboxes[c.st.PodUID]
	if !ok {
		return
	}
	code := -1
	switch s.cfg.Annotations[SimulateAnnotation] {
	case "fail":
		code = 1
	case "succeed":
		code = 0
	}
	if code >= 0 {
		r.exitLocked(c, at, code, exitReason(code), "simulated exit")
	}
}

// jobPodLocked reports whether a sandbox is a Job's pod (label
// batch.kubernetes.io/job-name) that SimulateAnnotation does not steer:
// its containers complete as init containers do, so Jobs finish on
// simulated nodes; r.mu is held.
func (r *Runtime) jobPodLocked(podUID string) bool {
	s, ok := r.sandboxes[podUID]
	if !ok {
		return false
	}
	_, steered := s.cfg.Annotations[SimulateAnnotation]
	_, job := s.cfg.Labels[jobNameLabel]
	return job && !steered
}

// CutOff reports whether a simulated node is told to behave as cut off
// from the API (SimulateAnnotation "stop-heartbeat" on the Node): its agent
// then renews no lease and posts no status until the annotation goes.
func CutOff(n *corev1.Node) bool {
	return n != nil && n.Annotations[SimulateAnnotation] == "stop-heartbeat"
}

// later wraps a timer callback: it runs f with r.mu held on a goroutine of
// its own, because a fake clock runs callbacks while holding its lock and
// r.mu is held while the clock is read elsewhere.
func (r *Runtime) later(f func()) func() {
	return func() {
		go func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			f()
		}()
	}
}

// exitLocked marks c exited; r.mu is held.
func (r *Runtime) exitLocked(c *container, now time.Time, code int, reason, msg string) {
	if c.st.State == runtime.StateExited {
		return
	}
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.st.StartedAt.IsZero() {
		c.st.StartedAt = now
	}
	c.st.State = runtime.StateExited
	c.st.FinishedAt = now
	c.st.ExitCode = code
	c.st.Reason = reason
	c.st.Message = msg
	c.st.PID = 0
	if msg == "" {
		logf(c, now, "simulated container %s exited with code %d", c.cfg.Name, code)
	} else {
		logf(c, now, "simulated container %s exited with code %d (%s)", c.cfg.Name, code, msg)
	}
	close(c.exited)
	r.emit(c.st.PodUID, c.st.ID)
}

func exitReason(code int) string {
	if code == 0 {
		return "Completed"
	}
	return "Error"
}

// Exit makes a container exit with code, as if its process had ended on
// its own. A Created container exits without running.
func (r *Runtime) Exit(containerID string, code int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[containerID]
	if !ok {
		return fmt.Errorf("fake runtime: container %s: %w", containerID, runtime.ErrNotFound)
	}
	r.exitLocked(c, r.clock.Now(), code, exitReason(code), "simulated exit")
	return nil
}

// StopContainer "sends SIGTERM": the container exits with code 0 after
// Config.StopDelay, or with 137 once grace has passed, whichever is first.
func (r *Runtime) StopContainer(ctx context.Context, containerID string, grace time.Duration) error {
	r.mu.Lock()
	c, ok := r.containers[containerID]
	if !ok {
		r.mu.Unlock()
		return fmt.Errorf("fake runtime: container %s: %w", containerID, runtime.ErrNotFound)
	}
	if c.st.State != runtime.StateExited {
		now := r.clock.Now()
		if !c.stopped {
			logf(c, now, "simulated container %s received SIGTERM", c.cfg.Name)
		}
		// The container exits StopDelay after its first SIGTERM, or is
		// killed when the grace period ends, whichever comes first; a later
		// stop with a shorter grace period (a force delete) kills earlier.
		code, reason, msg, at := 0, "Completed", "stopped", now.Add(r.cfg.StopDelay)
		if c.stopped {
			at = c.exitAt
		}
		if kill := now.Add(grace); kill.Before(at) {
			code, reason, msg, at = 137, "Error", "killed after the grace period", kill
		}
		if !c.stopped || at.Before(c.exitAt) {
			c.stopped = true
			c.exitAt = at
			if c.timer != nil {
				c.timer.Stop()
				c.timer = nil
			}
			if d := at.Sub(now); d <= 0 {
				r.exitLocked(c, now, code, reason, msg)
			} else {
				c.timer = r.clock.AfterFunc(d, r.later(func() {
					c.timer = nil
					r.exitLocked(c, at, code, reason, msg)
				}))
			}
		}
	}
	exited := c.exited
	r.mu.Unlock()
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("fake runtime: stopping %s: %w", containerID, ctx.Err())
	}
}

// RemoveContainer forgets an exited container.
func (r *Runtime) RemoveContainer(_ context.Context, containerID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[containerID]
	if !ok {
		return nil
	}
	if c.st.State != runtime.StateExited {
		return fmt.Errorf("fake runtime: container %s is %s, not exited", containerID, c.st.State)
	}
	delete(r.containers, containerID)
	return nil
}

// ListSandboxes lists the sandboxes, oldest first.
func (r *Runtime) ListSandboxes(context.Context) ([]runtime.Sandbox, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]runtime.Sandbox, 0, len(r.sandboxes))
	for _, s := range r.sandboxes {
		out = append(out, s.sb)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].CreatedAt.Before(out[j].CreatedAt) || (out[i].CreatedAt.Equal(out[j].CreatedAt) && out[i].UID < out[j].UID)
	})
	return out, nil
}

// ListContainers lists one sandbox's containers, exited ones included.
func (r *Runtime) ListContainers(_ context.Context, podUID string) ([]runtime.ContainerStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runtime.ContainerStatus
	for _, c := range r.containers {
		if c.st.PodUID == podUID {
			out = append(out, c.st)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Attempt < out[j].Attempt
	})
	return out, nil
}

// ContainerStatus reports one container.
func (r *Runtime) ContainerStatus(_ context.Context, containerID string) (runtime.ContainerStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[containerID]
	if !ok {
		return runtime.ContainerStatus{}, fmt.Errorf("fake runtime: container %s: %w", containerID, runtime.ErrNotFound)
	}
	return c.st, nil
}

// Exec runs one of the few simulated commands (see the package comment).
func (r *Runtime) Exec(_ context.Context, containerID string, argv []string, s runtime.Streams) (int, error) {
	r.mu.Lock()
	c, ok := r.containers[containerID]
	if !ok {
		r.mu.Unlock()
		return -1, fmt.Errorf("fake runtime: container %s: %w", containerID, runtime.ErrNotFound)
	}
	if c.st.State != runtime.StateRunning {
		r.mu.Unlock()
		return -1, fmt.Errorf("fake runtime: container %s is not running", containerID)
	}
	hostname := ""
	if sb, ok := r.sandboxes[c.st.PodUID]; ok {
		hostname = sb.cfg.Hostname
	}
	env := append([]string(nil), c.cfg.Env...)
	r.mu.Unlock()

	out := s.Stdout
	if out == nil {
		out = io.Discard
	}
	if len(argv) == 0 {
		return 126, errors.New("simulated node: exec of an empty command not supported")
	}
	switch argv[0] {
	case "hostname":
		fmt.Fprintln(out, hostname)
		return 0, nil
	case "cat":
		if len(argv) == 1 && s.Stdin != nil {
			if _, err := io.Copy(out, s.Stdin); err != nil {
				return 1, fmt.Errorf("simulated cat: %w", err)
			}
			return 0, nil
		}
		if len(argv) == 1 {
			return 0, nil
		}
	case "echo":
		fmt.Fprintln(out, strings.Join(argv[1:], " "))
		return 0, nil
	case "true":
		return 0, nil
	case "false":
		return 1, nil
	case "env":
		for _, e := range env {
			fmt.Fprintln(out, e)
		}
		return 0, nil
	case "sh", "/bin/sh":
		if len(argv) == 3 && argv[1] == "-c" {
			f := strings.Fields(argv[2])
			if len(f) == 2 && f[0] == "exit" {
				if n, err := strconv.Atoi(f[1]); err == nil {
					return n, nil
				}
			}
		}
	}
	return 126, fmt.Errorf("simulated node: exec of %q not supported", strings.Join(argv, " "))
}

// Attach waits until the container exits: a simulated process reads no
// input and writes no output.
func (r *Runtime) Attach(ctx context.Context, containerID string, _ runtime.Streams) error {
	r.mu.Lock()
	c, ok := r.containers[containerID]
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("fake runtime: container %s: %w", containerID, runtime.ErrNotFound)
	}
	select {
	case <-c.exited:
		return nil
	case <-ctx.Done():
		return nil
	}
}

// Logs writes the container's state-change lines. Follow is not supported
// beyond what has been logged so far.
func (r *Runtime) Logs(_ context.Context, containerID string, opts runtime.LogOptions, w io.Writer) error {
	r.mu.Lock()
	c, ok := r.containers[containerID]
	var data []byte
	if ok {
		data = append([]byte(nil), c.log.Bytes()...)
	}
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("fake runtime: container %s: %w", containerID, runtime.ErrNotFound)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var sel []string
	for _, l := range lines {
		ts, rest, _ := strings.Cut(l, " ")
		if opts.SinceTime != nil {
			if t, err := time.Parse(time.RFC3339Nano, ts); err == nil && t.Before(*opts.SinceTime) {
				continue
			}
		}
		if opts.Timestamps {
			sel = append(sel, l)
		} else {
			sel = append(sel, rest)
		}
	}
	if opts.TailLines != nil && int64(len(sel)) > *opts.TailLines {
		sel = sel[int64(len(sel))-*opts.TailLines:]
	}
	out := []byte(strings.Join(sel, ""))
	if opts.LimitBytes != nil && int64(len(out)) > *opts.LimitBytes {
		out = out[:*opts.LimitBytes]
	}
	_, err := w.Write(out)
	return err
}

// Events delivers change notifications.
func (r *Runtime) Events() <-chan runtime.Event { return r.events }

// Probe reports whether a simulated probe of the container passes: it does
// once the container has been running for Config.ReadyDelay.
func (r *Runtime) Probe(_ context.Context, containerID string) (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[containerID]
	if !ok || c.st.State != runtime.StateRunning {
		return false, "simulated container is not running"
	}
	if r.clock.Since(c.st.StartedAt) < r.cfg.ReadyDelay {
		return false, "simulated container is not ready yet"
	}
	return true, ""
}

// SandboxConfig returns the configuration a sandbox was created with.
func (r *Runtime) SandboxConfig(podUID string) (runtime.SandboxConfig, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.sandboxes[podUID]
	if !ok {
		return runtime.SandboxConfig{}, false
	}
	return s.cfg, true
}

// ContainerConfig returns the configuration a container was started with.
func (r *Runtime) ContainerConfig(containerID string) (runtime.ContainerConfig, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[containerID]
	if !ok {
		return runtime.ContainerConfig{}, false
	}
	return c.cfg, true
}

func shortUID(uid string) string {
	if len(uid) > 8 {
		return uid[:8]
	}
	return uid
}
