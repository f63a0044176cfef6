package harness

// The kubectl runner: the clients under test (the kubectl on PATH, the
// versioned kubectl.1.27 … kubectl.1.33 beside it, `petset kubectl`), each
// bound to one cluster with caches of its own.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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
	path := LookTool(t, "kubectl")
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
	out = append(out, Kubectl{Name: "petset-kubectl", Path: Bin(), Args: []string{"kubectl"}})
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
		strings.Join(r.Args, " "), r.Err, Tail(r.Stdout, 2000), Tail(r.Stderr, 2000))
}

// Client is a kubectl bound to one cluster: its own discovery cache dir and HOME.
type Client struct {
	K       Kubectl
	c       *Cluster
	env     []string
	cache   string
	Timeout time.Duration // per invocation; the process is killed when it passes
	// plain: a client of the cluster that is not kubectl (helm), run
	// without kubectl's --cache-dir.
	plain bool
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

// Command is the kubectl command line for args with the client's cache dir
// and environment, for a caller that runs it itself (e.g. under a pty).
func (cl *Client) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, cl.K.Path, cl.args(args)...)
	cmd.Env = append(os.Environ(), cl.env...)
	return cmd
}

// args are the leading args of the client (for `petset kubectl`), its
// cache dir, then args.
func (cl *Client) args(args []string) []string {
	if cl.plain {
		return append(append([]string{}, cl.K.Args...), args...)
	}
	full := append(append([]string{}, cl.K.Args...), "--cache-dir="+cl.cache)
	return append(full, args...)
}

// RunWith is Run with stdin and extra environment.
func (cl *Client) RunWith(o RunOpts, args ...string) Result {
	ctx, cancel := context.WithTimeout(context.Background(), cl.Timeout)
	defer cancel()
	cmd := cl.Command(ctx, args...)
	cmd.Env = append(cmd.Env, o.Env...)
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
	return StartProcess(t, cl.env, cl.K.Path, cl.args(args)...)
}

// GetJSON fetches one object with `get -o json` and decodes it.
func (cl *Client) GetJSON(t testing.TB, args ...string) map[string]any {
	t.Helper()
	r := cl.MustRun(t, append(append([]string{"get"}, args...), "-o", "json")...)
	var obj map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &obj); err != nil {
		t.Fatalf("decode %v: %v\n%s", args, err, Tail(r.Stdout, 2000))
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
