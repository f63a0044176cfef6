package linux

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"petset/internal/agent/runtime"
)

func TestSandboxIdentity(t *testing.T) {
	requireRoot(t)
	hostHosts, _ := os.ReadFile("/etc/hosts")
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	hostName, _ := os.Hostname()
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "kubia-0")
	if ip := net.ParseIP(sb.IP); ip == nil || !rt.net.subnet.Contains(ip) || ip.Equal(rt.net.gateway) {
		t.Fatalf("sandbox IP %q is not a pod address in %s", sb.IP, rt.net.subnet)
	}
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "main", Argv: []string{"sh", "-c", "hostname; cat /etc/hosts; cat /etc/resolv.conf; echo HOSTNAME=$HOSTNAME"}})
	st = waitState(t, rt, st.ID, runtime.StateExited)
	if st.ExitCode != 0 || st.Reason != "Completed" {
		t.Fatalf("exit = %d %q %q, want 0 Completed", st.ExitCode, st.Reason, st.Message)
	}
	out := logsOf(t, rt, st.ID, runtime.LogOptions{})
	for _, want := range []string{"kubia-0\n", "kubia-0.test-hosts-marker", "search default.svc.cluster.local", "HOSTNAME=kubia-0"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The pod's eth0 holds its IP.
	st = start(t, rt, sb.UID, runtime.ContainerConfig{Name: "addrs", Argv: []string{podBinary}, Env: []string{testRoleEnv + "=addrs"}})
	st = waitState(t, rt, st.ID, runtime.StateExited)
	if out := logsOf(t, rt, st.ID, runtime.LogOptions{}); !strings.Contains(out, sb.IP+"/") {
		t.Errorf("eth0 addresses %q lack %s (exit %d)", out, sb.IP, st.ExitCode)
	}
	// The host is untouched.
	if h, _ := os.ReadFile("/etc/hosts"); string(h) != string(hostHosts) {
		t.Errorf("host /etc/hosts changed")
	}
	if r, _ := os.ReadFile("/etc/resolv.conf"); string(r) != string(hostResolv) {
		t.Errorf("host /etc/resolv.conf changed")
	}
	if h, _ := os.Hostname(); h != hostName {
		t.Errorf("host hostname changed to %q", h)
	}
	// The pod's own address is in its hosts file although the agent could
	// not know it yet.
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sb.IP) + `\tkubia-0$`).MatchString(out) {
		t.Errorf("hosts file lacks the pod's own address %s:\n%s", sb.IP, out)
	}
	// RunSandbox is idempotent per UID, and refreshes the pod's files in
	// place when the agent has new content.
	hosts := "127.0.0.1\tlocalhost\n" + sb.IP + "\tkubia-0.kubia.default.svc.cluster.local\tkubia-0\n"
	again, err := rt.RunSandbox(context.Background(), runtime.SandboxConfig{UID: sb.UID, Namespace: "default", Name: "kubia-0",
		HostsFile: []byte(hosts), ResolvConf: []byte("nameserver 10.234.0.1\n")})
	if err != nil || again.IP != sb.IP || !again.CreatedAt.Equal(sb.CreatedAt) {
		t.Fatalf("second RunSandbox = %+v, %v; want the same sandbox %+v", again, err, sb)
	}
	st = start(t, rt, sb.UID, runtime.ContainerConfig{Name: "again", Argv: []string{"cat", "/etc/hosts", "/etc/resolv.conf"}})
	st = waitState(t, rt, st.ID, runtime.StateExited)
	if got := logsOf(t, rt, st.ID, runtime.LogOptions{}); got != hosts+"nameserver 10.234.0.1\n" {
		t.Fatalf("pod files after refresh = %q", got)
	}
}

func TestPodNetwork(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	a := runSandbox(t, rt, "pod-a")
	b := runSandbox(t, rt, "pod-b")
	if a.IP == b.IP {
		t.Fatalf("two pods share IP %s", a.IP)
	}
	srv := start(t, rt, a.UID, runtime.ContainerConfig{Name: "server", Argv: []string{podBinary, "0.0.0.0:8080"}, Env: []string{testRoleEnv + "=listen"}})
	waitLog(t, rt, srv.ID, "listening")

	// Pod to pod.
	cl := start(t, rt, b.UID, runtime.ContainerConfig{Name: "client", Argv: []string{podBinary, net.JoinHostPort(a.IP, "8080")}, Env: []string{testRoleEnv + "=dial"}})
	cl = waitState(t, rt, cl.ID, runtime.StateExited)
	if out := logsOf(t, rt, cl.ID, runtime.LogOptions{}); cl.ExitCode != 0 || !strings.Contains(out, "hello from pod-a") {
		t.Fatalf("pod-b → pod-a: exit %d, output %q", cl.ExitCode, out)
	}
	// Host to pod.
	c, err := net.DialTimeout("tcp", net.JoinHostPort(a.IP, "8080"), 10*time.Second)
	if err != nil {
		t.Fatalf("host → pod: %v", err)
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if line != "hello from pod-a\n" {
		t.Fatalf("host → pod: got %q", line)
	}
	// Pod to the host's bridge address.
	ln, err := net.Listen("tcp", net.JoinHostPort(rt.net.gateway.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello from host\n"))
			c.Close()
		}
	}()
	cl = start(t, rt, b.UID, runtime.ContainerConfig{Name: "client2", Argv: []string{podBinary, ln.Addr().String()}, Env: []string{testRoleEnv + "=dial"}})
	cl = waitState(t, rt, cl.ID, runtime.StateExited)
	if out := logsOf(t, rt, cl.ID, runtime.LogOptions{}); cl.ExitCode != 0 || !strings.Contains(out, "hello from host") {
		t.Fatalf("pod → bridge address: exit %d, output %q", cl.ExitCode, out)
	}
}

func TestVolumeMounts(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "vol-0")
	hostDir := t.TempDir()
	roDir := t.TempDir()
	os.WriteFile(filepath.Join(roDir, "config"), []byte("from-host"), 0o644)
	// Mount points that do not exist yet are created.
	inPod := filepath.Join(t.TempDir(), "pod", "var", "lib", "data")
	roInPod := filepath.Join(t.TempDir(), "pod", "etc", "conf")
	st := start(t, rt, sb.UID, runtime.ContainerConfig{
		Name:       "writer",
		Argv:       []string{"sh", "-c", "echo persisted > " + inPod + "/file; cat " + roInPod + "/config; echo; if echo x > " + roInPod + "/new 2>/dev/null; then echo RW; else echo RO; fi; pwd"},
		Mounts:     []runtime.Mount{{HostPath: hostDir, ContainerPath: inPod}, {HostPath: roDir, ContainerPath: roInPod, ReadOnly: true}},
		WorkingDir: inPod,
	})
	st = waitState(t, rt, st.ID, runtime.StateExited)
	out := logsOf(t, rt, st.ID, runtime.LogOptions{})
	if st.ExitCode != 0 {
		t.Fatalf("exit %d: %s", st.ExitCode, out)
	}
	if b, err := os.ReadFile(filepath.Join(hostDir, "file")); err != nil || string(b) != "persisted\n" {
		t.Fatalf("file written in the pod is not on the host: %q, %v", b, err)
	}
	for _, want := range []string{"from-host", "RO\n", inPod + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q: %q", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(roDir, "new")); err == nil {
		t.Errorf("read-only mount was written")
	}
	// The host's mount table is untouched: the mount point is an empty dir.
	if ents, _ := os.ReadDir(inPod); len(ents) != 0 {
		t.Errorf("the pod's bind mount leaked to the host: %v", ents)
	}
	// A file mounted over /etc/hosts (as the agent does) shows the current
	// file even when its writer replaced it by rename between containers.
	hostsFile := filepath.Join(t.TempDir(), "etc-hosts")
	for i, content := range []string{"10.0.0.1\tfirst\n", "10.0.0.2\tsecond\n"} {
		os.WriteFile(hostsFile+".tmp", []byte(content), 0o644)
		os.Rename(hostsFile+".tmp", hostsFile)
		st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "hosts", Attempt: i, Argv: []string{"cat", "/etc/hosts"},
			Mounts: []runtime.Mount{{HostPath: hostsFile, ContainerPath: "/etc/hosts"}}})
		st = waitState(t, rt, st.ID, runtime.StateExited)
		if got := logsOf(t, rt, st.ID, runtime.LogOptions{}); got != content {
			t.Fatalf("attempt %d: /etc/hosts = %q, want %q", i, got, content)
		}
	}
	if err := rt.StopSandbox(context.Background(), sb.UID); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(hostDir, "file")); err != nil || string(b) != "persisted\n" {
		t.Fatalf("volume data gone after the pod stopped: %q, %v", b, err)
	}
}

func TestExec(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "web-1")
	vol := t.TempDir()
	os.WriteFile(filepath.Join(vol, "index.html"), []byte("volume content"), 0o644)
	mnt := filepath.Join(t.TempDir(), "www")
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "main", Argv: []string{"sleep", "1000"},
		Env: []string{"GREETING=hi"}, Mounts: []runtime.Mount{{HostPath: vol, ContainerPath: mnt}}})
	ctx := context.Background()

	var out, errOut lockedBuffer
	code, err := rt.Exec(ctx, st.ID, []string{"hostname"}, runtime.Streams{Stdout: &out, Stderr: &errOut})
	if err != nil || code != 0 || out.String() != "web-1\n" {
		t.Fatalf("exec hostname = %d, %v, %q (stderr %q)", code, err, out.String(), errOut.String())
	}
	out = lockedBuffer{}
	code, err = rt.Exec(ctx, st.ID, []string{"sh", "-c", "cat " + mnt + "/index.html; echo; echo $GREETING; echo oops >&2; exit 3"}, runtime.Streams{Stdout: &out, Stderr: &errOut})
	if err != nil || code != 3 {
		t.Fatalf("exec exit = %d, %v; want 3", code, err)
	}
	if out.String() != "volume content\nhi\n" || !strings.Contains(errOut.String(), "oops") {
		t.Fatalf("exec output %q, stderr %q", out.String(), errOut.String())
	}
	// stdin
	out = lockedBuffer{}
	code, err = rt.Exec(ctx, st.ID, []string{"cat"}, runtime.Streams{Stdin: strings.NewReader("piped in\n"), Stdout: &out})
	if err != nil || code != 0 || out.String() != "piped in\n" {
		t.Fatalf("exec cat = %d, %v, %q", code, err, out.String())
	}
	// TTY
	out = lockedBuffer{}
	resize := make(chan runtime.TermSize, 1)
	resize <- runtime.TermSize{Width: 123, Height: 45}
	code, err = rt.Exec(ctx, st.ID, []string{"sh", "-c", "sleep 0.3; tty; stty size"}, runtime.Streams{Stdout: &out, TTY: true, Resize: resize})
	if err != nil || code != 0 || !strings.Contains(out.String(), "/dev/pts/") || !strings.Contains(out.String(), "45 123") {
		t.Fatalf("exec tty = %d, %v, %q", code, err, out.String())
	}
	// The exec'd process runs in the pod's PID namespace: init is PID 1.
	out = lockedBuffer{}
	code, err = rt.Exec(ctx, st.ID, []string{"cat", "/proc/1/cmdline"}, runtime.Streams{Stdout: &out})
	if err != nil || code != 0 || !strings.Contains(out.String(), "petset-sandbox-init") {
		t.Fatalf("PID 1 of the pod is %q (%d, %v)", out.String(), code, err)
	}
	// Cancelling the context kills the session.
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := rt.Exec(cctx, st.ID, []string{"sleep", "1000"}, runtime.Streams{})
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-errc; err == nil {
		t.Fatalf("cancelled exec returned no error")
	}
	// Exec in a container that is not running fails.
	rt.StopContainer(ctx, st.ID, time.Second)
	if _, err := rt.Exec(ctx, st.ID, []string{"true"}, runtime.Streams{}); err == nil {
		t.Fatalf("exec in an exited container succeeded")
	}
}

func TestExitCodesAndStartErrors(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "codes-0")
	for _, tc := range []struct {
		argv   []string
		code   int
		reason string
	}{
		{[]string{"true"}, 0, "Completed"},
		{[]string{"sh", "-c", "exit 7"}, 7, "Error"},
		{[]string{"sh", "-c", "kill -9 $$"}, 137, "Error"},
	} {
		st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "c", Argv: tc.argv})
		st = waitState(t, rt, st.ID, runtime.StateExited)
		if st.ExitCode != tc.code || st.Reason != tc.reason || st.FinishedAt.IsZero() || st.StartedAt.IsZero() {
			t.Errorf("%v: got %d %q (started %v finished %v), want %d %q", tc.argv, st.ExitCode, st.Reason, st.StartedAt, st.FinishedAt, tc.code, tc.reason)
		}
	}
	st, err := rt.StartContainer(context.Background(), sb.UID, runtime.ContainerConfig{Name: "missing", Argv: []string{"no-such-binary-petset"}})
	if err == nil || st.State != runtime.StateExited || st.Reason != "StartError" || st.ExitCode != 128 {
		t.Fatalf("missing binary: %+v, %v", st, err)
	}
	list, _ := rt.ListContainers(context.Background(), sb.UID)
	if len(list) != 4 {
		t.Fatalf("ListContainers = %d containers, want 4 (exited ones included)", len(list))
	}
	if _, err := rt.StartContainer(context.Background(), "no-such-pod", runtime.ContainerConfig{Name: "x", Argv: []string{"true"}}); err == nil {
		t.Fatalf("StartContainer in a missing sandbox succeeded")
	}
	// RemoveContainer forgets it and its log.
	if err := rt.RemoveContainer(context.Background(), list[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.ContainerStatus(context.Background(), list[0].ID); err == nil {
		t.Fatalf("removed container still has a status")
	}
	if _, err := os.Stat(rt.l.logPath(list[0].ID)); err == nil {
		t.Fatalf("removed container's log remains")
	}
}

func TestStopGrace(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "grace-0")
	ctx := context.Background()
	// A process that exits on SIGTERM.
	polite := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "polite", Argv: []string{"sleep", "1000"}})
	if err := rt.StopContainer(ctx, polite.ID, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	st, _ := rt.ContainerStatus(ctx, polite.ID)
	if st.State != runtime.StateExited || st.ExitCode != 128+int(syscall.SIGTERM) {
		t.Fatalf("after SIGTERM: %+v", st)
	}
	// A process that ignores SIGTERM is killed once the grace period ends.
	stubborn := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "stubborn", Argv: []string{"sh", "-c", "trap '' TERM; echo ready; sleep 1000"}})
	waitLog(t, rt, stubborn.ID, "ready")
	pid := stubborn.PID
	grace := 1500 * time.Millisecond
	began := time.Now()
	if err := rt.StopContainer(ctx, stubborn.ID, grace); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	st, _ = rt.ContainerStatus(ctx, stubborn.ID)
	if st.State != runtime.StateExited || st.ExitCode != 137 {
		t.Fatalf("after grace: %+v", st)
	}
	if took < grace {
		t.Fatalf("SIGKILL came after %v, before the %v grace period ended", took, grace)
	}
	if pid <= 0 || !processGone(pid) {
		t.Fatalf("container process %d still runs after StopContainer", pid)
	}
	// Stopping an exited container is fine.
	if err := rt.StopContainer(ctx, stubborn.ID, time.Second); err != nil {
		t.Fatal(err)
	}
}

var criLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (stdout|stderr) [PF] .*$`)

func TestLogs(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "logs-0")
	ctx := context.Background()
	// stdout and stderr are separate pipes: the script writes to stderr
	// only once the test saw its stdout in the log and said so (/sig/go),
	// so the records' order is fixed.
	sig := t.TempDir()
	script := "for i in 1 2 3 4 5; do echo line$i; done; " +
		"until [ -e /sig/go ]; do sleep 0.01; done; echo problem >&2"
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "main", Attempt: 0, Argv: []string{"sh", "-c", script},
		Mounts: []runtime.Mount{{HostPath: sig, ContainerPath: "/sig", ReadOnly: true}}})
	waitLog(t, rt, st.ID, "line5\n")
	if err := os.WriteFile(filepath.Join(sig, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	st = waitState(t, rt, st.ID, runtime.StateExited)
	raw, err := os.ReadFile(rt.l.logPath(st.ID))
	if err != nil {
		t.Fatal(err)
	}
	rawLines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(rawLines) != 6 {
		t.Fatalf("log file has %d records: %q", len(rawLines), raw)
	}
	for _, l := range rawLines {
		if !criLine.MatchString(l) {
			t.Errorf("not a CRI log record: %q", l)
		}
	}
	if !strings.HasSuffix(rawLines[5], " stderr F problem") {
		t.Errorf("stderr record = %q", rawLines[5])
	}
	all := logsOf(t, rt, st.ID, runtime.LogOptions{})
	if all != "line1\nline2\nline3\nline4\nline5\nproblem\n" {
		t.Fatalf("logs = %q", all)
	}
	two := int64(2)
	if got := logsOf(t, rt, st.ID, runtime.LogOptions{TailLines: &two}); got != "line5\nproblem\n" {
		t.Fatalf("tail 2 = %q", got)
	}
	limit := int64(8)
	if got := logsOf(t, rt, st.ID, runtime.LogOptions{LimitBytes: &limit}); got != "line1\nli" {
		t.Fatalf("limit 8 bytes = %q", got)
	}
	ts := logsOf(t, rt, st.ID, runtime.LogOptions{Timestamps: true, TailLines: &two})
	tl := strings.Split(strings.TrimSuffix(ts, "\n"), "\n")
	if len(tl) != 2 || !strings.HasSuffix(tl[0], " line5") {
		t.Fatalf("timestamps = %q", ts)
	}
	stamp, err := time.Parse(time.RFC3339Nano, strings.Fields(tl[0])[0])
	if err != nil {
		t.Fatalf("timestamp of %q: %v", tl[0], err)
	}
	after := stamp.Add(time.Hour)
	if got := logsOf(t, rt, st.ID, runtime.LogOptions{SinceTime: &after}); got != "" {
		t.Fatalf("since the future = %q", got)
	}
	before := stamp.Add(-time.Hour)
	if got := logsOf(t, rt, st.ID, runtime.LogOptions{SinceTime: &before}); got != all {
		t.Fatalf("since an hour ago = %q", got)
	}

	// Follow streams lines as they come and ends when the container exits.
	slow := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "slow", Argv: []string{"sh", "-c", "echo first; read x < /dev/null; sleep 0.5; echo second; sleep 0.5; printf 'no newline'"}})
	var buf lockedBuffer
	if err := rt.Logs(ctx, slow.ID, runtime.LogOptions{Follow: true}, &buf); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "first\nsecond\nno newline\n" {
		t.Fatalf("followed logs = %q", buf.String())
	}
	// A new attempt keeps the previous attempt's log.
	next := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "main", Attempt: 1, Argv: []string{"echo", "attempt1"}})
	waitState(t, rt, next.ID, runtime.StateExited)
	if got := logsOf(t, rt, st.ID, runtime.LogOptions{}); got != all {
		t.Fatalf("previous attempt's log changed: %q", got)
	}
	if got := logsOf(t, rt, next.ID, runtime.LogOptions{}); got != "attempt1\n" {
		t.Fatalf("new attempt's log = %q", got)
	}
	// Follow of a running container stops with the context.
	long := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "long", Argv: []string{"sh", "-c", "echo hello; sleep 1000"}})
	waitLog(t, rt, long.ID, "hello")
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	var fb lockedBuffer
	go func() { done <- rt.Logs(cctx, long.ID, runtime.LogOptions{Follow: true}, &fb) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestStopSandboxLeavesNothing(t *testing.T) {
	requireRoot(t)
	cfg := newTestConfig(t)
	rt := startRuntime(t, cfg)
	sb := runSandbox(t, rt, "gone-0")
	ctx := context.Background()
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "main", Argv: []string{"sh", "-c", "sleep 1000 & sleep 1000 & echo started; wait"}})
	waitLog(t, rt, st.ID, "started")
	rt.mu.Lock()
	rec := rt.sandboxes[sb.UID].rec
	rt.mu.Unlock()
	pids := podProcesses(t, rec.InitPID)
	if len(pids) < 4 { // init, sh, two sleeps
		t.Fatalf("pod processes %v, want init, sh and two sleeps", pids)
	}
	if err := rt.StopSandbox(ctx, sb.UID); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if !processGone(pid) {
			t.Errorf("process %d of the stopped pod survives", pid)
		}
	}
	if _, err := netlink.LinkByName(rec.HostVeth); err == nil {
		t.Errorf("veth %s survives", rec.HostVeth)
	}
	if _, err := os.Stat(filepath.Join(rt.l.ipamDir(), sb.IP)); err == nil {
		t.Errorf("IP %s is still claimed", sb.IP)
	}
	if _, err := os.Stat(rt.l.sock(sb.UID)); err == nil {
		t.Errorf("control socket survives")
	}
	if list, _ := rt.ListSandboxes(ctx); len(list) != 0 {
		t.Errorf("ListSandboxes after stop = %+v", list)
	}
	got, _ := rt.ContainerStatus(ctx, st.ID)
	if got.State != runtime.StateExited || got.ExitCode != 137 {
		t.Errorf("container after StopSandbox: %+v", got)
	}
	// Stopping again is not an error; the freed IP can be reused.
	if err := rt.StopSandbox(ctx, sb.UID); err != nil {
		t.Fatal(err)
	}
}

// podProcesses lists the host PIDs in init's PID namespace.
func podProcesses(t *testing.T, initPID int) []int {
	t.Helper()
	want, err := os.Readlink("/proc/" + strconv.Itoa(initPID) + "/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	// init's own pid namespace link is its parent's: compare children's.
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, _ := os.Readlink("/proc/" + e.Name() + "/ns/pid"); ns == want && !processGone(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}
