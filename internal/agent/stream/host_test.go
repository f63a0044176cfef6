package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"k8s.io/client-go/rest"

	"petset/internal/agent/runtime"
	"petset/internal/agent/runtime/fake"
)

// hostRuntime is a runtime.Runtime for these tests: the simulated runtime
// keeps sandboxes and container states, while Exec runs real host
// processes (exit codes, stdin, stderr and terminals are real), Attach
// connects to a real host process started with startProcess, and Logs
// serves lines the test appends, following them until closeLog.
type hostRuntime struct {
	*fake.Runtime

	mu    sync.Mutex
	logs  map[string]*logStore
	procs map[string]*hostProc
}

type logLine struct {
	at   time.Time
	text string
}

type logStore struct {
	lines   []logLine
	done    bool
	changed chan struct{} // closed and replaced on every change
}

type hostProc struct {
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	stdout, stderr io.ReadCloser
}

func newHostRuntime(t *testing.T) *hostRuntime {
	t.Helper()
	f, err := fake.New(fake.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := &hostRuntime{Runtime: f, logs: map[string]*logStore{}, procs: map[string]*hostProc{}}
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, p := range r.procs {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return r
}

func (r *hostRuntime) store(id string) *logStore {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.logs[id]
	if s == nil {
		s = &logStore{changed: make(chan struct{})}
		r.logs[id] = s
	}
	return s
}

func (r *hostRuntime) appendLog(id string, at time.Time, text string) {
	s := r.store(id)
	r.mu.Lock()
	defer r.mu.Unlock()
	s.lines = append(s.lines, logLine{at: at, text: text})
	close(s.changed)
	s.changed = make(chan struct{})
}

func (r *hostRuntime) closeLog(id string) {
	s := r.store(id)
	r.mu.Lock()
	defer r.mu.Unlock()
	s.done = true
	close(s.changed)
	s.changed = make(chan struct{})
}

func (r *hostRuntime) Logs(ctx context.Context, id string, opts runtime.LogOptions, w io.Writer) error {
	if _, err := r.ContainerStatus(ctx, id); err != nil {
		return err
	}
	s := r.store(id)
	limit := int64(-1)
	if opts.LimitBytes != nil {
		limit = *opts.LimitBytes
	}
	emit := func(lines []logLine) (bool, error) {
		for _, l := range lines {
			if opts.SinceTime != nil && l.at.Before(*opts.SinceTime) {
				continue
			}
			out := l.text + "\n"
			if opts.Timestamps {
				out = l.at.UTC().Format(time.RFC3339Nano) + " " + out
			}
			if limit >= 0 && int64(len(out)) > limit {
				out = out[:limit]
			}
			if _, err := io.WriteString(w, out); err != nil {
				return false, err
			}
			if limit >= 0 {
				limit -= int64(len(out))
				if limit == 0 {
					return false, nil
				}
			}
		}
		return true, nil
	}
	r.mu.Lock()
	lines := append([]logLine(nil), s.lines...)
	changed, done := s.changed, s.done
	r.mu.Unlock()
	sent := len(lines)
	if opts.TailLines != nil && int64(len(lines)) > *opts.TailLines {
		lines = lines[int64(len(lines))-*opts.TailLines:]
	}
	if more, err := emit(lines); !more || err != nil || !opts.Follow {
		return err
	}
	for !done {
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		}
		r.mu.Lock()
		lines = append([]logLine(nil), s.lines[sent:]...)
		sent = len(s.lines)
		changed, done = s.changed, s.done
		r.mu.Unlock()
		if more, err := emit(lines); !more || err != nil {
			return err
		}
	}
	return nil
}

func (r *hostRuntime) running(ctx context.Context, id string) error {
	st, err := r.ContainerStatus(ctx, id)
	if err != nil {
		return err
	}
	if st.State != runtime.StateRunning {
		return fmt.Errorf("container %s is not running", id)
	}
	return nil
}

func (r *hostRuntime) Exec(ctx context.Context, id string, argv []string, s runtime.Streams) (int, error) {
	if err := r.running(ctx, id); err != nil {
		return -1, err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var err error
	if s.TTY {
		err = runWithTerminal(cmd, s)
	} else {
		if s.Stdin != nil {
			cmd.Stdin = s.Stdin
		}
		cmd.Stdout, cmd.Stderr = s.Stdout, s.Stderr
		// Stdin may stay open after the process is gone.
		cmd.WaitDelay = time.Second
		err = cmd.Run()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

func runWithTerminal(cmd *exec.Cmd, s runtime.Streams) error {
	master, err := pty.Start(cmd)
	if err != nil {
		return err
	}
	defer master.Close()
	if s.Stdin != nil {
		go io.Copy(master, s.Stdin)
	}
	// The resizer stops before the master is closed.
	stop := make(chan struct{})
	var resizer sync.WaitGroup
	defer resizer.Wait()
	defer close(stop)
	if s.Resize != nil {
		resizer.Add(1)
		go func() {
			defer resizer.Done()
			for {
				select {
				case sz := <-s.Resize:
					pty.Setsize(master, &pty.Winsize{Cols: sz.Width, Rows: sz.Height})
				case <-stop:
					return
				}
			}
		}()
	}
	out := s.Stdout
	if out == nil {
		out = io.Discard
	}
	// Reading the master ends (EIO) once the process and its terminal are gone.
	io.Copy(out, master)
	return cmd.Wait()
}

// startProcess starts the long-running host process Attach connects to.
func (r *hostRuntime) startProcess(t *testing.T, id, script string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.procs[id] = &hostProc{cmd: cmd, stdin: stdin, stdout: stdout, stderr: stderr}
	r.mu.Unlock()
}

func (r *hostRuntime) Attach(ctx context.Context, id string, s runtime.Streams) error {
	if err := r.running(ctx, id); err != nil {
		return err
	}
	r.mu.Lock()
	p := r.procs[id]
	r.mu.Unlock()
	if p == nil {
		return fmt.Errorf("no process for container %s", id)
	}
	if s.Stdin != nil {
		go func() {
			io.Copy(p.stdin, s.Stdin)
			p.stdin.Close()
		}()
	}
	var outs sync.WaitGroup
	for _, c := range []struct {
		from io.Reader
		to   io.Writer
	}{{p.stdout, s.Stdout}, {p.stderr, s.Stderr}} {
		to := c.to
		if to == nil {
			to = io.Discard
		}
		outs.Add(1)
		go func() {
			defer outs.Done()
			io.Copy(to, c.from)
		}()
	}
	done := make(chan struct{})
	go func() {
		outs.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return nil
	}
}

// testPods is the Pods of these tests: container IDs by namespace, pod and
// container name, oldest instance first.
type testPods struct {
	mu       sync.Mutex
	ids      map[string][]string
	declared map[string][]string // ns/pod -> container names, for ContainerNames
}

// podsWithSpec adds ContainerNames to testPods.
type podsWithSpec struct{ *testPods }

func (p podsWithSpec) ContainerNames(ns, pod string) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	names, ok := p.declared[ns+"/"+pod]
	if !ok {
		return nil, fmt.Errorf("pod %s/%s: %w", ns, pod, runtime.ErrNotFound)
	}
	return names, nil
}

func (p *testPods) add(ns, pod, container, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids == nil {
		p.ids = map[string][]string{}
	}
	k := ns + "/" + pod + "/" + container
	p.ids[k] = append(p.ids[k], id)
}

func (p *testPods) ContainerID(ns, pod, container string, previous bool) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := p.ids[ns+"/"+pod+"/"+container]
	i := len(ids) - 1
	if previous {
		i--
	}
	if i < 0 {
		return "", fmt.Errorf("container %q of pod %q: %w", container, pod, runtime.ErrNotFound)
	}
	return ids[i], nil
}

// addPod creates a host-network sandbox with one running container per name
// and registers them with pods.
func addPod(t *testing.T, rt runtime.Runtime, pods *testPods, ns, name string, containers ...string) map[string]string {
	t.Helper()
	ctx := context.Background()
	uid := ns + "-" + name + "-uid"
	if _, err := rt.RunSandbox(ctx, runtime.SandboxConfig{UID: uid, Namespace: ns, Name: name, Hostname: name, HostNetwork: true}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, c := range containers {
		st, err := rt.StartContainer(ctx, uid, runtime.ContainerConfig{Name: c, Argv: []string{"sleep", "infinity"}})
		if err != nil {
			t.Fatal(err)
		}
		pods.add(ns, name, c, st.ID)
		ids[c] = st.ID
	}
	return ids
}

// startServer runs a Server on 127.0.0.1:0 until the test ends and returns
// its base URL and a client config carrying the token.
func startServer(t *testing.T, rt runtime.Runtime, pods Pods) (string, *rest.Config) {
	t.Helper()
	s, err := New(serverConfig(t, pods, rt))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("Run ended before ready: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	base := fmt.Sprintf("https://127.0.0.1:%d", s.Port())
	return base, clientConfig(t, base, apiServerClient)
}

// serverConfig is a streaming server on 127.0.0.1:0 that accepts the API
// server's client certificate of the test cluster CA.
func serverConfig(t *testing.T, pods Pods, rt runtime.Runtime) Config {
	ca, _ := cas(t)
	return Config{Addr: "127.0.0.1:0", ClientCAs: ca.pool, AllowedClients: []string{apiServerClient}, Pods: pods, Runtime: rt}
}

// clientConfig is a client of base with a cluster-CA client certificate
// for cn (the server's self-signed certificate is not verified).
func clientConfig(t *testing.T, base, cn string) *rest.Config {
	ca, _ := cas(t)
	certPEM, keyPEM := ca.clientCert(t, cn)
	return &rest.Config{
		Host:            base,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true, CertData: certPEM, KeyData: keyPEM},
	}
}

// httpClient returns a client for cfg's server (TLS without verification).
func httpClient(t *testing.T, cfg *rest.Config) *http.Client {
	t.Helper()
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: tr}
}

// testContext bounds a test's waits for conditions.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
