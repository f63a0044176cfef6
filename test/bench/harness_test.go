package bench

// The harness: the built petset binary as a process, its ready line and
// /readyz, client-go against the kubeconfig it writes, and a clean stop by
// PID (plus removal of the bridge a real node created).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// petsetBin is the binary under test: $PETSET_BIN, or built once by TestMain.
var petsetBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if p := os.Getenv("PETSET_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: PETSET_BIN: %v\n", err)
			return 1
		}
		petsetBin = abs
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "petset-bench-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	petsetBin = filepath.Join(dir, "petset")
	build := exec.Command("go", "build", "-o", petsetBin, "./cmd/petset")
	build.Dir = root
	build.Stdout = os.Stderr
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: building petset (set PETSET_BIN to skip): %v\n", err)
		return 1
	}
	return m.Run()
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

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// node says what kind of node `petset up` runs.
type node struct {
	simulate int // >0: that many simulated nodes; 0: a real local node
	// extra flags, e.g. the simulated delays
	flags []string
}

// realNode is a real local node: pods are isolated Linux processes.
var realNode = node{}

// simulatedNodes is the peer's setting: 10 nodes whose pods turn Ready about
// 80 ms after they start (kwok in peer.md: 50–80 ms).
var simulatedNodes = node{simulate: 10, flags: []string{
	"--simulate-start-delay", "50ms",
	"--simulate-ready-delay", "30ms",
	"--simulate-stop-delay", "10ms",
}}

// network is the bridge and pod CIDR of one real node, unique per cluster.
type network struct {
	bridge string
	cidr   string
}

func newNetwork(tb testing.TB) network {
	var raw [3]byte
	if _, err := rand.Read(raw[:]); err != nil {
		tb.Fatalf("random: %v", err)
	}
	n, err := rand.Int(rand.Reader, big.NewInt(10))
	if err != nil {
		tb.Fatalf("random: %v", err)
	}
	return network{
		bridge: "pst" + hex.EncodeToString(raw[:]),
		cidr:   fmt.Sprintf("10.%d.%d.0/24", 210+n.Int64(), raw[0]),
	}
}

// cluster is one `petset up` process and what it wrote.
type cluster struct {
	tb      testing.TB
	dataDir string
	addr    string // 127.0.0.1:port
	node    node
	net     network

	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
	stdout *lockedBuffer

	started      time.Time // just before exec
	readyzAt     time.Time // first /readyz 200
	readyAt      time.Time // ready line read
	nodesReadyAt time.Time // all nodes Ready (waitNodes)
	kubeconfig   string
	ready        chan struct{} // closed when the ready line was read
	stdoutDone   chan struct{} // closed when the stdout reader ended
	readyz       chan struct{} // closed when /readyz first answered 200
}

var readyLine = regexp.MustCompile(`petset is ready; kubeconfig: (\S+)`)

// startCluster starts `petset up` on a fresh data dir and waits for its
// ready line and /readyz.
func startCluster(tb testing.TB, n node) *cluster {
	tb.Helper()
	c := &cluster{tb: tb, dataDir: filepath.Join(tb.TempDir(), "data"), node: n}
	if n.simulate == 0 {
		c.net = newNetwork(tb)
	}
	c.start()
	c.waitNodes()
	return c
}

// waitNodes waits for the cluster's nodes to be Ready, so that workloads are
// measured on a cluster that can run them, and records when they were.
func (c *cluster) waitNodes() {
	want := c.node.simulate
	if want == 0 {
		want = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nodes, err := trackNodes(ctx, c.client())
	if err != nil {
		c.tb.Fatalf("nodes: %v", err)
	}
	at, err := nodes.waitUntil(ctx, 3*time.Minute, nodesReady(want))
	if err != nil {
		c.tb.Fatalf("nodes not Ready: %v", err)
	}
	c.nodesReadyAt = at
}

func freeAddr(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start execs `petset up` on c's data dir (fresh or existing) and waits for
// it to be ready. A cleanup stops it by PID.
func (c *cluster) start() {
	tb := c.tb
	tb.Helper()
	c.addr = freeAddr(tb)
	args := []string{"up", "--data-dir", c.dataDir, "--listen", c.addr}
	if c.node.simulate > 0 {
		args = append(args, "--simulate-nodes", fmt.Sprint(c.node.simulate))
	} else {
		// No forwarding to the host's resolvers: benchmarks send traffic
		// only to loopback and the namespaces they made.
		args = append(args, "--bridge", c.net.bridge, "--pod-cidr", c.net.cidr, "--dns-forward", "none")
	}
	args = append(args, c.node.flags...)
	c.cmd = exec.Command(petsetBin, args...)
	c.stderr = &lockedBuffer{}
	c.stdout = &lockedBuffer{}
	c.cmd.Stderr = c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("stdout pipe: %v", err)
	}
	c.done = make(chan struct{})
	c.ready = make(chan struct{})
	c.stdoutDone = make(chan struct{})
	c.readyz = make(chan struct{})
	c.readyAt, c.readyzAt, c.kubeconfig = time.Time{}, time.Time{}, ""

	pollCtx, stopPoll := context.WithCancel(context.Background())
	defer stopPoll()
	go c.pollReadyz(pollCtx)

	c.started = time.Now()
	if err := c.cmd.Start(); err != nil {
		tb.Fatalf("start petset: %v", err)
	}
	tb.Cleanup(c.stop)
	go c.readStdout(out)
	go func() {
		_ = c.cmd.Wait()
		close(c.done)
	}()

	timeout := time.After(3 * time.Minute)
	for _, ch := range []chan struct{}{c.ready, c.readyz} {
		select {
		case <-ch:
		case <-c.done:
			tb.Fatalf("petset up exited before it was ready\nstderr (tail):\n%s", tail(c.stderr.String(), 3000))
		case <-timeout:
			tb.Fatalf("petset up not ready after 3m\nstderr (tail):\n%s", tail(c.stderr.String(), 3000))
		}
	}
}

func (c *cluster) readStdout(r io.Reader) {
	defer close(c.stdoutDone)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		now := time.Now()
		_, _ = c.stdout.Write([]byte(line + "\n"))
		if m := readyLine.FindStringSubmatch(line); m != nil && c.kubeconfig == "" {
			c.readyAt = now
			c.kubeconfig = m[1]
			close(c.ready)
		}
	}
}

// pollReadyz asks /readyz every few milliseconds until it answers 200.
func (c *cluster) pollReadyz(ctx context.Context) {
	client := &http.Client{
		Timeout:   time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true},
	}
	url := "https://" + c.addr + "/readyz"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return
		}
		res, err := client.Do(req)
		if err == nil {
			ok := res.StatusCode == http.StatusOK
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if ok {
				c.readyzAt = time.Now()
				close(c.readyz)
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// stopWait bounds the graceful stop of petset up.
const stopWait = 30 * time.Second

// stop sends SIGTERM to petset up, waits up to stopWait, then SIGKILLs it
// and the processes that were below it — by PID only — and removes the bridge its real node created. Safe to repeat.
func (c *cluster) stop() {
	select {
	case <-c.done:
	default:
		t0 := time.Now()
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
			c.tb.Logf("petset up (pid %d) stopped %.2fs after SIGTERM", c.cmd.Process.Pid, time.Since(t0).Seconds())
		case <-time.After(stopWait):
			c.tb.Logf("petset up (pid %d) did not stop on SIGTERM within %s; killing it and its processes", c.cmd.Process.Pid, stopWait)
			kids, _ := descendants(c.cmd.Process.Pid)
			_ = c.cmd.Process.Kill()
			<-c.done
			for _, p := range kids {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
		}
	}
	<-c.stdoutDone
	if c.net.bridge != "" {
		if _, err := net.InterfaceByName(c.net.bridge); err == nil {
			if out, err := exec.Command("ip", "link", "del", c.net.bridge).CombinedOutput(); err != nil {
				c.tb.Logf("removing bridge %s: %v: %s", c.net.bridge, err, out)
			}
		}
	}
}

// restart stops petset up and starts it again on the same data dir.
func (c *cluster) restart() {
	c.stop()
	c.start()
}

// config is a client-go config from the kubeconfig petset wrote, with the
// client-side rate limit lifted so the server is what is measured.
func (c *cluster) config() *rest.Config {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		c.tb.Fatalf("kubeconfig %s: %v", c.kubeconfig, err)
	}
	cfg.QPS = 5000
	cfg.Burst = 10000
	return cfg
}

func (c *cluster) client() kubernetes.Interface {
	cs, err := kubernetes.NewForConfig(c.config())
	if err != nil {
		c.tb.Fatalf("client: %v", err)
	}
	return cs
}

// pid is petset up's process id.
func (c *cluster) pid() int { return c.cmd.Process.Pid }

// durations summarises a sample.
type durations []time.Duration

func (d durations) sorted() durations {
	s := append(durations(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

// quantile is the nearest-rank q-quantile (0 < q ≤ 1) of d.
func (d durations) quantile(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := d.sorted()
	i := int(float64(len(s))*q+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

func (d durations) min() time.Duration { return d.quantile(0) }
func (d durations) max() time.Duration { return d.quantile(1) }

func (d durations) String() string {
	parts := make([]string, len(d))
	for i, x := range d {
		parts[i] = fmt.Sprintf("%.3fs", x.Seconds())
	}
	return strings.Join(parts, " ")
}

func seconds(d time.Duration) float64 { return d.Seconds() }
func millis(d time.Duration) float64  { return float64(d) / float64(time.Millisecond) }

// waitFor polls cond until it is true, fails, or the bound passes.
func waitFor(ctx context.Context, bound time.Duration, every time.Duration, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	for {
		ok, err := cond(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("condition not met within " + bound.String())
		case <-time.After(every):
		}
	}
}
