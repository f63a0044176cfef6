package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"petset/internal/testenv"
	"petset/test/harness"
)

// The chaos test's environment: how many faults (PETSET_CHAOS_FAULTS, small
// by default so CI's run stays short) and a wall-clock bound on the fault
// phase (PETSET_CHAOS_BOUND, a Go duration), for the long run.
const (
	chaosFaultsEnv    = "PETSET_CHAOS_FAULTS"
	chaosBoundEnv     = "PETSET_CHAOS_BOUND"
	chaosDefaultBound = 20 * time.Minute
)

// chaosSets are the test's StatefulSets: seed 000's kubia, one ordered and
// one parallel, each with claims of the shared class.
var chaosSets = []struct {
	name, policy string
	replicas     int
	max          int // the largest scale the ops pick
}{
	{"kubia", "OrderedReady", 2, 3},
	{"kubip", "Parallel", 3, 4},
}

// chaosSet is a kubia set with claims of the "shared" StorageClass (they
// follow a pod to any node), soft anti-affinity (one pod per node while
// there are enough), its own headless Service, the pod template's env
// CHAOS_ROLL (a rollout changes it) and the failover opt-in.
func chaosSet(name, policy string, replicas int) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  clusterIP: None
  selector:
    app: %[1]s
  ports:
  - name: http
    port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: %[1]s
  annotations:
    petset.io/failover: auto
spec:
  serviceName: %[1]s
  replicas: %[3]d
  podManagementPolicy: %[2]s
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector:
                matchLabels:
                  app: %[1]s
              topologyKey: kubernetes.io/hostname
      containers:
      - name: kubia
        image: luksa/kubia-pet
        env:
        - name: CHAOS_ROLL
          value: "0"
        ports:
        - name: http
          containerPort: 8080
        volumeMounts:
        - name: data
          mountPath: /var/data
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      storageClassName: shared
      resources:
        requests:
          storage: 1Mi
      accessModes:
      - ReadWriteOnce
`, name, policy, replicas)
}

// chaosFault is one fault of the schedule: after gap, kind hits node (or
// server: the same index) for hold, then is undone.
type chaosFault struct {
	kind    string // link, sigstop, kill-agent, kill-server, stop-server
	node    int
	servers int // how many servers the control plane has
	gap     time.Duration
	hold    time.Duration
}

// chaosOp is one workload change, at an offset from the start of the
// fault phase: scale a set to n, or roll it (a template env change).
type chaosOp struct {
	at   time.Duration
	set  string
	kind string // scale, roll
	n    int
}

// chaosSchedule draws the faults and the workload changes from the seed.
// Faults of a node or a server never overlap: each one is undone and
// the cluster is whole again (every node Ready, every server answering)
// before the next. With one server (servers 1) the faults are those of
// TestChaos, with three (TestChaosHA) a server may also be paused
// (stop-server), a killed one stays down longer, and at least one fault
// is a server's kill. quick (CI's short run) draws gaps of 1–3 s and
// holds of at most 5 s.
func chaosSchedule(seed int64, faults, servers int, quick bool) ([]chaosFault, []chaosOp) {
	r := rand.New(rand.NewSource(seed))
	dur := func(lo, hi int) time.Duration {
		return time.Duration(lo*1000+r.Intn((hi-lo)*1000+1)) * time.Millisecond
	}
	kinds := []string{"link", "sigstop", "kill-agent", "kill-server"}
	if servers > 1 {
		kinds = append(kinds, "stop-server")
	}
	var fs []chaosFault
	var total time.Duration
	killsServer := false
	for i := 0; i < faults; i++ {
		f := chaosFault{kind: kinds[r.Intn(len(kinds))], node: r.Intn(3), servers: servers, gap: dur(2, 10)}
		switch {
		case f.kind == "link" || f.kind == "sigstop":
			f.hold = dur(4, 30)
		case f.kind == "kill-agent":
			f.hold = dur(1, 20)
		case f.kind == "kill-server" && servers == 1:
			f.hold = dur(0, 5)
		case f.kind == "kill-server":
			// The others keep serving: it may stay down a while.
			f.hold = dur(0, 20)
		case f.kind == "stop-server":
			f.hold = dur(4, 20)
		}
		if quick {
			f.gap, f.hold = dur(1, 3), min(f.hold, 5*time.Second)
		}
		killsServer = killsServer || f.kind == "kill-server"
		fs = append(fs, f)
		// A fault with its recovery takes some 20s more than its hold.
		total += f.gap + f.hold + 20*time.Second
	}
	if servers > 1 && !killsServer && len(fs) > 0 {
		fs[0].kind, fs[0].hold = "kill-server", min(fs[0].hold, 5*time.Second)
	}
	var ops []chaosOp
	for at := dur(1, 6); at < total; at += dur(3, 15) {
		s := chaosSets[r.Intn(len(chaosSets))]
		op := chaosOp{at: at, set: s.name, kind: "roll"}
		if r.Intn(2) == 0 {
			op.kind, op.n = "scale", 1+r.Intn(s.max)
		}
		ops = append(ops, op)
	}
	return fs, ops
}

func (f chaosFault) String() string {
	switch {
	case f.kind != "kill-server" && f.kind != "stop-server":
	case f.servers > 1:
		return fmt.Sprintf("after %.1fs %s of server-%d for %.1fs", f.gap.Seconds(), f.kind, f.node, f.hold.Seconds())
	default:
		return fmt.Sprintf("after %.1fs %s for %.1fs", f.gap.Seconds(), f.kind, f.hold.Seconds())
	}
	return fmt.Sprintf("after %.1fs %s of node %c for %.1fs", f.gap.Seconds(), f.kind, 'a'+f.node, f.hold.Seconds())
}

func (o chaosOp) String() string {
	if o.kind == "scale" {
		return fmt.Sprintf("+%.1fs scale %s to %d", o.at.Seconds(), o.set, o.n)
	}
	return fmt.Sprintf("+%.1fs roll %s", o.at.Seconds(), o.set)
}

// chaosOpResult is one workload change as run: the value it set (the
// replicas, or the roll's CHAOS_ROLL) and whether the API acknowledged it.
type chaosOpResult struct {
	set, kind string
	value     int
	acked     bool
}

// opsSpecValues are the values the set's field (kind: scale or roll) may
// hold at the end: that of the last acknowledged change (initial when
// none was), or of a later one that was not acknowledged (it may have
// been stored).
func opsSpecValues(ops []chaosOpResult, set, kind string, initial int) []int {
	valid := []int{initial}
	for _, o := range ops {
		switch {
		case o.set != set || o.kind != kind:
		case o.acked:
			valid = []int{o.value}
		default:
			valid = append(valid, o.value)
		}
	}
	return valid
}

// chaosPodName is a pod of the chaos sets: its answers' hostname.
var chaosPodName = regexp.MustCompile(`^(kubia|kubip)-[0-9]+$`)

// youHit is the hostname of a kubia answer.
var youHit = regexp.MustCompile(`You've hit (\S+)`)

// chaosSampler watches the cluster until stopped: every few hundred
// milliseconds it lists the sets' pods and claims (when the API answers),
// asks every pod address it ever learnt who answers there, and reads which
// pod processes run on each node.
type chaosSampler struct {
	m      *harness.MultiNode
	cs     kubernetes.Interface
	client *http.Client

	mu         sync.Mutex
	ips        map[string]bool   // every pod address seen
	pvOfClaim  map[string]string // claim name → its PV (latest listing)
	running    map[string]string // pod name → address, Running pods (latest listing)
	samples    int
	violations []string
	suspects   []string
	twoLive    int // samples in which one ordinal had processes of two pods
	twoLiveEx  string

	stop chan struct{}
	done chan struct{}
}

func startChaosSampler(m *harness.MultiNode, cs kubernetes.Interface) *chaosSampler {
	s := &chaosSampler{m: m, cs: cs, client: &http.Client{Timeout: 500 * time.Millisecond},
		ips: map[string]bool{}, pvOfClaim: map[string]string{}, running: map[string]string{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *chaosSampler) violation(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = append(s.violations, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
}

// refresh lists the sets' pods and claims; when the API does not answer it
// keeps what it knew.
func (s *chaosSampler) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pods, err := s.cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	pvcs, err := s.cs.CoreV1().PersistentVolumeClaims("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	pvOfClaim := map[string]string{}
	for _, c := range pvcs.Items {
		pvOfClaim[c.Name] = c.Spec.VolumeName
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pvOfClaim = pvOfClaim
	s.running = map[string]string{}
	for _, p := range pods.Items {
		ip := p.Status.PodIP
		if ip == "" || !chaosPodName.MatchString(p.Name) {
			continue
		}
		s.ips[ip] = true
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			s.running[p.Name] = ip
		}
	}
}

// probe asks each address who answers there and returns address → pod name.
func (s *chaosSampler) probe(ips []string) map[string]string {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]string{}
	for _, ip := range ips {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := s.client.Get("http://" + ip + ":8080/")
			if err != nil {
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if m := youHit.FindStringSubmatch(string(body)); m != nil {
				mu.Lock()
				out[ip] = m[1]
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

func (s *chaosSampler) run() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		s.refresh()
		s.sampleProcesses()
		s.mu.Lock()
		var ips []string
		for ip := range s.ips {
			ips = append(ips, ip)
		}
		pvOfClaim := s.pvOfClaim
		s.mu.Unlock()
		answered := s.probe(ips)
		// (a) one ordinal answering from two addresses (two pods);
		// (b) one claim's volume behind two answering pods: the claim of
		// the pod that answered (its name, not its address: an address
		// is reused by later pods), and the volume the API binds it to.
		byPod := map[string][]string{}
		byPV := map[string][]string{}
		for ip, pod := range answered {
			byPod[pod] = append(byPod[pod], ip)
			if pv := pvOfClaim["data-"+pod]; pv != "" {
				byPV[pv] = append(byPV[pv], ip)
			}
		}
		for pod, ips := range byPod {
			if len(ips) > 1 {
				s.confirm("serving twice: "+pod, ips)
			}
		}
		for pv, ips := range byPV {
			if len(ips) > 1 {
				s.confirm("claim used twice: volume "+pv, ips)
			}
		}
		s.mu.Lock()
		s.samples++
		s.mu.Unlock()
		select {
		case <-s.stop:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// confirm asks the addresses that answered in one sample again. Each pod
// keeps its address for its life, so if they answer again, both pods
// lived from the first answers to the second: two served at once (a
// violation). If not, the first answers may have straddled a handover
// within one sample (a suspect, reported but not failed).
func (s *chaosSampler) confirm(what string, ips []string) {
	sort.Strings(ips)
	first := time.Now()
	again := s.probe(ips)
	var still []string
	for _, ip := range ips {
		if _, ok := again[ip]; ok {
			still = append(still, ip)
		}
	}
	if len(still) > 1 {
		s.violation("%s: %v answered in one sample and %v again (%v)", what, ips, still, again)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.suspects = append(s.suspects, fmt.Sprintf("%s %s: %v answered in one sample, only %v again", first.Format("15:04:05.000"), what, ips, still))
}

// sampleProcesses counts the samples in which one ordinal has processes
// of two pods on the nodes. That is allowed by design while a node is cut
// off, paused or without its agent (its fence keeps them from answering,
// docs/fencing.md); it is reported, not failed.
func (s *chaosSampler) sampleProcesses() {
	inst := map[string]map[string]bool{}
	for _, h := range s.m.Nodes {
		for _, pid := range harness.PIDsMounting(h.DataDir) {
			hn, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/etc/hostname", pid))
			name := strings.TrimSpace(string(hn))
			if err != nil || !chaosPodName.MatchString(name) {
				continue
			}
			uid := "?"
			if mi, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid)); err == nil {
				if sm := podUIDInMounts.FindStringSubmatch(string(mi)); sm != nil {
					uid = sm[1]
				}
			}
			if inst[name] == nil {
				inst[name] = map[string]bool{}
			}
			inst[name][h.Name+"/"+uid] = true
		}
	}
	for name, in := range inst {
		if len(in) > 1 {
			s.mu.Lock()
			s.twoLive++
			if s.twoLiveEx == "" {
				s.twoLiveEx = fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), name, in)
			}
			s.mu.Unlock()
			return
		}
	}
}

func (s *chaosSampler) finish() {
	close(s.stop)
	<-s.done
}

// chaosWrite is one POST of the writer: its value, and the pod that
// acknowledged it (empty when none did).
type chaosWrite struct {
	seq     int
	pod     string // the pod it was sent to
	ip      string
	value   string
	sent    time.Time
	took    time.Duration
	ackedBy string
	err     error
}

// chaosWriter stores values in the sets' pods and creates ConfigMaps,
// recording which were acknowledged.
type chaosWriter struct {
	s      *chaosSampler
	cs     kubernetes.Interface
	r      *rand.Rand
	writes []chaosWrite
	cms    []string // acknowledged ConfigMaps
	cmTry  int
	stop   chan struct{}
	done   chan struct{}
}

func (w *chaosWriter) run() {
	defer close(w.done)
	client := &http.Client{Timeout: 2 * time.Second, Transport: abortingTransport()}
	for seq := 0; ; seq++ {
		select {
		case <-w.stop:
			return
		case <-time.After(300 * time.Millisecond):
		}
		w.s.mu.Lock()
		var names []string
		for n := range w.s.running {
			names = append(names, n)
		}
		sort.Strings(names)
		var pod, ip string
		if len(names) > 0 {
			pod = names[w.r.Intn(len(names))]
			ip = w.s.running[pod]
		}
		w.s.mu.Unlock()
		if pod != "" {
			wr := chaosWrite{seq: seq, pod: pod, ip: ip, value: fmt.Sprintf("%s-w%d", pod, seq), sent: time.Now()}
			resp, err := client.Post("http://"+ip+":8080/", "text/plain", strings.NewReader(wr.value))
			wr.took, wr.err = time.Since(wr.sent), err
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if m := regexp.MustCompile(`Data stored on pod (\S+)`).FindStringSubmatch(string(body)); resp.StatusCode == http.StatusOK && m != nil {
					wr.ackedBy = m[1]
				}
			}
			w.writes = append(w.writes, wr)
		}
		name := fmt.Sprintf("chaos-%d", seq)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		w.cmTry++
		_, err := w.cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"seq": strconv.Itoa(seq)}}, metav1.CreateOptions{})
		cancel()
		if err == nil {
			w.cms = append(w.cms, name)
		}
	}
}

// abortingTransport is the writer's HTTP transport. Its connections close
// with a reset (SO_LINGER 0), which drops what the kernel has not delivered
// yet: a request that timed out while a link was cut is gone, instead of
// being retransmitted by the kernel once the link is back and landing after
// writes acknowledged since — the model of expected() (an unacknowledged
// write lands before its timeout, or never).
func abortingTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 2 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			if err := tc.SetLinger(0); err != nil {
				tc.Close()
				return nil, err
			}
		}
		return c, err
	}
	return tr
}

// history says what the writer sent to pod (or that pod acknowledged), in
// order: for a lost-write violation.
func (w *chaosWriter) history(pod string) string {
	var b strings.Builder
	for _, wr := range w.writes {
		if wr.pod != pod && wr.ackedBy != pod {
			continue
		}
		fmt.Fprintf(&b, "\n  %s %s to %s (%s) took %v:", wr.sent.Format("15:04:05.000"), wr.value, wr.pod, wr.ip, wr.took.Round(time.Millisecond))
		if wr.ackedBy != "" {
			fmt.Fprintf(&b, " acknowledged by %s", wr.ackedBy)
		} else {
			fmt.Fprintf(&b, " not acknowledged (%v)", wr.err)
		}
	}
	return b.String()
}

// expected returns, per pod, the values its volume may hold at the end:
// its last acknowledged write, or any write sent (to any pod) after it and
// not acknowledged, which may have landed. Pods without an acknowledged
// write are not listed.
func (w *chaosWriter) expected() map[string][]string {
	out := map[string][]string{}
	last := map[string]int{}
	for _, wr := range w.writes {
		if wr.ackedBy != "" {
			last[wr.ackedBy] = wr.seq
			out[wr.ackedBy] = []string{wr.value}
		}
	}
	for pod, seq := range last {
		for _, wr := range w.writes {
			if wr.seq > seq && wr.ackedBy == "" {
				out[pod] = append(out[pod], wr.value)
			}
		}
	}
	return out
}

// TestChaos is issue 10's randomized fault test. One `petset server` and
// three real agents with one --shared-volume-dir, automatic failover on;
// two kubia sets (OrderedReady and Parallel) with claims of the shared
// class. While a writer stores values in the pods and creates ConfigMaps
// and the sets are scaled and rolled at random moments, faults hit at
// random moments: a node's link cut and restored, an agent paused
// (SIGSTOP/SIGCONT), an agent killed (kill -9) and started again on its
// data dir, the server killed (kill -9) and started again on its data dir.
// The seed (testenv.Seed, PETSET_TEST_SEED replays) draws the schedule;
// PETSET_CHAOS_FAULTS bounds the count, PETSET_CHAOS_BOUND the time.
//
// Violations (the test fails on any): (a) one pod name answering from two
// pod addresses at once; (b) one claim's volume behind two answering pods
// at once; (c) an acknowledged write missing from its pod's volume (and
// its answer) at the end, an acknowledged ConfigMap missing, or a set's
// spec other than its last acknowledged scale and roll; (d) a set not
// converged (ready, one revision, nothing terminating) within a bound
// once the faults stop, or a node not Ready again after its fault. See
// docs/chaos.md.
func TestChaos(t *testing.T) {
	t.Parallel() // its own bridge, namespaces, addresses and ports
	// Bridge psmw0, 10.201/10.202/10.203, port 16593.
	runChaos(t, 3, harness.MultiNodeConfig{
		Prefix: "psmw", Subnet: "10.201.0", PodCIDRBase: "10.202",
		ServiceCIDR: "10.203.0.0/16", Port: 16593,
	})
}

// TestChaosHA is TestChaos on a control plane of three servers (one etcd
// cluster, docs/ha.md) that the agents, the test's clients and petset
// kubectl fail over among: beside the node faults, a server is killed
// (kill -9, started again on its data dir after a while) or paused
// (SIGSTOP/SIGCONT), never two at once. The same checks; every write the
// API acknowledged (ConfigMaps, the sets' scales and rolls) survives.
// The default (CI) is two faults, one of them a server's kill.
func TestChaosHA(t *testing.T) {
	t.Parallel() // its own bridge, namespaces, addresses and ports
	// Bridge psmy0, servers 10.251.0.1-3, nodes .11-.13, pods
	// 10.252.x.0/24, services 10.253.0.0/16, API port 16843, etcd
	// 17100-17105.
	runChaos(t, 2, harness.MultiNodeConfig{
		Prefix: "psmy", Subnet: "10.251.0", PodCIDRBase: "10.252",
		ServiceCIDR: "10.253.0.0/16", Port: 16843, Servers: 3, EtcdPort: 17100,
	})
}

// runChaos runs the chaos test on the network of netCfg (its timings and
// shared dir added here), with defaultFaults faults unless
// PETSET_CHAOS_FAULTS says otherwise.
func runChaos(t *testing.T, defaultFaults int, netCfg harness.MultiNodeConfig) {
	kubectl := harness.Kubectl{Name: "kubectl", Path: harness.LookTool(t, "kubectl")}
	if netCfg.Servers > 1 {
		// It knows every server (the kubeconfig's petset.io/servers).
		kubectl = harness.Kubectl{Name: "petset-kubectl", Path: harness.Bin(), Args: []string{"kubectl"}}
	}
	seed := testenv.Seed(t)
	faults := defaultFaults
	if v := os.Getenv(chaosFaultsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.Fatalf("%s=%q: want a count", chaosFaultsEnv, v)
		}
		faults = n
	}
	bound := chaosDefaultBound
	if v := os.Getenv(chaosBoundEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", chaosBoundEnv, v, err)
		}
		bound = d
	}
	servers := max(netCfg.Servers, 1)
	// CI's run of the HA variant (no count asked) keeps to a minute.
	quick := servers > 1 && os.Getenv(chaosFaultsEnv) == ""
	schedule, ops := chaosSchedule(seed, faults, servers, quick)
	var plan strings.Builder
	for i, f := range schedule {
		fmt.Fprintf(&plan, "\n  fault %d: %v", i+1, f)
	}
	for _, o := range ops {
		fmt.Fprintf(&plan, "\n  op %v", o)
	}
	t.Logf("chaos schedule (seed %d, %d faults, %d servers, quick %v, bound %v):%s", seed, faults, servers, quick, bound, plan.String())

	shared := filepath.Join(t.TempDir(), "shared")
	dirArgs := []string{"--shared-volume-dir", shared}
	// Grace 16s with an 8s lease (renewed every 2s) and a 6s fence, as
	// TestAutomaticFailover.
	netCfg.ServerArgs = append([]string{"--node-monitor-grace-period", "16s", "--node-monitor-period", "1s", "--auto-failover"}, dirArgs...)
	netCfg.AgentArgs = append([]string{"--fence-timeout", "6s", "--node-lease-duration", "8s"}, dirArgs...)
	began := time.Now()
	m := harness.StartMultiNodeConfig(t, 3, netCfg)
	t.Logf("%d servers and 3 agents ready after %v", servers, time.Since(began).Round(time.Second))
	k := m.Kubectl(t, kubectl)
	cfg := m.RESTConfig(t)
	cfg.Timeout = 5 * time.Second
	cs := harness.Clientset(t, cfg)
	// With several servers, each one's own client (no failover): the
	// cluster is whole again once every server answers.
	var serverClients []kubernetes.Interface
	for _, s := range m.Servers {
		if len(m.Servers) == 1 {
			break
		}
		c := harness.RESTConfig(t, m.Kubeconfig)
		c.Host, c.Timeout = s.URL, 3*time.Second
		serverClients = append(serverClients, harness.Clientset(t, c))
	}
	allReady := func(bound time.Duration) error {
		return harness.WaitFor(bound, func() (bool, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			for _, c := range serverClients {
				if _, err := c.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
					return false, nil
				}
			}
			nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil || len(nodes.Items) != len(m.Nodes) {
				return false, nil
			}
			for _, n := range nodes.Items {
				ready := false
				for _, c := range n.Status.Conditions {
					ready = ready || c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
				}
				if !ready {
					return false, nil
				}
			}
			return true, nil
		})
	}
	if err := allReady(2 * time.Minute); err != nil {
		t.Fatalf("nodes not Ready: %v", err)
	}
	for _, s := range chaosSets {
		k.MustRun(t, "apply", "-f", m.WriteFile(t, s.name+".yaml", chaosSet(s.name, s.policy, s.replicas)))
	}
	for _, s := range chaosSets {
		k.WaitJSONPath(t, 3*time.Minute, "{.status.readyReplicas}", strconv.Itoa(s.replicas), "statefulset", s.name)
	}

	t.Logf("sets ready after %v", time.Since(began).Round(time.Second))
	sampler := startChaosSampler(m, cs)
	defer func() {
		select {
		case <-sampler.done:
		default:
			sampler.finish()
		}
	}()
	writer := &chaosWriter{s: sampler, cs: cs, r: rand.New(rand.NewSource(seed + 1)),
		stop: make(chan struct{}), done: make(chan struct{})}
	go writer.run()
	defer func() {
		select {
		case <-writer.done:
		default:
			close(writer.stop)
			<-writer.done
		}
	}()

	// The workload changes, at their offsets, until the faults end.
	start := time.Now()
	opsStop := make(chan struct{})
	opsDone := make(chan struct{})
	var opsRun []string
	var opsDoneList []chaosOpResult
	go func() {
		defer close(opsDone)
		rolls := map[string]int{}
		for _, o := range ops {
			select {
			case <-opsStop:
				return
			case <-time.After(time.Until(start.Add(o.at))):
			}
			var patch []byte
			pt := types.MergePatchType
			if o.kind == "scale" {
				patch = []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, o.n))
			} else {
				rolls[o.set]++
				pt = types.JSONPatchType
				patch = []byte(fmt.Sprintf(`[{"op":"replace","path":"/spec/template/spec/containers/0/env/0/value","value":"%d"}]`, rolls[o.set]))
			}
			// The server may be down: retry a while.
			err := harness.WaitFor(time.Minute, func() (bool, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				_, err := cs.AppsV1().StatefulSets("default").Patch(ctx, o.set, pt, patch, metav1.PatchOptions{})
				return err == nil, nil
			})
			res := "ok"
			if err != nil {
				res = "not acknowledged: " + err.Error()
			}
			value := o.n
			if o.kind == "roll" {
				value = rolls[o.set]
			}
			opsDoneList = append(opsDoneList, chaosOpResult{set: o.set, kind: o.kind, value: value, acked: err == nil})
			opsRun = append(opsRun, fmt.Sprintf("%s at +%.1fs: %s", o, time.Since(start).Seconds(), res))
		}
	}()

	// The faults, one at a time.
	var injected []string
	// When each node was hit: a NotReady outside these windows (and
	// the grace period after) came from a fault elsewhere.
	hit := map[string][][2]time.Time{}
	for i, f := range schedule {
		if time.Since(start) > bound {
			t.Logf("wall-clock bound %v reached after %d faults", bound, i)
			break
		}
		time.Sleep(f.gap)
		h := m.Nodes[f.node]
		at := time.Since(start)
		switch f.kind {
		case "link":
			h.LinkDown(t)
			time.Sleep(f.hold)
			m.LinkUp(t, h)
		case "sigstop":
			agent := h.Agent.Cmd.Process
			if err := agent.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			time.Sleep(f.hold)
			if err := agent.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
		case "kill-agent":
			h.Agent.Kill(t)
			time.Sleep(f.hold)
			m.RestartAgent(t, h)
		case "kill-server":
			s := m.Servers[f.node%len(m.Servers)]
			s.Process.Kill(t)
			time.Sleep(f.hold)
			m.RestartServerHost(t, s)
		case "stop-server":
			s := m.Servers[f.node%len(m.Servers)].Process.Cmd.Process
			if err := s.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			time.Sleep(f.hold)
			if err := s.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
		}
		if f.kind == "link" || f.kind == "sigstop" || f.kind == "kill-agent" {
			hit[h.Name] = append(hit[h.Name], [2]time.Time{start.Add(at), time.Now()})
		}
		injected = append(injected, fmt.Sprintf("fault %d at +%.1fs: %v", i+1, at.Seconds(), f))
		t.Log(injected[len(injected)-1])
		// The cluster is whole again before the next fault.
		if err := allReady(3 * time.Minute); err != nil {
			sampler.violation("after fault %d (%v) not every node is Ready (and server answering) again: %v", i+1, f, err)
		}
	}
	faultsEnd := time.Now()
	close(opsStop)
	<-opsDone

	// (d) Every set converges.
	converge := func(name string) error {
		return harness.WaitFor(4*time.Minute, func() (bool, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			ss, err := cs.AppsV1().StatefulSets("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			want := *ss.Spec.Replicas
			st := ss.Status
			if st.ObservedGeneration < ss.Generation || st.ReadyReplicas != want || st.Replicas != want ||
				st.UpdatedReplicas != want || st.CurrentRevision != st.UpdateRevision {
				return false, nil
			}
			pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
			if err != nil || int32(len(pods.Items)) != want {
				return false, nil
			}
			for _, p := range pods.Items {
				if p.DeletionTimestamp != nil {
					return false, nil
				}
			}
			return true, nil
		})
	}
	for _, s := range chaosSets {
		if err := converge(s.name); err != nil {
			sampler.violation("set %s did not converge within 4m of the last fault: %v\n%s\n%s", s.name, err,
				k.Run("get", "statefulset", s.name, "-o", "wide").Stdout, k.Run("get", "pods", "-o", "wide").Stdout)
		}
	}
	converged := time.Since(faultsEnd)
	// (c) The sets' specs hold their last acknowledged scale and roll.
	for _, s := range chaosSets {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ss, err := cs.AppsV1().StatefulSets("default").Get(ctx, s.name, metav1.GetOptions{})
		cancel()
		if err != nil {
			sampler.violation("get set %s at the end: %v", s.name, err)
			continue
		}
		roll, _ := strconv.Atoi(ss.Spec.Template.Spec.Containers[0].Env[0].Value)
		for kind, got := range map[string]int{"scale": int(*ss.Spec.Replicas), "roll": roll} {
			initial := s.replicas
			if kind == "roll" {
				initial = 0
			}
			if valid := opsSpecValues(opsDoneList, s.name, kind, initial); !slices.Contains(valid, got) {
				sampler.violation("lost write: set %s's %s is %d, want one of %v (its last acknowledged one, or one sent after it)", s.name, kind, got, valid)
			}
		}
	}
	close(writer.stop)
	<-writer.done
	sampler.finish()

	// (c) Acknowledged writes and ConfigMaps.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	acked := 0
	for _, wr := range writer.writes {
		if wr.ackedBy != "" {
			acked++
		}
	}
	for pod, valid := range writer.expected() {
		pvc, err := cs.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data-"+pod, metav1.GetOptions{})
		if err != nil {
			sampler.violation("claim data-%s of acknowledged writes: %v", pod, err)
			continue
		}
		b, err := os.ReadFile(filepath.Join(shared, pvc.Spec.VolumeName, "kubia.txt"))
		if err != nil || !contains(valid, string(b)) {
			sampler.violation("lost write: %s's volume %s holds %q (%v), want one of %q; the writes:%s", pod, pvc.Spec.VolumeName, b, err, valid, writer.history(pod))
		}
		p, err := cs.CoreV1().Pods("default").Get(ctx, pod, metav1.GetOptions{})
		if err != nil || p.Status.PodIP == "" {
			continue // scaled away: its volume was checked
		}
		resp, err := http.Get("http://" + p.Status.PodIP + ":8080/")
		if err != nil {
			sampler.violation("GET %s at the end: %v", pod, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ok := false
		for _, v := range valid {
			ok = ok || strings.Contains(string(body), "You've hit "+pod+"\nData stored on this pod: "+v+"\n")
		}
		if !ok {
			sampler.violation("lost write: %s answers %q, want one of %q", pod, body, valid)
		}
	}
	cms, err := cs.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list ConfigMaps: %v", err)
	}
	have := map[string]bool{}
	for _, cm := range cms.Items {
		have[cm.Name] = true
	}
	for _, name := range writer.cms {
		if !have[name] {
			sampler.violation("lost ConfigMap: %s was acknowledged and is gone", name)
		}
	}
	// (b) at the end: each volume bound to one claim, each claim to its own.
	pvs, err := cs.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list PVs: %v", err)
	}
	claimOf := map[string]string{}
	for _, pv := range pvs.Items {
		if ref := pv.Spec.ClaimRef; ref != nil {
			key := ref.Namespace + "/" + ref.Name
			if other, ok := claimOf[key]; ok {
				sampler.violation("claim %s is referenced by volumes %s and %s", key, other, pv.Name)
			}
			claimOf[key] = pv.Name
		}
	}
	pvcs, err := cs.CoreV1().PersistentVolumeClaims("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list claims: %v", err)
	}
	for _, c := range pvcs.Items {
		if v := claimOf["default/"+c.Name]; c.Spec.VolumeName != "" && v != c.Spec.VolumeName {
			sampler.violation("claim %s is bound to %s, whose claimRef is elsewhere (%q)", c.Name, c.Spec.VolumeName, v)
		}
	}

	for _, o := range opsRun {
		t.Log("op " + o)
	}
	notReady, elsewhere := chaosNotReady(t, ctx, cs, hit, start)
	for _, s := range sampler.suspects {
		t.Log("suspect (not confirmed): " + s)
	}
	if sampler.twoLive > 0 {
		t.Logf("%d samples saw one ordinal with processes of two pods (allowed while fenced), first: %s", sampler.twoLive, sampler.twoLiveEx)
	}
	for _, v := range sampler.violations {
		t.Error("violation: " + v)
	}
	t.Logf("chaos summary: seed=%d faults=%d/%d ops=%d duration=%s converged=%s samples=%d writes=%d acked=%d configmaps=%d/%d notready=%d (of nodes not hit: %d) suspects=%d violations=%d",
		seed, len(injected), faults, len(opsRun), faultsEnd.Sub(start).Round(time.Second), converged.Round(time.Second),
		sampler.samples, len(writer.writes), acked, len(writer.cms), writer.cmTry, notReady, elsewhere, len(sampler.suspects), len(sampler.violations))
}

// chaosNotReady counts the nodes' NodeNotReady events since start and
// those of a node that no fault hit at the time (nor in the grace period
// and lease after it): a fault of another node or of a server made it
// NotReady. Those are logged; they are a figure, not a violation.
func chaosNotReady(t *testing.T, ctx context.Context, cs kubernetes.Interface, hit map[string][][2]time.Time, start time.Time) (all, elsewhere int) {
	t.Helper()
	events, err := cs.CoreV1().Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Logf("list events: %v", err)
		return 0, 0
	}
	const after = 16*time.Second + 8*time.Second // grace + lease
	for _, e := range events.Items {
		if e.InvolvedObject.Kind != "Node" || e.Reason != "NodeNotReady" || e.LastTimestamp.Time.Before(start.Add(-time.Second)) {
			continue
		}
		all++
		during := false
		for _, w := range hit[e.InvolvedObject.Name] {
			at := e.LastTimestamp.Time
			during = during || !at.Before(w[0].Add(-time.Second)) && !at.After(w[1].Add(after))
		}
		if !during {
			elsewhere++
			t.Logf("NotReady while no fault hit it: node %s at %s (count %d)", e.InvolvedObject.Name, e.LastTimestamp.Format("15:04:05"), e.Count)
		}
	}
	return all, elsewhere
}
