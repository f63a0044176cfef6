package fake

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"petset/internal/agent/runtime"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestLifecycleOnTimeline(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r, err := New(Config{PodCIDR: "10.1.2.0/24", StartDelay: 2 * time.Second, StopDelay: 5 * time.Second, ReadyDelay: 3 * time.Second, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sb, err := r.RunSandbox(ctx, runtime.SandboxConfig{UID: "u1", Name: "web-0", Hostname: "web-0"})
	if err != nil {
		t.Fatal(err)
	}
	if sb.IP != "10.1.2.2" {
		t.Errorf("first pod IP %q", sb.IP)
	}
	again, _ := r.RunSandbox(ctx, runtime.SandboxConfig{UID: "u1"})
	if again.IP != sb.IP {
		t.Error("RunSandbox of an existing UID made a new sandbox")
	}
	c, err := r.StartContainer(ctx, "u1", runtime.ContainerConfig{Name: "main", Argv: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.State != runtime.StateCreated {
		t.Fatalf("state %s", c.State)
	}
	clk.Step(2 * time.Second)
	waitFor(t, "running", func() bool { s, _ := r.ContainerStatus(ctx, c.ID); return s.State == runtime.StateRunning })
	if ok, _ := r.Probe(ctx, c.ID); ok {
		t.Error("probe passes before the ready delay")
	}
	clk.Step(3 * time.Second)
	if ok, msg := r.Probe(ctx, c.ID); !ok {
		t.Errorf("probe after ready delay: %s", msg)
	}

	var out bytes.Buffer
	if code, err := r.Exec(ctx, c.ID, []string{"hostname"}, runtime.Streams{Stdout: &out}); err != nil || code != 0 || out.String() != "web-0\n" {
		t.Errorf("hostname: %d %v %q", code, err, out.String())
	}
	out.Reset()
	if code, _ := r.Exec(ctx, c.ID, []string{"cat"}, runtime.Streams{Stdin: strings.NewReader("hi"), Stdout: &out}); code != 0 || out.String() != "hi" {
		t.Errorf("cat: %d %q", code, out.String())
	}
	if code, err := r.Exec(ctx, c.ID, []string{"psql"}, runtime.Streams{}); code != 126 || err == nil || !strings.Contains(err.Error(), "simulated node: exec of") {
		t.Errorf("unsupported exec: %d %v", code, err)
	}

	// Stop honours the grace period: the process would need 5s, grace is 1s.
	done := make(chan error, 1)
	go func() { done <- r.StopContainer(ctx, c.ID, time.Second) }()
	waitFor(t, "stop timer", func() bool { return clk.Waiters() > 0 })
	clk.Step(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s, _ := r.ContainerStatus(ctx, c.ID)
	if s.State != runtime.StateExited || s.ExitCode != 137 {
		t.Errorf("after grace: %+v", s)
	}
	var logs bytes.Buffer
	if err := r.Logs(ctx, c.ID, runtime.LogOptions{}, &logs); err != nil || strings.Count(logs.String(), "\n") < 4 {
		t.Errorf("logs %q %v", logs.String(), err)
	}
	if err := r.RemoveContainer(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ContainerStatus(ctx, c.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("removed container: %v", err)
	}
}

func TestExitInjectionAndSandboxStop(t *testing.T) {
	r, err := New(Config{PodCIDR: "10.1.3.0/30"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := r.RunSandbox(ctx, runtime.SandboxConfig{UID: "a"}); err != nil {
		t.Fatal(err)
	}
	// A /30 has only one usable address after the network and gateway.
	if _, err := r.RunSandbox(ctx, runtime.SandboxConfig{UID: "b"}); err == nil {
		t.Error("CIDR exhaustion not reported")
	}
	c, _ := r.StartContainer(ctx, "a", runtime.ContainerConfig{Name: "c"})
	if err := r.Exit(c.ID, 1); err != nil {
		t.Fatal(err)
	}
	s, _ := r.ContainerStatus(ctx, c.ID)
	if s.State != runtime.StateExited || s.ExitCode != 1 || s.Reason != "Error" {
		t.Errorf("%+v", s)
	}
	c2, _ := r.StartContainer(ctx, "a", runtime.ContainerConfig{Name: "c", Attempt: 1})
	if err := r.StopSandbox(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if s, _ := r.ContainerStatus(ctx, c2.ID); s.State != runtime.StateExited {
		t.Errorf("container survives its sandbox: %+v", s)
	}
	if sbs, _ := r.ListSandboxes(ctx); len(sbs) != 0 {
		t.Errorf("sandboxes %v", sbs)
	}
	if _, err := r.RunSandbox(ctx, runtime.SandboxConfig{UID: "b"}); err != nil {
		t.Errorf("address not released: %v", err)
	}
}

// A second StopContainer with a shorter grace period (a force delete while
// the first stop waits out 30s) kills the container at once; a longer one
// changes nothing.
func TestStopHonoursShorterGrace(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r, err := New(Config{StopDelay: time.Hour, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := r.RunSandbox(ctx, runtime.SandboxConfig{UID: "u1", Name: "slow-0"}); err != nil {
		t.Fatal(err)
	}
	c, err := r.StartContainer(ctx, "u1", runtime.ContainerConfig{Name: "main", Argv: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { first <- r.StopContainer(ctx, c.ID, 30*time.Second) }()
	waitFor(t, "the 30s kill timer", func() bool { return clk.HasWaiters() })
	longer := make(chan error, 1)
	go func() { longer <- r.StopContainer(ctx, c.ID, time.Minute) }()
	clk.Step(10 * time.Second)
	if s, _ := r.ContainerStatus(ctx, c.ID); s.State == runtime.StateExited {
		t.Fatalf("exited 10s into a 30s grace period: %+v", s)
	}
	if err := r.StopContainer(ctx, c.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(<-first, <-longer); err != nil {
		t.Fatal(err)
	}
	s, _ := r.ContainerStatus(ctx, c.ID)
	if s.State != runtime.StateExited || s.ExitCode != 137 || !s.FinishedAt.Equal(clk.Now()) {
		t.Fatalf("after the grace-0 stop: %+v (now %s)", s, clk.Now())
	}
}

// An init container runs for InitDuration, then completes with exit 0; an
// app container of the same pod keeps running.
func TestInitContainerCompletes(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r, err := New(Config{StartDelay: time.Second, InitDuration: 4 * time.Second, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := r.RunSandbox(ctx, runtime.SandboxConfig{UID: "u1", Name: "web-0"}); err != nil {
		t.Fatal(err)
	}
	ic, err := r.StartContainer(ctx, "u1", runtime.ContainerConfig{Name: "init-db", Argv: []string{"migrate"}, Init: true})
	if err != nil {
		t.Fatal(err)
	}
	app, err := r.StartContainer(ctx, "u1", runtime.ContainerConfig{Name: "main", Argv: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}
	state := func(id string) runtime.ContainerStatus { s, _ := r.ContainerStatus(ctx, id); return s }
	clk.Step(time.Second)
	waitFor(t, "init container running", func() bool { return state(ic.ID).State == runtime.StateRunning })
	waitFor(t, "init completion timer", func() bool { return clk.Waiters() > 0 })
	clk.Step(3 * time.Second)
	if s := state(ic.ID); s.State != runtime.StateRunning {
		t.Fatalf("init container %s before its init duration", s.State)
	}
	clk.Step(time.Second)
	waitFor(t, "init container exited", func() bool { return state(ic.ID).State == runtime.StateExited })
	s := state(ic.ID)
	if s.ExitCode != 0 || s.Reason != "Completed" || s.Message != "" {
		t.Errorf("init container exit: code %d reason %q message %q, want 0 Completed", s.ExitCode, s.Reason, s.Message)
	}
	if want := clk.Now(); !s.FinishedAt.Equal(want) || !s.StartedAt.Equal(want.Add(-4*time.Second)) {
		t.Errorf("init container ran %s .. %s, want 4s ending %s", s.StartedAt, s.FinishedAt, want)
	}
	clk.Step(time.Hour)
	if s := state(app.ID); s.State != runtime.StateRunning {
		t.Errorf("app container %s, want Running", s.State)
	}
	var out bytes.Buffer
	if err := r.Logs(ctx, ic.ID, runtime.LogOptions{}, &out); err != nil || !strings.HasSuffix(out.String(), "simulated container init-db exited with code 0\n") {
		t.Errorf("init container log: %v %q", err, out.String())
	}
}

// A zero InitDuration completes an init container as soon as it runs; an
// injected failure (the agent's petset.io/simulate: fail) wins over a
// completion still pending.
func TestInitContainerImmediateAndFailed(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r, err := New(Config{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := r.RunSandbox(ctx, runtime.SandboxConfig{UID: "u1"}); err != nil {
		t.Fatal(err)
	}
	c, err := r.StartContainer(ctx, "u1", runtime.ContainerConfig{Name: "init", Argv: []string{"x"}, Init: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.State != runtime.StateExited || c.ExitCode != 0 || c.Reason != "Completed" {
		t.Errorf("init container with no init duration: %s code %d %q, want Exited 0 Completed", c.State, c.ExitCode, c.Reason)
	}

	r2, err := New(Config{InitDuration: time.Minute, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.RunSandbox(ctx, runtime.SandboxConfig{UID: "u2"}); err != nil {
		t.Fatal(err)
	}
	c, err = r2.StartContainer(ctx, "u2", runtime.ContainerConfig{Name: "init", Argv: []string{"x"}, Init: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Exit(c.ID, 1); err != nil {
		t.Fatal(err)
	}
	clk.Step(2 * time.Minute)
	s, _ := r2.ContainerStatus(ctx, c.ID)
	if s.State != runtime.StateExited || s.ExitCode != 1 || s.Reason != "Error" {
		t.Errorf("failed init container: %s code %d %q, want Exited 1 Error", s.State, s.ExitCode, s.Reason)
	}
}

// The pod's SimulateAnnotation, passed in SandboxConfig.Annotations, makes
// containers exit once running (fail: 1, succeed: 0), init containers
// included before their init duration ends; set later (the next
// RunSandbox), it applies to the containers running then. Without it
// nothing exits.
func TestSimulateAnnotation(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r, err := New(Config{InitDuration: time.Minute, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := func(uid string, annotations map[string]string, cfg runtime.ContainerConfig) runtime.ContainerStatus {
		t.Helper()
		if _, err := r.RunSandbox(ctx, runtime.SandboxConfig{UID: uid, Annotations: annotations}); err != nil {
			t.Fatal(err)
		}
		c, err := r.StartContainer(ctx, uid, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name, annotation string
		init             bool
		state            runtime.ContainerState
		code             int
		reason           string
	}{
		{"fail", "fail", false, runtime.StateExited, 1, "Error"},
		{"succeed", "succeed", false, runtime.StateExited, 0, "Completed"},
		{"failing init container", "fail", true, runtime.StateExited, 1, "Error"},
		{"no annotation", "", false, runtime.StateRunning, 0, ""},
		{"another value", "stop-heartbeat", false, runtime.StateRunning, 0, ""},
	} {
		c := start("u-"+tc.name, map[string]string{SimulateAnnotation: tc.annotation}, runtime.ContainerConfig{Name: "c", Argv: []string{"x"}, Init: tc.init})
		if c.State != tc.state || c.ExitCode != tc.code || c.Reason != tc.reason {
			t.Errorf("%s: %s code %d %q, want %s %d %q", tc.name, c.State, c.ExitCode, c.Reason, tc.state, tc.code, tc.reason)
		}
	}

	// Annotated later: the running container exits at the next RunSandbox.
	c := start("u-later", nil, runtime.ContainerConfig{Name: "c", Argv: []string{"x"}})
	if _, err := r.RunSandbox(ctx, runtime.SandboxConfig{UID: "u-later", Annotations: map[string]string{SimulateAnnotation: "fail"}}); err != nil {
		t.Fatal(err)
	}
	if s, _ := r.ContainerStatus(ctx, c.ID); s.State != runtime.StateExited || s.ExitCode != 1 || s.Message != "simulated exit" {
		t.Errorf("annotated while running: %s code %d %q", s.State, s.ExitCode, s.Message)
	}
}

func TestCutOff(t *testing.T) {
	n := &corev1.Node{}
	if CutOff(n) || CutOff(nil) {
		t.Error("a node without the annotation is cut off")
	}
	n.Annotations = map[string]string{SimulateAnnotation: "stop-heartbeat"}
	if !CutOff(n) {
		t.Error("stop-heartbeat does not cut the node off")
	}
}

// A Job's pod (label batch.kubernetes.io/job-name) completes its
// containers as init containers; the simulate annotation still decides
// where set.
func TestJobPodCompletes(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r, err := New(Config{InitDuration: time.Second, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	job := map[string]string{"batch.kubernetes.io/job-name": "pi"}
	if _, err := r.RunSandbox(ctx, runtime.SandboxConfig{UID: "j1", Name: "pi-abcde", Labels: job}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RunSandbox(ctx, runtime.SandboxConfig{UID: "j2", Name: "pi-fghij", Labels: job, Annotations: map[string]string{SimulateAnnotation: "fail"}}); err != nil {
		t.Fatal(err)
	}
	ok, err := r.StartContainer(ctx, "j1", runtime.ContainerConfig{Name: "pi", Argv: []string{"perl"}})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := r.StartContainer(ctx, "j2", runtime.ContainerConfig{Name: "pi", Argv: []string{"perl"}})
	if err != nil {
		t.Fatal(err)
	}
	state := func(id string) runtime.ContainerStatus { s, _ := r.ContainerStatus(ctx, id); return s }
	waitFor(t, "completion timer", func() bool { return clk.Waiters() > 0 })
	clk.Step(time.Second)
	waitFor(t, "job container exited", func() bool { return state(ok.ID).State == runtime.StateExited })
	if s := state(ok.ID); s.ExitCode != 0 || s.Reason != "Completed" {
		t.Errorf("job container exit %d %q", s.ExitCode, s.Reason)
	}
	if s := state(bad.ID); s.State != runtime.StateExited || s.ExitCode != 1 {
		t.Errorf("annotated job container %s exit %d, want exited 1", s.State, s.ExitCode)
	}
}
