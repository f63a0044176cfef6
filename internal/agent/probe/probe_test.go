package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	clocktesting "k8s.io/utils/clock/testing"

	"petset/internal/agent/runtime"
	"petset/internal/agent/runtime/fake"
)

func serverPort(t *testing.T, s *httptest.Server) int {
	t.Helper()
	u, _ := url.Parse(s.URL)
	p, _ := strconv.Atoi(u.Port())
	return p
}

func TestHTTPProbe(t *testing.T) {
	var gotHeader, gotHost string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotHeader, gotHost = r.Header.Get("X-Check"), r.Host
		mu.Unlock()
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusOK)
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/elsewhere":
			http.Redirect(w, r, "http://other.invalid/", http.StatusFound)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	port := serverPort(t, srv)
	pr := NewProber(nil)
	target := Target{Host: "127.0.0.1", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}}
	for _, tc := range []struct {
		path string
		port intstr.IntOrString
		ok   bool
	}{
		{"/ok", intstr.FromInt32(int32(port)), true},
		{"/ok", intstr.FromString("http"), true},
		{"/redirect", intstr.FromString("http"), true},
		{"/elsewhere", intstr.FromString("http"), true},
		{"/fail", intstr.FromString("http"), false},
		{"/ok", intstr.FromString("nope"), false},
	} {
		p := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: tc.path, Port: tc.port,
			HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Check", Value: "yes"}, {Name: "Host", Value: "example.test"}},
		}}}
		ok, msg := pr.Run(context.Background(), p, target)
		if ok != tc.ok {
			t.Errorf("%s via %v: ok=%v (%s), want %v", tc.path, tc.port.String(), ok, msg, tc.ok)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if gotHeader != "yes" || gotHost != "example.test" {
		t.Errorf("header %q host %q", gotHeader, gotHost)
	}
}

func TestTCPProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	pr := NewProber(nil)
	p := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(port))}}}
	if ok, msg := pr.Run(context.Background(), p, Target{Host: "127.0.0.1"}); !ok {
		t.Errorf("open port: %s", msg)
	}
	_ = ln.Close()
	if ok, _ := pr.Run(context.Background(), p, Target{Host: "127.0.0.1"}); ok {
		t.Error("closed port probed ok")
	}
}

func TestExecProbeOnFakeRuntime(t *testing.T) {
	rt, err := fake.New(fake.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := rt.RunSandbox(ctx, runtime.SandboxConfig{UID: "u", Hostname: "h"}); err != nil {
		t.Fatal(err)
	}
	c, err := rt.StartContainer(ctx, "u", runtime.ContainerConfig{Name: "c", Argv: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	pr := NewProber(rt)
	for _, tc := range []struct {
		argv []string
		ok   bool
	}{
		{[]string{"true"}, true},
		{[]string{"false"}, false},
		{[]string{"sh", "-c", "exit 0"}, true},
		{[]string{"sh", "-c", "exit 3"}, false},
		{[]string{"pg_isready"}, false},
	} {
		p := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: tc.argv}}}
		if ok, msg := pr.Run(ctx, p, Target{ContainerID: c.ID}); ok != tc.ok {
			t.Errorf("%v: ok=%v (%s)", tc.argv, ok, msg)
		}
	}
}

// scripted answers probes from a per-container script of results.
type scripted struct {
	mu      sync.Mutex
	results map[string][]bool
	calls   map[string]int
	clock   interface{ Now() time.Time } // when set, first records each probe's first run
	first   map[string]time.Time
}

func (s *scripted) Run(_ context.Context, p *corev1.Probe, t Target) (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := t.ContainerID + "/" + p.Exec.Command[0]
	if _, ok := s.first[key]; !ok && s.clock != nil {
		s.first[key] = s.clock.Now()
	}
	r := s.results[key]
	n := s.calls[key]
	s.calls[key] = n + 1
	if n < len(r) {
		return r[n], "scripted"
	}
	return r[len(r)-1], "scripted"
}

func execProbe(name string, period, failure, success int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{name}}},
		PeriodSeconds: period, FailureThreshold: failure, SuccessThreshold: success,
	}
}

func waitState(t *testing.T, m *Manager, clk *clocktesting.FakeClock, id string, want func(State) bool) State {
	t.Helper()
	for range 2000 {
		if st, ok := m.Status(id); ok && want(st) {
			return st
		}
		clk.Step(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	st, _ := m.Status(id)
	t.Fatalf("state of %s never matched; last %+v", id, st)
	return st
}

func TestManagerThresholdsAndGating(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	run := &scripted{calls: map[string]int{}, results: map[string][]bool{
		// startup fails twice then passes; readiness needs 2 successes;
		// liveness fails from its 2nd run on.
		"c1/startup":   {false, false, true},
		"c1/readiness": {true},
		"c1/liveness":  {true, false},
		"c2/readiness": {false},
	}}
	var notified sync.Map
	m := NewManager(run, clk, func(uid string) { notified.Store(uid, true) })
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); m.Wait() }()

	m.Start(ctx, "pod1", "c1", clk.Now(), Probes{
		Startup:   execProbe("startup", 1, 5, 1),
		Readiness: execProbe("readiness", 1, 3, 2),
		Liveness:  execProbe("liveness", 1, 2, 1),
	}, Target{})
	if st, _ := m.Status("c1"); st.Started || st.Ready {
		t.Fatalf("initial state %+v", st)
	}
	waitState(t, m, clk, "c1", func(s State) bool { return s.Started })
	waitState(t, m, clk, "c1", func(s State) bool { return s.Ready })
	st := waitState(t, m, clk, "c1", func(s State) bool { return s.Failed != "" })
	if st.Failed != Liveness || st.Message != "Liveness probe failed: scripted" {
		t.Errorf("failure %+v", st)
	}
	run.mu.Lock()
	if run.calls["c1/startup"] != 3 {
		t.Errorf("startup probe ran %d times after success, want 3", run.calls["c1/startup"])
	}
	run.mu.Unlock()
	if _, ok := notified.Load("pod1"); !ok {
		t.Error("no notification")
	}

	// A container without readiness probe is ready; a failing one is not.
	m.Start(ctx, "pod2", "c3", clk.Now(), Probes{}, Target{})
	if st, _ := m.Status("c3"); !st.Ready || !st.Started {
		t.Errorf("probe-less container %+v", st)
	}
	m.Start(ctx, "pod2", "c2", clk.Now(), Probes{Readiness: execProbe("readiness", 1, 1, 1)}, Target{})
	// Once the probe has run twice (so its first result was applied), the
	// container is started and not ready.
	calls := func() int {
		run.mu.Lock()
		defer run.mu.Unlock()
		return run.calls["c2/readiness"]
	}
	waitState(t, m, clk, "c2", func(State) bool { return calls() >= 2 })
	if st, _ := m.Status("c2"); st.Ready || !st.Started {
		t.Errorf("failing readiness %+v", st)
	}
	m.Retain("pod2", map[string]bool{"c3": true})
	if _, ok := m.Status("c2"); ok {
		t.Error("c2 still probed after Retain")
	}
	m.StopPod("pod2")
	if _, ok := m.Status("c3"); ok {
		t.Error("c3 still probed after StopPod")
	}
	// Another pod's Retain and StopPod leave pod1 alone; pod2 is forgotten.
	if _, ok := m.Status("c1"); !ok {
		t.Error("pod1's c1 no longer probed after pod2's Retain and StopPod")
	}
	m.mu.Lock()
	if len(m.byPod) != 1 || !m.byPod["pod1"]["c1"] {
		t.Errorf("containers by pod: %v", m.byPod)
	}
	m.mu.Unlock()
}

func TestStartupFailureAndInitialDelay(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	run := &scripted{calls: map[string]int{}, results: map[string][]bool{"c/startup": {false}}, clock: clk, first: map[string]time.Time{}}
	m := NewManager(run, clk, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); m.Wait() }()
	p := execProbe("startup", 2, 3, 1)
	p.InitialDelaySeconds = 30
	started := clk.Now()
	m.Start(ctx, "pod", "c", started, Probes{Startup: p}, Target{})
	st := waitState(t, m, clk, "c", func(s State) bool { return s.Failed != "" })
	if st.Failed != Startup || st.Started {
		t.Errorf("state %+v", st)
	}
	run.mu.Lock()
	first := run.first["c/startup"]
	run.mu.Unlock()
	if first.Sub(started) < 30*time.Second {
		t.Errorf("first probed %v after the start, before the 30s initial delay", first.Sub(started))
	}
}
