package linux

import (
	"context"

	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"petset/internal/agent/runtime"
)

// TestWithoutRoot runs the runtime as an unprivileged user: isolated pods
// are refused with a message naming what is missing, isolation=none works
// and refuses subPath mounts by name.
func TestWithoutRoot(t *testing.T) {
	requireRoot(t) // to switch to another user
	dir, err := os.MkdirTemp("", "petset-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	bin := filepath.Join(dir, "petset.test")
	src, err := os.Open(testBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(dst, src)
	src.Close()
	dst.Close()
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), testRoleEnv + "=nonroot", "PETSET_TEST_DIR=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("unprivileged run: %v\n%s", err, out)
	}
	for _, want := range []string{
		"petset: isolated pods need root (CAP_SYS_ADMIN, CAP_NET_ADMIN); run as root or use --isolation=none",
		"none: uid=65534 exit=0 log=hello from an unprivileged pod",
		`subPath: subPath mounts need isolated pods: with --isolation=none no volume is mounted, so "setup.sh" of the volume cannot appear at /opt/app/setup.sh; run petset as root with --isolation=namespaces`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func init() {
	testRoles["nonroot"] = func([]string) int {
		dir := os.Getenv("PETSET_TEST_DIR")
		ctx := context.Background()
		if _, err := New(ctx, Config{StateDir: filepath.Join(dir, "a")}); err != nil {
			fmt.Println(err)
		} else {
			fmt.Println("isolated runtime created without root")
			return 1
		}
		rt, err := New(ctx, Config{StateDir: filepath.Join(dir, "b"), Isolation: IsolationNone})
		if err != nil {
			fmt.Println(err)
			return 1
		}
		defer rt.Close()
		uid := "uid-nonroot"
		if _, err := rt.RunSandbox(ctx, runtime.SandboxConfig{UID: uid, Namespace: "default", Name: "plain-0"}); err != nil {
			fmt.Println(err)
			return 1
		}
		defer rt.StopSandbox(ctx, uid)
		// No mounts without isolation: a subPath mount is refused by name.
		sub := runtime.Mount{HostPath: dir, SubPath: "setup.sh", ContainerPath: "/opt/app/setup.sh"}
		if _, err := rt.StartContainer(ctx, uid, runtime.ContainerConfig{Name: "sub", Argv: []string{"true"}, Mounts: []runtime.Mount{sub}}); err != nil {
			fmt.Println("subPath:", err)
		} else {
			fmt.Println("subPath mount accepted with isolation=none")
		}
		st, err := rt.StartContainer(ctx, uid, runtime.ContainerConfig{Name: "main", Argv: []string{"sh", "-c", "echo hello from an unprivileged pod"}})
		if err != nil {
			fmt.Println(err)
			return 1
		}
		deadline := time.Now().Add(60 * time.Second)
		for st.State != runtime.StateExited && time.Now().Before(deadline) {
			select {
			case <-rt.Events():
			case <-time.After(100 * time.Millisecond):
			}
			st, _ = rt.ContainerStatus(ctx, st.ID)
		}
		var b strings.Builder
		rt.Logs(ctx, st.ID, runtime.LogOptions{}, &b)
		fmt.Printf("none: uid=%d exit=%d log=%s\n", os.Getuid(), st.ExitCode, strings.TrimSpace(b.String()))
		return 0
	}
	testRoles["hog"] = func([]string) int {
		var keep [][]byte
		for i := 0; i < 64; i++ {
			b := make([]byte, 8<<20)
			for j := range b {
				b[j] = byte(j)
			}
			keep = append(keep, b)
		}
		fmt.Println(len(keep))
		return 0
	}
}

func TestOOMKilled(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	if rt.cg.mode == cgroupNone {
		t.Fatalf("no writable cgroup hierarchy on this machine: %s", rt.Limits())
	}
	sb := runSandbox(t, rt, "hog-0")
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "hog", Argv: []string{podBinary}, Env: []string{testRoleEnv + "=hog"},
		Resources: runtime.Resources{MemoryBytes: 48 << 20}})
	st = waitState(t, rt, st.ID, runtime.StateExited)
	if st.ExitCode != 137 || st.Reason != "OOMKilled" {
		t.Fatalf("memory hog: %+v", st)
	}
}
