package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"petset/test/bench/workload"
)

// options are peerbench's flags.
type options struct {
	runs      int
	systems   string
	peerBin   string
	petsetBin string
	repo      string
	dataDir   string
	out       string
	report    string
	w3, w6    bool
	w6Size    string
	w6Runs    int
	w6Systems string
	w6Bound   time.Duration
	fromJSON  string
	pprof     string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "provision" {
		fs := flag.NewFlagSet("provision", flag.ExitOnError)
		kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the peer")
		_ = fs.Parse(os.Args[2:])
		_, cs, err := clientFor(*kubeconfig)
		if err == nil {
			err = provision(ctx, cs)
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			slog.Error("provisioner", "err", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.IntVar(&o.runs, "runs", 3, "runs of each system (each on a fresh cluster)")
	flag.StringVar(&o.systems, "systems", "peer-default,peer-tuned,petset", "systems to measure, in this order within each run")
	flag.StringVar(&o.peerBin, "peer-bin", "bin/peer", "directory of the peer's binaries (bench/peer/build.sh)")
	flag.StringVar(&o.petsetBin, "petset-bin", "bin/petset", "the petset binary")
	flag.StringVar(&o.repo, "repo", ".", "the petset repository (examples/kubia, docs/bench)")
	flag.StringVar(&o.dataDir, "data-dir", "/tmp/peer-run", "the clusters' data and logs (emptied per run)")
	flag.StringVar(&o.out, "out", "/tmp/peer-results", "where results.json and the plot go before the report")
	flag.StringVar(&o.report, "report", "docs/bench/REPORT.md", "report to write the side-by-side section into (empty: none)")
	flag.BoolVar(&o.w3, "w3", false, "also W3: 100 sets × 10, OrderedReady (minutes per run)")
	flag.BoolVar(&o.w6, "w6", false, "also W6, on a fresh cluster of 50 nodes per system: 100 sets × 100, Parallel, then a rollout of all with maxUnavailable 10")
	flag.StringVar(&o.w6Size, "w6-size", "100x100", "W6's SETSxREPLICAS (scaled down, e.g. 10x20)")
	flag.IntVar(&o.w6Runs, "w6-runs", 1, "W6 in the first this many runs only (W6 takes many minutes per system)")
	flag.StringVar(&o.w6Systems, "w6-systems", "", "systems that run W6 (default: all of -systems)")
	flag.DurationVar(&o.w6Bound, "w6-bound", 30*time.Minute, "how long each W6 phase may take; a system not done by then is reported with the pods or sets it finished")
	flag.StringVar(&o.fromJSON, "from", "", "write the report from this results.json instead of running")
	flag.StringVar(&o.pprof, "petset-pprof", "", "loopback host:port: petset serves pprof there and CPU profiles of its first 10 s of W2 and 30 s of W3 and a heap profile at the end of W3 are saved in -out as petset-w2-run<N>.pprof, petset-w3-run<N>.pprof and petset-w3-heap-run<N>.pprof")
	flag.Parse()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "peerbench:", err)
		os.Exit(1)
	}
}

// results is everything one invocation measured.
type results struct {
	Started  time.Time   `json:"started"`
	Finished time.Time   `json:"finished"`
	Machine  string      `json:"machine"`
	Commit   string      `json:"commit"`
	Runs     []runResult `json:"runs"`
	Failures []string    `json:"failures,omitempty"`
	// W6 is how W6 was run (nil without -w6).
	W6 *w6Plan `json:"w6,omitempty"`
}

// w6Plan is how W6 was run: its size, in which runs, on which systems, and
// each phase's bound.
type w6Plan struct {
	Size    string   `json:"size"`
	Runs    int      `json:"runs"`
	Systems []string `json:"systems"`
	BoundS  float64  `json:"boundSeconds"`
}

// runResult is one system's run on a fresh cluster.
type runResult struct {
	System   string             `json:"system"`
	Run      int                `json:"run"`
	StartupS float64            `json:"startupSeconds"`
	Seconds  map[string]float64 `json:"seconds"` // workload → seconds
	Detail   map[string]string  `json:"detail,omitempty"`
	Usage    map[string]usage   `json:"usage"` // process → CPU and RSS over the workloads
	// PerWorkload is each workload's own usage (workload → process →
	// usage), and Requests the API requests served during it.
	PerWorkload map[string]map[string]usage `json:"perWorkload,omitempty"`
	Requests    map[string]float64          `json:"requests,omitempty"`
	Pods        map[string]int              `json:"pods,omitempty"`       // workload → pods it made Ready (per-pod cost)
	RequestsBy  map[string][]string         `json:"requestsBy,omitempty"` // workload → top "VERB resource: N"
	W2ReadyAt   []float64                   `json:"w2ReadyAt,omitempty"`
	W6ReadyAt   []float64                   `json:"w6ReadyAt,omitempty"`
	// Unfinished are the workloads that reached their bound (workload →
	// how far they came); they have no Seconds.
	Unfinished map[string]unfinished `json:"unfinished,omitempty"`
	Err        string                `json:"error,omitempty"`
}

func run(ctx context.Context, o options) error {
	if o.fromJSON != "" {
		var r results
		b, err := os.ReadFile(o.fromJSON)
		if err != nil {
			return fmt.Errorf("read results: %w", err)
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("results: %w", err)
		}
		return writeReport(o, &r)
	}
	if err := checkPprof(o.pprof); err != nil {
		return fmt.Errorf("-petset-pprof: %w", err)
	}
	w6Sets, w6Replicas, err := parseSize(o.w6Size)
	if err != nil {
		return fmt.Errorf("-w6-size: %w", err)
	}
	w6On := map[string]bool{}
	for _, sys := range strings.Split(cmp.Or(o.w6Systems, o.systems), ",") {
		w6On[sys] = true
	}
	m, err := workload.LoadKubia(filepath.Join(o.repo, "examples", "kubia"))
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("own path: %w", err)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("out dir: %w", err)
	}
	res := &results{Started: time.Now().UTC(), Machine: machine(), Commit: commit(o.repo)}
	systems := strings.Split(o.systems, ",")
	if o.w6 {
		res.W6 = &w6Plan{Size: o.w6Size, Runs: min(o.w6Runs, o.runs), BoundS: o.w6Bound.Seconds()}
		for _, sys := range systems {
			if w6On[sys] {
				res.W6.Systems = append(res.W6.Systems, sys)
			}
		}
	}
	total := o.runs * len(systems)
	step := 0
	for r := 1; r <= o.runs; r++ {
		for _, sys := range systems {
			step++
			progress("[%d/%d] %s run %d: starting", step, total, sys, r)
			rr := runSystem(ctx, o, sys, r, self, m)
			if o.w6 && r <= o.w6Runs && w6On[sys] && rr.Err == "" && ctx.Err() == nil {
				runW6(ctx, o, sys, self, m, w6Sets, w6Replicas, &rr)
			}
			if rr.Err != "" {
				progress("[%d/%d] %s run %d: FAILED: %s", step, total, sys, r, firstLine(rr.Err))
				res.Failures = append(res.Failures, fmt.Sprintf("%s run %d: %s", sys, r, rr.Err))
			}
			res.Runs = append(res.Runs, rr)
			if err := saveJSON(filepath.Join(o.out, "results.json"), res); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	res.Finished = time.Now().UTC()
	if err := saveJSON(filepath.Join(o.out, "results.json"), res); err != nil {
		return err
	}
	progress("results: %s", filepath.Join(o.out, "results.json"))
	return writeReport(o, res)
}

// runSystem starts sys fresh, runs the workloads on it and stops it.
func runSystem(ctx context.Context, o options, sys string, r int, self string, m workload.Manifests) runResult {
	rr := runResult{System: sys, Run: r, Seconds: map[string]float64{}, Detail: map[string]string{},
		PerWorkload: map[string]map[string]usage{}, Requests: map[string]float64{}, RequestsBy: map[string][]string{}, Pods: map[string]int{}}
	t0 := time.Now()
	c, err := startSystem(ctx, o, sys, self, nodes)
	if err != nil {
		rr.Err = err.Error()
		return rr
	}
	defer c.stop()
	rr.StartupS = time.Since(t0).Seconds()
	progress("  %s up, nodes Ready after %.1f s", sys, rr.StartupS)
	s := startSampler(c.procs)
	err = workloads(ctx, o, c, m, &rr)
	rr.Usage = s.stop()
	if err != nil {
		rr.Err = err.Error()
	}
	return rr
}

// startSystem starts sys fresh with n simulated nodes.
func startSystem(ctx context.Context, o options, sys, self string, n int) (*cluster, error) {
	dir := filepath.Join(o.dataDir, sys)
	if n == w6Nodes {
		dir += "-w6"
	}
	switch sys {
	case "petset":
		var extra []string
		if n == w6Nodes {
			extra = petsetW6Capacity
		}
		return startPetset(ctx, o.petsetBin, dir, o.pprof, n, extra...)
	case peerDefault.name:
		return startPeer(ctx, o.peerBin, self, dir, peerDefault, n)
	case peerTuned.name:
		return startPeer(ctx, o.peerBin, self, dir, peerTuned, n)
	}
	return nil, fmt.Errorf("unknown system %q", sys)
}

// runW6 runs W6 (sets × replicas, then a rollout with maxUnavailable 10)
// on a fresh cluster of sys with w6Nodes nodes, recorded in rr as "W6"
// (create → all Ready) and "W6 rollout" (patch → all rolled out).
func runW6(ctx context.Context, o options, sys, self string, m workload.Manifests, sets, replicas int, rr *runResult) {
	fail := func(err error) {
		rr.Err = fmt.Sprintf("W6: %v", err)
	}
	c, err := startSystem(ctx, o, sys, self, w6Nodes)
	if err != nil {
		fail(err)
		return
	}
	defer c.stop()
	progress("  %s up for W6 with %d nodes", sys, w6Nodes)
	if err := workload.CreateNamespace(ctx, c.cs, "w6"); err != nil {
		fail(err)
		return
	}
	if err := waitServiceAccount(ctx, c.cs, "w6"); err != nil {
		fail(err)
		return
	}
	w, err := workload.NewBigRollout(ctx, c.cs, m, "w6", sets, replicas, o.w6Bound)
	if err != nil {
		fail(err)
		return
	}
	stop := reportProgress(sys, w)
	defer stop()
	mt := &meter{ctx: ctx, c: c, rr: rr}
	mt.begin()
	r, err := w.Create(ctx)
	for _, d := range r.ReadyAt {
		rr.W6ReadyAt = append(rr.W6ReadyAt, d.Seconds())
	}
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, workload.ErrBound) {
			mt.unfinished("W6", unfinished{Done: w.Progress().Ready, Of: w.Pods(), Unit: "pods Ready", AfterS: o.w6Bound.Seconds()})
			return
		}
		fail(err)
		return
	}
	mt.record("W6", r)
	rr.Pods["W6"] = w.Pods()
	mt.begin()
	if r, err = w.Rollout(ctx, 10); err != nil {
		if ctx.Err() == nil && errors.Is(err, workload.ErrBound) {
			p := w.Progress()
			mt.unfinished("W6 rollout", unfinished{Done: p.RolledOut, Of: sets, Unit: "sets rolled out", AfterS: o.w6Bound.Seconds(),
				Also: fmt.Sprintf("%d of %d pods updated", p.Updated, w.Pods())})
			return
		}
		fail(err)
		return
	}
	mt.record("W6 rollout", r)
}

// unfinished is how far a workload came before its bound.
type unfinished struct {
	Done   int     `json:"done"`
	Of     int     `json:"of"`
	Unit   string  `json:"unit"` // "pods Ready", "sets rolled out"
	AfterS float64 `json:"afterSeconds"`
	// Also is more of how far it came, in other units ("3412 of 10000
	// pods updated"); empty in results of runs before it was recorded.
	Also string `json:"also,omitempty"`
}

func (u unfinished) String() string {
	also := ""
	if u.Also != "" {
		also = " (" + u.Also + ")"
	}
	return fmt.Sprintf("not done: %d of %d %s%s at the %.0f s bound", u.Done, u.Of, u.Unit, also, u.AfterS)
}

// reportProgress prints W6's progress every 30 s until stop is called.
func reportProgress(sys string, w *workload.BigRollout) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p := w.Progress()
				progress("  %s W6: %d of %d pods Ready, %d pods updated, %d sets rolled out", sys, p.Ready, w.Pods(), p.Updated, p.RolledOut)
			}
		}
	}()
	return func() { close(done) }
}

// parseSize reads SETSxREPLICAS.
func parseSize(v string) (sets, replicas int, err error) {
	if _, err := fmt.Sscanf(v, "%dx%d", &sets, &replicas); err != nil || sets <= 0 || replicas <= 0 {
		return 0, 0, fmt.Errorf("%q: want SETSxREPLICAS, e.g. 10x20", v)
	}
	return sets, replicas, nil
}

// meter measures one workload on c: the CPU and memory of every process,
// and the API requests served, recorded in rr with its seconds.
type meter struct {
	ctx   context.Context
	c     *cluster
	rr    *runResult
	s     *sampler
	reqs0 float64
	by0   map[string]float64
}

func (m *meter) begin() {
	m.reqs0, m.by0, _ = apiRequests(m.ctx, m.c.cs)
	m.s = startSampler(m.c.procs)
}

func (m *meter) record(name string, r workload.Result) {
	rr := m.rr
	m.usage(name)
	rr.Seconds[name] = r.Took.Seconds()
	if r.Detail != "" {
		rr.Detail[name] = r.Detail
	}
	progress("  %s %s: %.2f s, %.0f API requests", rr.System, name, r.Took.Seconds(), rr.Requests[name])
}

// usage records the CPU and memory of every process and the API requests
// served since begin, as workload name's.
func (m *meter) usage(name string) {
	rr := m.rr
	rr.PerWorkload[name] = m.s.stop()
	if n, by, err := apiRequests(m.ctx, m.c.cs); err == nil && m.reqs0 > 0 {
		rr.Requests[name] = n - m.reqs0
		rr.RequestsBy[name] = topDiffs(m.by0, by, 16)
	} else if err != nil {
		progress("  %s %s: API requests not counted: %v", rr.System, name, err)
	}
}

// unfinished records a workload that reached its bound: its usage until
// then and how far it came, without seconds.
func (m *meter) unfinished(name string, u unfinished) {
	m.usage(name)
	if m.rr.Unfinished == nil {
		m.rr.Unfinished = map[string]unfinished{}
	}
	m.rr.Unfinished[name] = u
	progress("  %s %s: %s", m.rr.System, name, u)
}

// workloads runs W1, W2, W4, W5 (and W3) on one cluster, as peer.md orders
// them: W2, W4 and W5 on one set. Each is measured on its own too: the
// CPU and memory of every process, and the API requests served.
func workloads(ctx context.Context, o options, c *cluster, m workload.Manifests, rr *runResult) error {
	const bound = 5 * time.Minute
	cs := c.cs
	mt := &meter{ctx: ctx, c: c, rr: rr}
	begin, record := mt.begin, mt.record
	ns := func(name string) (string, error) {
		if err := workload.CreateNamespace(ctx, cs, name); err != nil {
			return "", err
		}
		return name, waitServiceAccount(ctx, cs, name)
	}
	w1, err := ns("w1")
	if err != nil {
		return err
	}
	begin()
	r, err := workload.W1(ctx, cs, m, w1, bound)
	if err != nil {
		return err
	}
	record("W1", r)
	rr.Pods["W1"] = 3
	w2, err := ns("w2")
	if err != nil {
		return err
	}
	set, err := workload.NewParallelSet(ctx, cs, m, w2, bound)
	if err != nil {
		return err
	}
	begin()
	if o.pprof != "" && c.system == "petset" {
		done := profile(ctx, o.pprof, 10, filepath.Join(o.out, fmt.Sprintf("petset-w2-run%d.pprof", rr.Run)))
		defer func() { <-done }()
	}
	if r, err = set.W2(ctx, 100); err != nil {
		return err
	}
	record("W2", r)
	rr.Pods["W2"] = 100
	for _, d := range r.ReadyAt {
		rr.W2ReadyAt = append(rr.W2ReadyAt, d.Seconds())
	}
	begin()
	if r, err = set.W4(ctx); err != nil {
		return err
	}
	record("W4", r)
	begin()
	if r, err = set.ScaleTo(ctx, 0); err != nil {
		return err
	}
	record("W5", r)
	if o.w3 {
		w3, err := ns("w3")
		if err != nil {
			return err
		}
		begin()
		if o.pprof != "" && c.system == "petset" {
			done := profile(ctx, o.pprof, 30, filepath.Join(o.out, fmt.Sprintf("petset-w3-run%d.pprof", rr.Run)))
			defer func() { <-done }()
		}
		if r, err = workload.W3(ctx, cs, m, w3, 100, 10, 15*time.Minute); err != nil {
			return err
		}
		record("W3", r)
		if o.pprof != "" && c.system == "petset" {
			<-heapProfile(ctx, o.pprof, filepath.Join(o.out, fmt.Sprintf("petset-w3-heap-run%d.pprof", rr.Run)))
		}
		rr.Pods["W3"] = 100 * 10
	}
	return nil
}

// waitServiceAccount waits (untimed in the results) for the namespace's
// default ServiceAccount, which pods need before they can be created.
func waitServiceAccount(ctx context.Context, cs kubernetes.Interface, ns string) error {
	return workload.WaitFor(ctx, time.Minute, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func saveJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// machine describes this machine: CPUs, memory, kernel, Go, load.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(l[strings.IndexByte(l, ':')+1:])
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0]); len(f) >= 2 {
			mem = f[1] + " kB RAM"
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load, _ := os.ReadFile("/proc/loadavg")
	return fmt.Sprintf("%d CPUs (%s), %s, Linux %s, %s, load average at start %s",
		runtime.NumCPU(), model, mem, strings.TrimSpace(string(kernel)), runtime.Version(),
		strings.Join(strings.Fields(string(load))[:3], " "))
}

// checkPprof refuses a profiling address petset could not serve: not a
// loopback host:port, or one of the ports the clusters listen on (petset
// then fails to start, its API server finding the port taken).
func checkPprof(addr string) error {
	if addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address", addr)
	}
	for _, p := range []int{etcdClientPort, etcdPeerPort, apiserverPort, kwokPort, petsetPort} {
		if port == strconv.Itoa(p) {
			return fmt.Errorf("port %s is one the clusters listen on (%d–%d, %d)", port, etcdClientPort, kwokPort, petsetPort)
		}
	}
	return nil
}
