package e2e

// The e2e framework: the built petset binary as a real process, the real
// kubectl binaries against it, and bounded waits for conditions. Later test
// files in this package (pod-running tests with `petset up`) reuse these
// helpers: StartServer / StartProcess, Kubectls, Cluster.Kubectl,
// WaitFor.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"petset/internal/testenv"
)

// petsetBin is the binary under test: $PETSET_BIN, or built once by TestMain.
var petsetBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if host := os.Getenv(etcdAttackEnv); host != "" {
		return runEtcdAttack(host)
	}
	if p := os.Getenv("PETSET_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: PETSET_BIN: %v\n", err)
			return 1
		}
		petsetBin = abs
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "petset-e2e-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	petsetBin = filepath.Join(dir, "petset")
	build := exec.Command("go", "build", "-o", petsetBin, "./cmd/petset")
	build.Dir = root
	build.Stdout = os.Stderr
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building petset (set PETSET_BIN to skip): %v\n", err)
		return 1
	}
	return m.Run()
}

// inCI reports whether a skip of a required tier must fail instead.
func inCI() bool { return testenv.InCI() }

// skipOrFail skips the test, or fails it in CI where nothing required may be skipped.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	testenv.SkipOrFail(t, format, args...)
}

// Process is a started child process, stopped by its PID when the test ends.
type Process struct {
	Cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	done   chan struct{}
	err    error // valid after done is closed
}

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// StartProcess starts name with args and env (added to the test's
// environment) and registers a cleanup that stops it: SIGTERM, a bounded
// wait, then SIGKILL — by its PID only.
func StartProcess(t testing.TB, env []string, name string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &Process{Cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout = p.stdout
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.Stop(t) })
	return p
}

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
	case <-time.After(30 * time.Second):
	}
	t.Logf("pid %d did not stop on SIGTERM within 30s; killing it; stderr (tail):\n%s", p.Cmd.Process.Pid, tail(p.Stderr(), 4000))
	_ = p.Cmd.Process.Kill()
	<-p.done
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

// Stdout and Stderr return what the process has written so far.
func (p *Process) Stdout() string { return p.stdout.String() }
func (p *Process) Stderr() string { return p.stderr.String() }

// Cluster is a running petset API server and the credentials it wrote.
type Cluster struct {
	Dir        string // test-owned temp dir: data dir, kubectl caches, scratch files
	Kubeconfig string
	Server     string // https://127.0.0.1:port
	Token      string
	Process    *Process
}

var readyLine = regexp.MustCompile(`petset is ready; kubeconfig: (\S+)`)

// StartServer runs `petset server` on a free 127.0.0.1 port with a fresh data
// dir and returns once it printed its ready line. The server is stopped when
// the test ends.
func StartServer(t testing.TB) *Cluster {
	t.Helper()
	dir := t.TempDir()
	var lastErr string
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		data := filepath.Join(dir, fmt.Sprintf("data-%d", attempt))
		p := StartProcess(t, nil, petsetBin, "server", "--data-dir", data, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
		var kubeconfig string
		err := WaitFor(3*time.Minute, func() (bool, error) {
			if m := readyLine.FindStringSubmatch(p.Stdout()); m != nil {
				kubeconfig = m[1]
				return true, nil
			}
			if p.Exited() {
				return false, errors.New("server exited before it was ready")
			}
			return false, nil
		})
		if err == nil {
			c := &Cluster{Dir: dir, Kubeconfig: kubeconfig, Process: p}
			c.readKubeconfig(t)
			return c
		}
		p.Stop(t)
		lastErr = fmt.Sprintf("%v\nstderr (tail):\n%s", err, tail(p.Stderr(), 3000))
		if !strings.Contains(p.Stderr(), "address already in use") {
			break
		}
	}
	t.Fatalf("petset server did not become ready: %s", lastErr)
	return nil
}

// readKubeconfig pulls the server URL and token out of the written kubeconfig.
func (c *Cluster) readKubeconfig(t testing.TB) {
	t.Helper()
	data, err := os.ReadFile(c.Kubeconfig)
	if err != nil {
		t.Fatalf("read kubeconfig: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "server:"):
			c.Server = strings.TrimSpace(strings.TrimPrefix(line, "server:"))
		case strings.HasPrefix(line, "token:"):
			c.Token = strings.TrimSpace(strings.TrimPrefix(line, "token:"))
		}
	}
	if c.Server == "" || c.Token == "" {
		t.Fatalf("kubeconfig %s has no server or token:\n%s", c.Kubeconfig, data)
	}
}

func freePort(t testing.TB) int {
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

// Kubectl is one kubectl client binary: Path plus fixed leading Args (for `petset kubectl`).
type Kubectl struct {
	Name string // subtest name: "kubectl" (PATH dispatcher), "kubectl.1.27", …, "petset-kubectl"
	Path string
	Args []string
}

// kubectlMinors are the versioned kubectls beside the PATH kubectl.
var kubectlMinors = []int{27, 28, 29, 30, 31, 32, 33}

// Kubectls lists the clients under test: the kubectl on PATH, kubectl.1.27 …
// kubectl.1.33 in the folder it links into, and `petset kubectl`. A missing
// versioned binary is reported by a subtest that skips (fails in CI).
func Kubectls(t testing.TB) []Kubectl {
	t.Helper()
	var out []Kubectl
	path, err := exec.LookPath("kubectl")
	if err != nil {
		skipOrFail(t, "no kubectl on PATH: %v", err)
	}
	out = append(out, Kubectl{Name: "kubectl", Path: path})
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatalf("resolve %s: %v", path, err)
	}
	dir := filepath.Dir(real)
	for _, minor := range kubectlMinors {
		name := fmt.Sprintf("kubectl.1.%d", minor)
		out = append(out, Kubectl{Name: name, Path: filepath.Join(dir, name)})
	}
	out = append(out, Kubectl{Name: "petset-kubectl", Path: petsetBin, Args: []string{"kubectl"}})
	return out
}

// Available reports whether the binary exists and is executable.
func (k Kubectl) Available() bool {
	st, err := os.Stat(k.Path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Result is the outcome of one kubectl run.
type Result struct {
	Args   []string
	Stdout string
	Stderr string
	Err    error // non-nil when the command exited non-zero
}

// Combined is stdout followed by stderr.
func (r Result) Combined() string { return r.Stdout + r.Stderr }

func (r Result) String() string {
	return fmt.Sprintf("kubectl %s: err=%v\nstdout:\n%s\nstderr:\n%s",
		strings.Join(r.Args, " "), r.Err, tail(r.Stdout, 2000), tail(r.Stderr, 2000))
}

// Client is a kubectl bound to one cluster: its own discovery cache dir and HOME.
type Client struct {
	K       Kubectl
	c       *Cluster
	env     []string
	cache   string
	Timeout time.Duration // per invocation; the process is killed when it passes
}

// Kubectl returns k configured for the cluster: KUBECONFIG set to the
// written kubeconfig, and a cache dir (KUBECACHEDIR and --cache-dir) and
// HOME of its own under the cluster's dir, so discovery caches never leak
// between servers or clients.
func (c *Cluster) Kubectl(t testing.TB, k Kubectl) *Client {
	t.Helper()
	base := filepath.Join(c.Dir, "clients", k.Name)
	cache := filepath.Join(base, "cache")
	home := filepath.Join(base, "home")
	tmp := filepath.Join(base, "tmp")
	for _, d := range []string{cache, home, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &Client{
		K:       k,
		c:       c,
		cache:   cache,
		Timeout: 2 * time.Minute,
		env: []string{
			"KUBECONFIG=" + c.Kubeconfig,
			"KUBECACHEDIR=" + cache,
			"HOME=" + home,
			"TMPDIR=" + tmp, // kubectl edit keeps rejected edits here
			"KUBECTL_EXTERNAL_DIFF=",
		},
	}
}

// RunOpts are the less common knobs of one invocation.
type RunOpts struct {
	Stdin string
	Env   []string
}

// Run runs kubectl with args and returns its output; it never fails the test itself.
func (cl *Client) Run(args ...string) Result { return cl.RunWith(RunOpts{}, args...) }

// RunWith is Run with stdin and extra environment.
func (cl *Client) RunWith(o RunOpts, args ...string) Result {
	ctx, cancel := context.WithTimeout(context.Background(), cl.Timeout)
	defer cancel()
	full := append(append([]string{}, cl.K.Args...), "--cache-dir="+cl.cache)
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, cl.K.Path, full...)
	cmd.Env = append(append(os.Environ(), cl.env...), o.Env...)
	cmd.Stdin = strings.NewReader(o.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("killed after %v: %w", cl.Timeout, err)
	}
	return Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
}

// MustRun runs kubectl and fails the test if it exits non-zero.
func (cl *Client) MustRun(t testing.TB, args ...string) Result {
	t.Helper()
	r := cl.Run(args...)
	if r.Err != nil {
		t.Fatalf("%s", r)
	}
	return r
}

// MustFail runs kubectl, fails the test if it exits zero, and checks that
// the combined output holds every phrase.
func (cl *Client) MustFail(t testing.TB, phrases []string, args ...string) Result {
	t.Helper()
	r := cl.Run(args...)
	if r.Err == nil {
		t.Errorf("expected failure, got success: %s", r)
		return r
	}
	for _, p := range phrases {
		if !strings.Contains(r.Combined(), p) {
			t.Errorf("output lacks %q: %s", p, r)
		}
	}
	return r
}

// Start runs a long-lived kubectl (e.g. `get -w`) as a Process stopped by
// its PID when the test ends (or earlier with Stop).
func (cl *Client) Start(t testing.TB, args ...string) *Process {
	t.Helper()
	full := append(append([]string{}, cl.K.Args...), "--cache-dir="+cl.cache)
	full = append(full, args...)
	return StartProcess(t, cl.env, cl.K.Path, full...)
}

// GetJSON fetches one object with `get -o json` and decodes it.
func (cl *Client) GetJSON(t testing.TB, args ...string) map[string]any {
	t.Helper()
	r := cl.MustRun(t, append(append([]string{"get"}, args...), "-o", "json")...)
	var obj map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &obj); err != nil {
		t.Fatalf("decode %v: %v\n%s", args, err, tail(r.Stdout, 2000))
	}
	return obj
}

// JSONPath returns `get … -o jsonpath=<expr>` output.
func (cl *Client) JSONPath(t testing.TB, expr string, args ...string) string {
	t.Helper()
	r := cl.MustRun(t, append(append([]string{"get"}, args...), "-o", "jsonpath="+expr)...)
	return r.Stdout
}

// WaitGone waits until `get` reports NotFound for the object.
func (cl *Client) WaitGone(t testing.TB, timeout time.Duration, args ...string) {
	t.Helper()
	var last Result
	err := WaitFor(timeout, func() (bool, error) {
		last = cl.Run(append([]string{"get", "--ignore-not-found", "-o", "name"}, args...)...)
		if last.Err != nil {
			return false, nil
		}
		return strings.TrimSpace(last.Stdout) == "", nil
	})
	if err != nil {
		t.Fatalf("%v still present: %v; last: %s", args, err, last)
	}
}

// WaitJSONPath waits until jsonpath expr on the object equals want.
func (cl *Client) WaitJSONPath(t testing.TB, timeout time.Duration, expr, want string, args ...string) {
	t.Helper()
	var last Result
	err := WaitFor(timeout, func() (bool, error) {
		last = cl.Run(append(append([]string{"get"}, args...), "-o", "jsonpath="+expr)...)
		return last.Err == nil && last.Stdout == want, nil
	})
	if err != nil {
		t.Fatalf("%v: %s never became %q: %v; last: %s", args, expr, want, err, last)
	}
}

// WriteFile writes data into the cluster's scratch dir and returns its path.
func (c *Cluster) WriteFile(t testing.TB, name, data string) string {
	t.Helper()
	dir := filepath.Join(c.Dir, "files")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Header returns the first line of table output, its columns separated by single spaces.
func Header(out string) string {
	line, _, _ := strings.Cut(out, "\n")
	return strings.Join(strings.Fields(line), " ")
}

// Rows returns the table's data lines, each split into fields.
func Rows(out string) [][]string {
	var rows [][]string
	sc := bufio.NewScanner(strings.NewReader(out))
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		if f := strings.Fields(sc.Text()); len(f) > 0 {
			rows = append(rows, f)
		}
	}
	return rows
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
