package linux

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"petset/internal/agent/runtime"
)

// waitEvent waits (bounded) for an event about container id.
func waitEvent(t *testing.T, rt *Runtime, id string) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev := <-rt.Events():
			if ev.ContainerID == id {
				return
			}
		case <-timeout:
			t.Fatalf("no event for container %s", id)
		}
	}
}

func TestRecoveryByNewRuntime(t *testing.T) {
	requireRoot(t)
	cfg := newTestConfig(t)
	rt1, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sb := runSandbox(t, rt1, "db-0")
	st := start(t, rt1, sb.UID, runtime.ContainerConfig{Name: "db", Argv: []string{"sleep", "1000"}})
	waitEvent(t, rt1, st.ID)
	rt1.Close()

	rt2 := startRuntime(t, cfg)
	list, err := rt2.ListSandboxes(ctx)
	if err != nil || len(list) != 1 || list[0].UID != sb.UID || list[0].IP != sb.IP {
		t.Fatalf("adopted sandboxes = %+v, %v; want %+v", list, err, sb)
	}
	ctrs, _ := rt2.ListContainers(ctx, sb.UID)
	if len(ctrs) != 1 || ctrs[0].ID != st.ID || ctrs[0].State != runtime.StateRunning || ctrs[0].PID != st.PID {
		t.Fatalf("adopted containers = %+v, want %s running as %d", ctrs, st.ID, st.PID)
	}
	// The new runtime still learns the exit code.
	if err := syscall.Kill(st.PID, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, rt2, st.ID)
	got := waitState(t, rt2, st.ID, runtime.StateExited)
	if got.ExitCode != 128+int(syscall.SIGUSR1) {
		t.Fatalf("exit after SIGUSR1 = %+v", got)
	}
	// A second container and an exec through the adopted sandbox work.
	st2 := start(t, rt2, sb.UID, runtime.ContainerConfig{Name: "db", Attempt: 1, Argv: []string{"sleep", "1000"}})
	var out lockedBuffer
	if code, err := rt2.Exec(ctx, st2.ID, []string{"hostname"}, runtime.Streams{Stdout: &out}); err != nil || code != 0 || out.String() != "db-0\n" {
		t.Fatalf("exec via adopted sandbox = %d, %v, %q", code, err, out.String())
	}
}

// TestPodsSurviveAgentKill runs the runtime in a separate process (the
// agent), kills it with SIGKILL and adopts its pod.
func TestPodsSurviveAgentKill(t *testing.T) {
	requireRoot(t)
	cfg := newTestConfig(t)
	b, _ := json.Marshal(cfg)
	cmd := exec.Command(testBinary(t))
	cmd.Env = append(os.Environ(), testRoleEnv+"=agent", "PETSET_TEST_CONFIG="+string(b))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	agentPID := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(agentPID, syscall.SIGKILL)
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("agent: %v", err)
	}
	var uid, id string
	var pid int
	if _, err := fmt.Sscan(line, &uid, &id, &pid); err != nil {
		t.Fatalf("agent said %q: %v", line, err)
	}
	if err := syscall.Kill(agentPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if processGone(pid) {
		t.Fatalf("container process %d died with the agent", pid)
	}
	rt := startRuntime(t, cfg)
	t.Cleanup(func() { rt.StopSandbox(context.Background(), uid) })
	ctx := context.Background()
	st, err := rt.ContainerStatus(ctx, id)
	if err != nil || st.State != runtime.StateRunning || st.PID != pid {
		t.Fatalf("after agent kill: %+v, %v", st, err)
	}
	if err := rt.StopContainer(ctx, id, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	st, _ = rt.ContainerStatus(ctx, id)
	if st.State != runtime.StateExited || st.ExitCode != 143 {
		t.Fatalf("after stop: %+v", st)
	}
	if !processGone(pid) {
		t.Fatalf("process %d survives StopContainer", pid)
	}
}

func init() {
	testRoles["agent"] = func(args []string) int {
		var cfg Config
		if err := json.Unmarshal([]byte(os.Getenv("PETSET_TEST_CONFIG")), &cfg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ctx := context.Background()
		rt, err := New(ctx, cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		uid := "uid-agent-" + strconv.Itoa(os.Getpid())
		if _, err := rt.RunSandbox(ctx, runtime.SandboxConfig{UID: uid, Namespace: "default", Name: "survivor-0"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		st, err := rt.StartContainer(ctx, uid, runtime.ContainerConfig{Name: "main", Argv: []string{"sleep", "1000"}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(uid, st.ID, st.PID)
		select {}
	}
}

func TestAttach(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "attach-0")
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "cat", Argv: []string{"sh", "-c", "echo ready; cat; echo bye >&2"}, Stdin: true, StdinOnce: true})
	waitLog(t, rt, st.ID, "ready")
	var out, errOut lockedBuffer
	err := rt.Attach(context.Background(), st.ID, runtime.Streams{Stdin: strings.NewReader("typed\n"), Stdout: &out, Stderr: &errOut})
	if err != nil {
		t.Fatal(err)
	}
	// The first attach of a StdinOnce container also gets what it wrote
	// before the attach.
	if out.String() != "ready\ntyped\n" || errOut.String() != "bye\n" {
		t.Fatalf("attach stdout %q stderr %q", out.String(), errOut.String())
	}
	got := waitState(t, rt, st.ID, runtime.StateExited)
	if got.ExitCode != 0 {
		t.Fatalf("exit %+v", got)
	}
	// stdout and stderr are separate pipes: their relative order is not fixed.
	if l := logsOf(t, rt, st.ID, runtime.LogOptions{}); !strings.HasPrefix(l, "ready\n") || !strings.Contains(l, "typed\n") || !strings.Contains(l, "bye\n") || len(l) != len("ready\ntyped\nbye\n") {
		t.Fatalf("log %q", l)
	}
}

func TestResourceLimits(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	if rt.cg.mode == cgroupNone {
		t.Fatalf("no writable cgroup hierarchy on this machine: %s", rt.Limits())
	}
	sb := runSandbox(t, rt, "limits-0")
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "main", Argv: []string{"sleep", "1000"},
		Resources: runtime.Resources{CPUMilli: 250, MemoryBytes: 64 << 20}})
	rec, _ := rt.record(st.ID)
	read := func(dir, file string) string {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	procs := func(dir string) string { return read(dir, "cgroup.procs") }
	switch rec.Cgroup.Mode {
	case cgroupV2:
		dir := rec.Cgroup.Dirs[0]
		if got := read(dir, "memory.max"); got != strconv.Itoa(64<<20) {
			t.Errorf("memory.max = %s", got)
		}
		if got := read(dir, "cpu.max"); got != "25000 100000" {
			t.Errorf("cpu.max = %s", got)
		}
		if !strings.Contains(procs(dir), strconv.Itoa(st.PID)) {
			t.Errorf("pid %d not in %s", st.PID, dir)
		}
	case cgroupV1:
		mem, cpu := rec.Cgroup.Dirs[0], rec.Cgroup.Dirs[1]
		if got := read(mem, "memory.limit_in_bytes"); got != strconv.Itoa(64<<20) {
			t.Errorf("memory.limit_in_bytes = %s", got)
		}
		if got := read(cpu, "cpu.cfs_quota_us"); got != "25000" {
			t.Errorf("cpu.cfs_quota_us = %s", got)
		}
		for _, d := range rec.Cgroup.Dirs {
			if !strings.Contains(procs(d), strconv.Itoa(st.PID)) {
				t.Errorf("pid %d not in %s", st.PID, d)
			}
		}
	default:
		t.Fatalf("container has no cgroup: %+v", rec.Cgroup)
	}
	if err := rt.StopSandbox(context.Background(), sb.UID); err != nil {
		t.Fatal(err)
	}
	for _, d := range rec.Cgroup.Dirs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s survives the sandbox", d)
		}
	}
}

func TestIsolationNone(t *testing.T) {
	cfg := Config{StateDir: t.TempDir(), Isolation: IsolationNone}
	rt := startRuntime(t, cfg)
	ctx := context.Background()
	sb, err := rt.RunSandbox(ctx, runtime.SandboxConfig{UID: "uid-none-" + randHex(4), Namespace: "default", Name: "plain-0"})
	if err != nil {
		t.Fatal(err)
	}
	if sb.IP != "" {
		t.Fatalf("isolation=none pod has IP %q", sb.IP)
	}
	host, _ := os.Hostname()
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "main", Argv: []string{"sh", "-c", "sleep 1000 & echo started; wait"}})
	waitLog(t, rt, st.ID, "started")
	var out lockedBuffer
	if code, err := rt.Exec(ctx, st.ID, []string{"hostname"}, runtime.Streams{Stdout: &out}); err != nil || code != 0 || out.String() != host+"\n" {
		t.Fatalf("exec hostname = %d, %v, %q; want the host's %q", code, err, out.String(), host)
	}
	pids := sessionProcesses(st.PID)
	if len(pids) < 2 {
		t.Fatalf("session of %d = %v, want sh and sleep", st.PID, pids)
	}
	if err := rt.StopSandbox(ctx, sb.UID); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if !processGone(pid) {
			t.Errorf("process %d survives the stopped pod", pid)
		}
	}
	got, _ := rt.ContainerStatus(ctx, st.ID)
	if got.State != runtime.StateExited {
		t.Fatalf("after stop: %+v", got)
	}
}

// sessionProcesses lists the live processes of session sid.
func sessionProcesses(sid int) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 3 && f[3] == strconv.Itoa(sid) && !processGone(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestSandboxInitDeath(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "crash-0")
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "main", Argv: []string{"sleep", "1000"}})
	rt.mu.Lock()
	initPID := rt.sandboxes[sb.UID].rec.InitPID
	rt.mu.Unlock()
	if err := syscall.Kill(initPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	got := waitState(t, rt, st.ID, runtime.StateExited)
	if got.ExitCode != 137 || !strings.Contains(got.Message, "sandbox") {
		t.Fatalf("container after its init died: %+v", got)
	}
	if !processGone(st.PID) {
		t.Fatalf("container process %d survives its sandbox's init", st.PID)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		list, _ := rt.ListSandboxes(context.Background())
		_, err := os.Stat(filepath.Join(rt.l.ipamDir(), sb.IP))
		if len(list) == 0 && err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead sandbox still listed (%+v) or its IP still claimed", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The pod can get a new sandbox.
	again, err := rt.RunSandbox(context.Background(), runtime.SandboxConfig{UID: sb.UID, Namespace: "default", Name: "crash-0"})
	if err != nil || again.IP == "" {
		t.Fatalf("new sandbox after a crash: %+v, %v", again, err)
	}
}
