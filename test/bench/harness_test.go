package bench

// The bench's clusters: `petset up` from the shared process harness
// (petset/test/harness: the built binary, its own data dir, port, bridge and
// pod CIDR, start-up times, a stop by PID and removal of the bridge), with
// its nodes Ready and client-go against the kubeconfig it writes.

import (
	"petset/test/bench/workload"

	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"petset/test/harness"
)

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m))
}

// node says what kind of node `petset up` runs.
type node struct {
	simulate int // >0: that many simulated nodes; 0: a real local node
	// extra flags, e.g. the simulated delays
	flags []string
}

// realNode is a real local node: pods are isolated Linux processes. No
// forwarding to the host's resolvers: benchmarks send traffic only to
// loopback and the namespaces they made.
var realNode = node{flags: []string{"--dns-forward", "none"}}

// simulatedNodes is the peer's setting: 10 nodes whose pods turn Ready about
// 80 ms after they start (kwok in peer.md: 50–80 ms).
var simulatedNodes = node{simulate: 10, flags: []string{
	"--simulate-start-delay", "50ms",
	"--simulate-ready-delay", "30ms",
	"--simulate-stop-delay", "10ms",
}}

// args are petset up's flags for n.
// With PETSET_BENCH_PPROF=host:port (loopback), petset up also serves its
// profiles there (--profiling-address), to be fetched while a workload runs.
func (n node) args() []string {
	args := append([]string(nil), n.flags...)
	if n.simulate > 0 {
		args = append([]string{"--simulate-nodes", fmt.Sprint(n.simulate)}, args...)
	}
	if addr := os.Getenv("PETSET_BENCH_PPROF"); addr != "" {
		args = append(args, "--profiling-address", addr)
	}
	return args
}

// cluster is one `petset up` and when its nodes were Ready.
type cluster struct {
	*harness.Up
	tb           testing.TB
	node         node
	nodesReadyAt time.Time // all nodes Ready (waitNodes)
}

// startCluster starts `petset up` on a fresh data dir, waits for its ready
// line, /readyz and its nodes' Ready condition.
func startCluster(tb testing.TB, n node) *cluster {
	tb.Helper()
	c := &cluster{Up: harness.NewUp(tb, n.args()...), tb: tb, node: n}
	c.TimeReadyz = true
	c.Start(tb)
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
	nodes, err := workload.TrackNodes(ctx, c.client())
	if err != nil {
		c.tb.Fatalf("nodes: %v", err)
	}
	at, err := nodes.WaitUntil(ctx, 3*time.Minute, workload.NodesReady(want))
	if err != nil {
		c.tb.Fatalf("nodes not Ready: %v", err)
	}
	c.nodesReadyAt = at
}

// stop stops petset up by PID (its pods with it); safe to repeat.
func (c *cluster) stop() { c.Stop(c.tb) }

// restart stops petset up and starts it again on the same data dir.
func (c *cluster) restart() {
	c.Stop(c.tb)
	c.Start(c.tb)
}

// config is a client-go config from the kubeconfig petset wrote, with the
// client-side rate limit lifted so the server is what is measured.
func (c *cluster) config() *rest.Config {
	cfg := c.RESTConfig(c.tb)
	cfg.QPS = 5000
	cfg.Burst = 10000
	return cfg
}

func (c *cluster) client() kubernetes.Interface { return harness.Clientset(c.tb, c.config()) }

// pid is petset up's process id.
func (c *cluster) pid() int { return c.Process.Pid() }

func seconds(d time.Duration) float64 { return d.Seconds() }
func millis(d time.Duration) float64  { return float64(d) / float64(time.Millisecond) }
