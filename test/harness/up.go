package harness

// `petset up` as a real process for the seed walkthroughs: each test gets its
// own bridge, pod CIDR, data dir and port, so tests never collide with each
// other or with a petset already running on the machine. Stopping it (by
// PID) also checks that none of its pod processes survive.

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"petset/internal/testenv"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Up is one `petset up` with the kubectl on PATH bound to it.
type Up struct {
	*Cluster
	K        *Client // plain kubectl on PATH, KUBECACHEDIR of this cluster
	DataDir  string
	Bridge   string
	PodCIDR  string
	BridgeIP string // first address of PodCIDR: cluster DNS
	// ServiceCIDR is this instance's --service-cidr, unique like PodCIDR
	// (the node's service rules for its own traffic match Service IPs, so
	// instances side by side must not share them).
	ServiceCIDR string
	Listen      string
	// TimeReadyz makes Start poll /readyz from exec on and wait for its
	// first 200 as well (for start-up timings).
	TimeReadyz bool
	// Started, ReadyAt and ReadyzAt are the times of the last Start: exec,
	// ready line read, first /readyz 200 (with TimeReadyz).
	Started, ReadyAt, ReadyzAt time.Time
	args                       []string // extra flags (e.g. --simulate-nodes 3)
	real                       bool     // runs isolated pod processes (not --simulate-nodes)
}

// StartUp runs `petset up` with a unique bridge, pod CIDR, data dir and free
// port plus args, and returns once it printed its ready line. It is stopped
// (SIGTERM, then SIGKILL, by PID) when the test ends, and the test fails if a
// pod process of it survives. It needs the kubectl on PATH (Up.K).
func StartUp(t testing.TB, args ...string) *Up {
	t.Helper()
	LookTool(t, "kubectl")
	u := NewUp(t, args...)
	u.Start(t)
	return u
}

// NewUp prepares a `petset up` as StartUp does — its own data dir, bridge,
// pod and service CIDR, the cleanup — without starting it, for a caller that
// sets TimeReadyz or Listen first. A real node (no --simulate-nodes) needs
// root: without it the test skips, or fails in CI.
func NewUp(t testing.TB, args ...string) *Up {
	t.Helper()
	real := !hasFlag(args, "--simulate-nodes")
	if real {
		testenv.RequireRoot(t, "petset up with isolated pods")
	}
	dir := t.TempDir()
	u := &Up{
		Cluster: &Cluster{Dir: dir},
		DataDir: filepath.Join(dir, "data"),
		Bridge:  "pst" + RandHex(t, 3),
		args:    args,
		real:    real,
	}
	u.PodCIDR, u.BridgeIP = freePodCIDR(t)
	u.ServiceCIDR = serviceCIDRFor(u.PodCIDR)
	if hasFlag(args, "--service-cidr") {
		u.ServiceCIDR = ""
	}
	t.Cleanup(func() { u.cleanup(t) })
	return u
}

// hasFlag reports whether args set flag (as "--flag value" or "--flag=value").
func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

// Start starts petset up (again) on the same data dir, bridge and CIDR, on a
// fresh free port unless one was used before (the kubeconfig names it), and
// records when: Started (just before exec), ReadyAt (the ready line read)
// and, with TimeReadyz, ReadyzAt (the first /readyz 200, which it then waits
// for too).
func (u *Up) Start(t testing.TB) {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if u.Listen == "" || attempt > 0 {
			u.Listen = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
		}
		full := []string{"up", "--data-dir", u.DataDir, "--listen", u.Listen,
			"--bridge", u.Bridge, "--pod-cidr", u.PodCIDR}
		if u.ServiceCIDR != "" {
			full = append(full, "--service-cidr", u.ServiceCIDR)
		}
		if !hasFlag(u.args, "--dns-forward") {
			// Never the host's resolvers: tests send traffic only to
			// loopback and namespaces they made.
			full = append(full, "--dns-forward", loopbackUpstreamDNS(t))
		}
		full = append(full, u.args...)
		var readyz <-chan time.Time
		stopPoll := func() {}
		if u.TimeReadyz {
			ctx, cancel := context.WithCancel(context.Background())
			readyz, stopPoll = pollReadyz(ctx, u.Listen), cancel
		}
		u.Started = time.Now()
		p := StartProcess(t, nil, Bin(), full...)
		kubeconfig, at, err := p.WaitReady(startBound)
		if err == nil && readyz != nil {
			err = waitReadyz(p, readyz, &u.ReadyzAt)
		}
		stopPoll()
		if err == nil {
			u.Process = p
			u.Kubeconfig, u.ReadyAt = kubeconfig, at
			u.readKubeconfig(t)
			if path, lerr := exec.LookPath("kubectl"); lerr == nil {
				u.K = u.Kubectl(t, Kubectl{Name: "kubectl", Path: path})
			}
			return
		}
		p.Stop(t)
		lastErr = err
		if !p.addrInUse() {
			break
		}
	}
	t.Fatalf("petset up did not become ready: %v", lastErr)
}

// pollReadyz asks https://listen/readyz every 2 ms until it answers 200 or
// ctx ends, and sends the time of the first 200.
func pollReadyz(ctx context.Context, listen string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	client := &http.Client{
		Timeout: time.Second,
		// Only the time of the first 200 is read: no credentials are sent
		// and /readyz is public, so the serving certificate is not checked.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true},
	}
	go func() {
		for {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+listen+"/readyz", nil)
			if err != nil {
				return
			}
			if res, err := client.Do(req); err == nil {
				ok := res.StatusCode == http.StatusOK
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if ok {
					ch <- time.Now()
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return ch
}

// waitReadyz waits for the poller's first 200 into *at.
func waitReadyz(p *Process, readyz <-chan time.Time, at *time.Time) error {
	select {
	case *at = <-readyz:
		return nil
	case <-p.Done():
		return fmt.Errorf("petset up exited before /readyz answered 200\nstderr (tail):\n%s", Tail(p.Stderr(), 3000))
	case <-time.After(startBound):
		return fmt.Errorf("/readyz did not answer 200 within %v", startBound)
	}
}

// Stop stops petset up gracefully (SIGTERM; SIGKILL after a bound), logs
// how long that took, and waits until none of its pod processes remain.
func (u *Up) Stop(t testing.TB) {
	t.Helper()
	u.stopProcess(t)
	if u.real {
		if err := WaitFor(30*time.Second, func() (bool, error) { return len(u.PodPIDs()) == 0, nil }); err != nil {
			t.Errorf("pod processes survived petset up's graceful stop: %s", u.DescribePIDs(u.PodPIDs()))
		}
	}
}

// stopProcess stops petset up itself and logs how long it took.
func (u *Up) stopProcess(t testing.TB) {
	if u.Process == nil || u.Process.Exited() {
		return
	}
	t0 := time.Now()
	u.Process.Stop(t)
	t.Logf("petset up (pid %d) stopped %.2fs after SIGTERM", u.Process.Pid(), time.Since(t0).Seconds())
}

// Kill kills petset up with SIGKILL and waits for it to exit; its pods keep running.
func (u *Up) Kill(t testing.TB) {
	t.Helper()
	u.Process.Kill(t)
}

// cleanup stops petset up, fails the test if any of its pod processes
// survive (and kills those by PID), and removes its bridge.
func (u *Up) cleanup(t testing.TB) {
	u.stopProcess(t)
	if u.real {
		var left []int
		err := WaitFor(30*time.Second, func() (bool, error) {
			left = u.PodPIDs()
			return len(left) == 0, nil
		})
		if err != nil {
			t.Errorf("pod processes of %s survived petset up: %s", u.DataDir, u.DescribePIDs(left))
			for _, pid := range left {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	if _, err := net.InterfaceByName(u.Bridge); err == nil {
		if out, err := exec.Command("ip", "link", "del", u.Bridge).CombinedOutput(); err != nil {
			t.Logf("remove bridge %s: %v: %s", u.Bridge, err, out)
		}
	}
}

// PodPIDs lists the processes that belong to this petset's pods: those
// whose mount table holds a path under the data dir (the pod's /etc/hosts,
// resolv.conf and volumes are mounted from there), not petset up itself.
func (u *Up) PodPIDs() []int {
	self := -1
	if u.Process != nil && !u.Process.Exited() {
		self = u.Process.Cmd.Process.Pid
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	needle := []byte(" " + u.DataDir + "/")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || pid == os.Getpid() {
			continue
		}
		mi, err := os.ReadFile(filepath.Join("/proc", e.Name(), "mountinfo"))
		if err != nil {
			continue
		}
		if strings.Contains(string(mi), string(needle)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// PodProcesses returns the PIDs of this petset's pod processes whose
// command line contains cmd and whose environment has HOSTNAME=host.
func (u *Up) PodProcesses(cmd, host string) []int {
	var out []int
	for _, pid := range u.PodPIDs() {
		cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.Contains(strings.ReplaceAll(string(cl), "\x00", " "), cmd) {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if kv == "HOSTNAME="+host {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// DescribePIDs names each process by PID and command line.
func (u *Up) DescribePIDs(pids []int) string {
	var b strings.Builder
	for _, pid := range pids {
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		fmt.Fprintf(&b, "[%d %s] ", pid, strings.ReplaceAll(string(cl), "\x00", " "))
	}
	return b.String()
}

// RandHex is n random bytes in hex, for names unique to one test.
func RandHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// freePodCIDR picks a random 10.1[6-8]x.y.0/24 (10.160-10.187) that no
// interface address or route on this machine touches and no other test of
// this process has taken (the bridge appears only seconds after the pick),
// and returns it with its first address. The range is apart from the
// multi-node tests' fixed networks (10.19x-10.25x, whose routes to other
// nodes' pod CIDRs a parallel test's pick would collide with) and from
// 10.88/10.89, the runtime's defaults.
func freePodCIDR(t testing.TB) (cidr, first string) {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	routes := hostRoutes(t)
	takenCIDRs.Lock()
	defer takenCIDRs.Unlock()
	for i := 0; i < 100; i++ {
		a, _ := rand.Int(rand.Reader, big.NewInt(28))
		b, _ := rand.Int(rand.Reader, big.NewInt(256))
		_, n, _ := net.ParseCIDR(fmt.Sprintf("10.%d.%d.0/24", 160+a.Int64(), b.Int64()))
		used := takenCIDRs.m[n.String()]
		for _, ad := range addrs {
			if ipn, ok := ad.(*net.IPNet); ok && (n.Contains(ipn.IP) || ipn.Contains(n.IP)) {
				used = true
			}
		}
		for _, r := range routes {
			if r.Contains(n.IP) || n.Contains(r.IP) {
				used = true
			}
		}
		if !used {
			takenCIDRs.m[n.String()] = true
			ip := n.IP.To4()
			return n.String(), fmt.Sprintf("%d.%d.%d.1", ip[0], ip[1], ip[2])
		}
	}
	t.Fatal("no free 10.1[6-8]x.y.0/24 pod CIDR")
	return "", ""
}

// hostRoutes are the destinations of the host's IPv4 routes other than the
// default route, read from /proc/net/route (addresses in host byte order,
// hex, as the kernel prints them).
func hostRoutes(t testing.TB) []*net.IPNet {
	t.Helper()
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		t.Fatal(err)
	}
	var out []*net.IPNet
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		dst, err1 := strconv.ParseUint(f[1], 16, 32)
		mask, err2 := strconv.ParseUint(f[7], 16, 32)
		if err1 != nil || err2 != nil || mask == 0 {
			continue
		}
		le := func(v uint64) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
		out = append(out, &net.IPNet{IP: net.IP(le(dst)), Mask: net.IPMask(le(mask))})
	}
	return out
}

// serviceCIDRFor is the service CIDR of the instance with pod CIDR
// 10.1[6-8]x.y.0/24: 10.[6-8]x.y.0/24, unique as the pod CIDR is.
func serviceCIDRFor(podCIDR string) string {
	var a, b int
	if _, err := fmt.Sscanf(podCIDR, "10.%d.%d.0/24", &a, &b); err != nil {
		return ""
	}
	return fmt.Sprintf("10.%d.%d.0/24", a-100, b)
}

// takenCIDRs are the pod CIDRs the tests of this process picked.
var takenCIDRs = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}

// WaitReady waits until the set reports want ready replicas and every pod
// set-0 … set-(want-1) is Ready.
func (u *Up) WaitReady(t testing.TB, set string, want int) {
	t.Helper()
	u.K.WaitJSONPath(t, startBound, "{.status.readyReplicas}", strconv.Itoa(want), "statefulset", set)
	for i := 0; i < want; i++ {
		u.K.WaitJSONPath(t, startBound, `{.status.conditions[?(@.type=="Ready")].status}`, "True",
			"pod", fmt.Sprintf("%s-%d", set, i))
	}
}

// Proxy is a running `kubectl proxy` on a free port.
type Proxy struct {
	URL string // http://127.0.0.1:port
	p   *Process
}

var proxyLine = regexp.MustCompile(`Starting to serve on 127\.0\.0\.1:(\d+)`)

// StartProxy runs `kubectl proxy --port=0` and waits for its address.
func (u *Up) StartProxy(t testing.TB) *Proxy {
	t.Helper()
	p := u.K.Start(t, "proxy", "--port=0", "--address=127.0.0.1")
	var url string
	err := WaitFor(time.Minute, func() (bool, error) {
		if m := proxyLine.FindStringSubmatch(p.Stdout()); m != nil {
			url = "http://127.0.0.1:" + m[1]
			return true, nil
		}
		if p.Exited() {
			return false, fmt.Errorf("kubectl proxy exited: %s", p.Stderr())
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("kubectl proxy: %v", err)
	}
	return &Proxy{URL: url, p: p}
}

// Stop stops the kubectl proxy by its PID.
func (px *Proxy) Stop(t testing.TB) { px.p.Stop(t) }

// Do sends method with body to path through the proxy and returns status and body.
func (px *Proxy) Do(t testing.TB, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, px.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // what curl -d sends
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// WaitBody retries method path through the proxy until the answer is 200
// and holds every phrase, and returns that body.
func (px *Proxy) WaitBody(t testing.TB, method, path, body string, phrases ...string) string {
	t.Helper()
	var code int
	var got string
	err := WaitFor(2*time.Minute, func() (bool, error) {
		code, got = px.Do(t, method, path, body)
		if code != http.StatusOK {
			return false, nil
		}
		for _, p := range phrases {
			if !strings.Contains(got, p) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("%s %s: want 200 with %q: %v; last: %d %q", method, path, phrases, err, code, got)
	}
	return got
}
