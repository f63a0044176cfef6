package linux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"petset/internal/agent/runtime"
	"petset/internal/agent/runtime/linux/ctrinit"
)

// runIn starts a container that runs script with sh and returns its exit
// code and output.
func runIn(t *testing.T, rt *Runtime, uid, name string, cfg runtime.ContainerConfig, script string) (int, string) {
	t.Helper()
	cfg.Name = name
	cfg.Argv = []string{"sh", "-c", script}
	st := start(t, rt, uid, cfg)
	st = waitState(t, rt, st.ID, runtime.StateExited)
	return st.ExitCode, logsOf(t, rt, st.ID, runtime.LogOptions{})
}

// TestContainerRootfs: a container sees its own root filesystem — the
// host's programs read-only, nothing of the host's data, the runtime's
// state or another pod — with masked /proc, read-only /sys and the
// default capabilities.
func TestContainerRootfs(t *testing.T) {
	requireRoot(t)
	cfg := newTestConfig(t)
	rt := startRuntime(t, cfg)
	a := runSandbox(t, rt, "rootfs-0")
	b := runSandbox(t, rt, "rootfs-1")
	secret := filepath.Join(t.TempDir(), "host-secret")
	os.WriteFile(secret, []byte("s3cret"), 0o600)
	vol := t.TempDir()
	os.WriteFile(filepath.Join(vol, "mine"), []byte("volume"), 0o644)
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "theirs"), []byte("other pod"), 0o644)
	// A running container of pod b with its own volume.
	start(t, rt, b.UID, runtime.ContainerConfig{Name: "b", Argv: []string{"sleep", "1000"},
		Mounts: []runtime.Mount{{HostPath: other, ContainerPath: "/data"}}})

	defMask, _ := ctrinit.CapMask(ctrinit.DefaultCaps)
	script := strings.Join([]string{
		"set -u",
		"ls -a / | tr '\\n' ' '; echo",
		"test -e " + secret + " && echo SEES-HOST-FILE",
		"test -e " + cfg.StateDir + " && echo SEES-STATE-DIR",
		"test -e /data/theirs && echo SEES-OTHER-POD",
		"cat /vol/mine; echo",
		"grep CapEff /proc/self/status",
		"echo x > /proc/sysrq-trigger 2>/dev/null && echo SYSRQ-WRITABLE",
		"echo x > /sys/kernel/profiling 2>/dev/null && echo SYS-WRITABLE",
		"head -c1 /proc/timer_list | grep -q . && echo TIMERLIST-READABLE",
		"grep -q ' /proc/sys ro,' /proc/self/mountinfo || echo PROCSYS-WRITABLE",
		"grep -q ' /sys ro,' /proc/self/mountinfo || echo SYSMOUNT-WRITABLE",
		"touch /usr/bin/petset-probe 2>/dev/null && echo USR-WRITABLE",
		"echo tmp > /tmp/x && cat /tmp/x",
		"grep -q '^root:' /etc/passwd && echo PASSWD-OK",
		"test -x " + ctrinit.PetsetPath + " && echo PETSET-OK",
		"id -u",
	}, "; ")
	code, out := runIn(t, rt, a.UID, "probe", runtime.ContainerConfig{
		Mounts: []runtime.Mount{{HostPath: vol, ContainerPath: "/vol"}}}, script)
	t.Logf("container output:\n%s", out)
	if code != 0 {
		t.Fatalf("probe exited %d", code)
	}
	for _, bad := range []string{"SEES-", "WRITABLE", "READABLE", "/home ", " work "} {
		if strings.Contains(out, bad) {
			t.Errorf("output contains %q", bad)
		}
	}
	for _, want := range []string{".petset", "volume\n", fmt.Sprintf("CapEff:\t%016x", defMask), "tmp\n", "PASSWD-OK", "PETSET-OK", "\n0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if _, err := os.Stat("/usr/bin/petset-probe"); err == nil {
		os.Remove("/usr/bin/petset-probe")
		t.Errorf("the container wrote to the host's /usr")
	}
}

// TestContainerSecurity: runAsUser/runAsGroup/supplementalGroups, dropped
// and added capabilities, no_new_privs, readOnlyRootFilesystem, privileged,
// and exec sessions with the container's credentials; the sandbox init that
// starts them keeps its own on every thread.
func TestContainerSecurity(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "sec-0")

	code, out := runIn(t, rt, sb.UID, "user", runtime.ContainerConfig{
		Security: runtime.Security{RunAsUser: 1000, RunAsGroup: 3000, SupplementalGroups: []int64{2000}},
	}, "id; grep -E 'CapEff|CapBnd|NoNewPrivs' /proc/self/status; touch /etc/x 2>/dev/null && echo ETC-WRITABLE; echo ok")
	if code != 0 || !strings.Contains(out, "uid=1000(user1000) gid=3000(group3000) groups=3000(group3000),2000(group2000)") ||
		!strings.Contains(out, "CapEff:\t0000000000000000") || !strings.Contains(out, "NoNewPrivs:\t1") || strings.Contains(out, "WRITABLE") {
		t.Errorf("runAsUser container: exit %d:\n%s", code, out)
	}

	netAdmin, _ := ctrinit.CapMask([]string{"CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE"})
	code, out = runIn(t, rt, sb.UID, "caps", runtime.ContainerConfig{
		Security: runtime.Security{CapDrop: []string{"ALL"}, CapAdd: []string{"NET_ADMIN", "NET_BIND_SERVICE"}, AllowPrivilegeEscalation: true},
	}, "grep -E 'CapEff|NoNewPrivs' /proc/self/status")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("CapEff:\t%016x", netAdmin)) || !strings.Contains(out, "NoNewPrivs:\t0") {
		t.Errorf("capabilities add/drop: exit %d:\n%s", code, out)
	}

	code, out = runIn(t, rt, sb.UID, "ro", runtime.ContainerConfig{
		Security: runtime.Security{ReadOnlyRootFilesystem: true},
	}, "touch /x 2>/dev/null && echo ROOT-WRITABLE; touch /tmp/x 2>/dev/null && echo TMP-WRITABLE; echo dev > /dev/shm/x && cat /dev/shm/x")
	if code != 0 || strings.Contains(out, "WRITABLE") || !strings.Contains(out, "dev\n") {
		t.Errorf("readOnlyRootFilesystem: exit %d:\n%s", code, out)
	}

	all := ownCapEff(t)
	code, out = runIn(t, rt, sb.UID, "priv", runtime.ContainerConfig{
		Security: runtime.Security{Privileged: true},
	}, "grep CapEff /proc/self/status; grep -q ' /sys rw,' /proc/self/mountinfo && echo SYS-RW; head -c1 /proc/timer_list | grep -q . && echo TIMERS")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("CapEff:\t%016x", all)) || !strings.Contains(out, "SYS-RW") || !strings.Contains(out, "TIMERS") {
		t.Errorf("privileged: exit %d:\n%s", code, out)
	}

	// The containers were started from threads of the sandbox init, each
	// limited and then ended: every thread left keeps the init's own
	// credentials, capabilities and mount namespace.
	rt.mu.Lock()
	initPID := rt.sandboxes[sb.UID].rec.InitPID
	rt.mu.Unlock()
	checkInitThreads(t, initPID)

	// exec runs with the container's user and in its root filesystem.
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "long", Argv: []string{"sleep", "1000"},
		Security: runtime.Security{RunAsUser: 1000, RunAsGroup: 1000}})
	var eo lockedBuffer
	code, err := rt.Exec(context.Background(), st.ID, []string{"sh", "-c", "id -u; grep CapEff /proc/self/status; ls -a /"}, runtime.Streams{Stdout: &eo, Stderr: &eo})
	if err != nil || code != 0 || !strings.HasPrefix(eo.String(), "1000\nCapEff:\t0000000000000000\n") || !strings.Contains(eo.String(), ".petset") {
		t.Errorf("exec: %d, %v:\n%s", code, err, eo.String())
	}
	if _, err := rt.Exec(context.Background(), st.ID, []string{"no-such-program-petset"}, runtime.Streams{Stdout: &eo}); err == nil ||
		!strings.Contains(err.Error(), "executable file not found") {
		t.Errorf("exec of a missing program: %v", err)
	}
	// Exec sessions, too, were forked from threads that joined the
	// container and were limited, then ended.
	checkInitThreads(t, initPID)
}

// TestSubPath: a subPath is created below its volume, and one that a
// symlink in the volume points outside it is refused.
func TestSubPath(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "sub-0")
	vol := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("outside"), 0o644)
	os.Symlink(outside, filepath.Join(vol, "escape"))
	os.Symlink("/", filepath.Join(vol, "root"))
	os.WriteFile(filepath.Join(vol, "file"), []byte("single file"), 0o644)

	code, out := runIn(t, rt, sb.UID, "ok", runtime.ContainerConfig{Mounts: []runtime.Mount{
		{HostPath: vol, SubPath: "a/b", ContainerPath: "/sub"},
		{HostPath: vol, SubPath: "file", ContainerPath: "/etc/single.conf"},
	}}, "echo hi > /sub/f; cat /etc/single.conf")
	if code != 0 || out != "single file\n" {
		t.Fatalf("subPath: exit %d: %q", code, out)
	}
	if b, err := os.ReadFile(filepath.Join(vol, "a", "b", "f")); err != nil || string(b) != "hi\n" {
		t.Fatalf("subPath write: %q, %v", b, err)
	}
	for _, sub := range []string{"escape", "escape/secret", "root/etc", "../x"} {
		st, err := rt.StartContainer(context.Background(), sb.UID, runtime.ContainerConfig{Name: "bad", Argv: []string{"cat", "/sub/secret"},
			Mounts: []runtime.Mount{{HostPath: vol, SubPath: sub, ContainerPath: "/sub"}}})
		if err == nil || st.Reason != "StartError" {
			t.Errorf("subPath %q through a symlink out of the volume: started (%+v)", sub, st)
		}
	}
}

// ownCapEff is this process's effective capability mask.
func ownCapEff(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			var m uint64
			fmt.Sscanf(strings.TrimSpace(v), "%x", &m)
			return m
		}
	}
	t.Fatal("no CapEff")
	return 0
}

// TestHostNetworkRootfs: a host-network pod's containers get the node's
// resolv.conf and hosts and a read-only /sys showing the node's interfaces.
func TestHostNetworkRootfs(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	uid := "uid-" + randHex(8)
	if _, err := rt.RunSandbox(context.Background(), runtime.SandboxConfig{UID: uid, Namespace: "default", Name: "hostnet-0", HostNetwork: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.StopSandbox(context.Background(), uid) })
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	code, out := runIn(t, rt, uid, "main", runtime.ContainerConfig{},
		"cat /etc/resolv.conf; ls /sys/class/net | grep -qx lo && echo LO; grep -q ' /sys ro,' /proc/self/mountinfo && echo SYS-RO; hostname")
	host, _ := os.Hostname()
	if code != 0 || !strings.HasPrefix(out, string(hostResolv)) || !strings.Contains(out, "LO\nSYS-RO\n"+host+"\n") {
		t.Fatalf("host network container: exit %d:\n%s", code, out)
	}
}

// TestTTYContainerTerminal: a container started with a TTY gets a terminal
// of its own devpts (its name resolves inside the container).
func TestTTYContainerTerminal(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "tty-0")
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "tty", TTY: true,
		Argv: []string{"sh", "-c", "tty; test -t 0 && echo STDIN-TTY; ls /dev/pts"}})
	st = waitState(t, rt, st.ID, runtime.StateExited)
	out := logsOf(t, rt, st.ID, runtime.LogOptions{})
	if st.ExitCode != 0 || !strings.Contains(out, "/dev/pts/0") || !strings.Contains(out, "STDIN-TTY") {
		t.Fatalf("tty container: exit %d: %q", st.ExitCode, out)
	}
}

// TestSandboxInitEnvironment: a sandbox's init, the PID 1 its containers
// see, gets its role and configuration and nothing of the agent's
// environment; the container gets exactly its spec's.
func TestSandboxInitEnvironment(t *testing.T) {
	requireRoot(t)
	t.Setenv("PETSET_TEST_AGENT_ONLY", "agent-secret")
	cfg := newTestConfig(t)
	rt := startRuntime(t, cfg)
	sb := runSandbox(t, rt, "env-0")
	rt.mu.Lock()
	rec := rt.sandboxes[sb.UID].rec
	rt.mu.Unlock()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", rec.InitPID))
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	want := []string{gcOff, roleEnv + "=" + roleInit, initConfigEnv + "="}
	if len(env) != len(want) {
		t.Errorf("sandbox init's environment %q, want exactly %q…", env, want)
	}
	for i, w := range want {
		if i >= len(env) || !strings.HasPrefix(env[i], w) {
			t.Errorf("sandbox init's environment %q, want %q…", env, want)
			break
		}
	}
	code, out := runIn(t, rt, sb.UID, "env", runtime.ContainerConfig{Env: []string{"DECLARED=yes"}}, "env")
	if code != 0 || strings.Contains(out, "agent-secret") || strings.Contains(out, "GOGC") || !strings.Contains(out, "DECLARED=yes") {
		t.Errorf("container's environment (exit %d):\n%s\nwant DECLARED=yes and nothing of the agent's or the inits'", code, out)
	}
}

// checkInitThreads fails unless every thread of the sandbox init runs as
// root with this test's capabilities, no no_new_privs and the init's mount
// namespace and root.
func checkInitThreads(t *testing.T, pid int) {
	t.Helper()
	self := map[string]string{}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		self[k] = strings.TrimSpace(v)
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		dir := fmt.Sprintf("/proc/%d/task/%s", pid, task.Name())
		b, err := os.ReadFile(dir + "/status")
		if err != nil {
			continue // the thread ended meanwhile
		}
		got := map[string]string{}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			got[k] = strings.TrimSpace(v)
		}
		for _, k := range []string{"CapPrm", "CapEff", "CapBnd"} {
			if got[k] != self[k] {
				t.Errorf("sandbox init thread %s: %s %s, want %s", task.Name(), k, got[k], self[k])
			}
		}
		if got["Uid"] != "0\t0\t0\t0" || got["Gid"] != "0\t0\t0\t0" || got["NoNewPrivs"] != "0" || got["CapAmb"] != self["CapAmb"] {
			t.Errorf("sandbox init thread %s: Uid %q Gid %q NoNewPrivs %q CapAmb %q", task.Name(), got["Uid"], got["Gid"], got["NoNewPrivs"], got["CapAmb"])
		}
		if tns, err := os.Readlink(dir + "/ns/mnt"); err == nil && tns != ns {
			t.Errorf("sandbox init thread %s is in mount namespace %s, the init's is %s", task.Name(), tns, ns)
		}
		if root, err := os.Readlink(dir + "/root"); err == nil && root != "/" {
			t.Errorf("sandbox init thread %s has root %s", task.Name(), root)
		}
	}
}

// TestUnknownRoleFails: the binary started in a runtime role it does not
// have (an older sandbox init's "container-init" for exec sessions) reports
// that on descriptor 4 and exits 127 instead of running the command line.
func TestUnknownRoleFails(t *testing.T) {
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parent, child := os.NewFile(uintptr(sp[0]), "status"), os.NewFile(uintptr(sp[1]), "status-child")
	defer parent.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = []string{roleEnv + "=container-init"}
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	cmd.ExtraFiles = []*os.File{devnull, child} // descriptors 3 and 4
	err = cmd.Run()
	child.Close()
	msg, _ := io.ReadAll(parent)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 127 || !strings.Contains(string(msg), `no runtime role "container-init"`) {
		t.Errorf("binary in an unknown role: %v, status %q; want exit 127 and the reason on descriptor 4", err, msg)
	}
}
