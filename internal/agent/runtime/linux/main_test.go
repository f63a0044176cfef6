package linux

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"petset/internal/agent/runtime"
	"petset/internal/agent/runtime/linux/ctrinit"
	"petset/internal/testenv"
)

// Test-only roles of the test binary, used as container programs so the
// tests need nothing but sh and coreutils from the host.
const testRoleEnv = "PETSET_LINUX_TEST_ROLE"

func TestMain(m *testing.M) {
	if Main() {
		return
	}
	if role := os.Getenv(testRoleEnv); role != "" {
		os.Exit(runTestRole(role, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// testRoles are roles other test files add.
var testRoles = map[string]func(args []string) int{}

func runTestRole(role string, args []string) int {
	if f := testRoles[role]; f != nil {
		return f(args)
	}
	switch role {
	case "listen": // listen <addr>: answer every connection with the hostname
		ln, err := net.Listen("tcp", args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("listening")
		for {
			c, err := ln.Accept()
			if err != nil {
				return 1
			}
			h, _ := os.Hostname()
			fmt.Fprintf(c, "hello from %s\n", h)
			c.Close()
		}
	case "dial": // dial <addr>: print the first line the server sends
		c, err := net.DialTimeout("tcp", args[0], 10*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer c.Close()
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Print(line)
		return 0
	case "addrs": // print the IPv4 addresses of eth0
		ifc, err := net.InterfaceByName("eth0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			fmt.Println(a.String())
		}
		return 0
	}
	return 2
}

func testBinary(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func requireRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t, "isolated pods need root (CAP_SYS_ADMIN, CAP_NET_ADMIN)")
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type testEnv struct {
	cfg Config
	rt  *Runtime
}

// newTestConfig picks a bridge, pod network and cgroup parent of its own
// and registers their removal.
func newTestConfig(t *testing.T) Config {
	t.Helper()
	b := make([]byte, 1)
	rand.Read(b)
	cfg := Config{
		StateDir:     t.TempDir(),
		Bridge:       "pst" + randHex(4),
		PodCIDR:      fmt.Sprintf("10.234.%d.0/24", b[0]),
		CgroupParent: "petset-test-" + randHex(4),
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(cfg.Bridge); err == nil {
			netlink.LinkDel(l)
		}
		for _, root := range []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup"} {
			os.Remove(filepath.Join(root, cfg.CgroupParent))
		}
	})
	return cfg
}

// startRuntime creates a runtime whose sandboxes are all stopped when the
// test ends.
func startRuntime(t *testing.T, cfg Config) *Runtime {
	t.Helper()
	rt, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		sbs, _ := rt.ListSandboxes(ctx)
		for _, sb := range sbs {
			if err := rt.StopSandbox(ctx, sb.UID); err != nil {
				t.Errorf("cleanup: stop sandbox %s: %v", sb.UID, err)
			}
		}
		rt.Close()
	})
	return rt
}

func runSandbox(t *testing.T, rt *Runtime, name string) runtime.Sandbox {
	t.Helper()
	uid := "uid-" + randHex(8)
	sb, err := rt.RunSandbox(context.Background(), runtime.SandboxConfig{
		UID: uid, Namespace: "default", Name: name, Hostname: name,
		HostsFile:  []byte("127.0.0.1\tlocalhost\n10.234.0.99\t" + name + ".test-hosts-marker\n"),
		ResolvConf: []byte("nameserver 10.234.0.1\nsearch default.svc.cluster.local\n"),
	})
	if err != nil {
		t.Fatalf("RunSandbox: %v", err)
	}
	t.Cleanup(func() { rt.StopSandbox(context.Background(), uid) })
	return sb
}

// waitState waits (bounded) until the container reaches state.
func waitState(t *testing.T, rt *Runtime, id string, state runtime.ContainerState) runtime.ContainerStatus {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := rt.ContainerStatus(context.Background(), id)
		if err != nil {
			t.Fatalf("ContainerStatus: %v", err)
		}
		if st.State == state {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s never reached %s; last status %+v", id, state, st)
		}
		select {
		case <-rt.Events():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func logsOf(t *testing.T, rt *Runtime, id string, opts runtime.LogOptions) string {
	t.Helper()
	var sb strings.Builder
	if err := rt.Logs(context.Background(), id, opts, &sb); err != nil {
		t.Fatalf("Logs: %v", err)
	}
	return sb.String()
}

// waitLog waits (bounded) until the container's log contains want.
func waitLog(t *testing.T, rt *Runtime, id, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(logsOf(t, rt, id, runtime.LogOptions{}), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log of %s never contained %q: %q", id, want, logsOf(t, rt, id, runtime.LogOptions{}))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func start(t *testing.T, rt *Runtime, uid string, cfg runtime.ContainerConfig) runtime.ContainerStatus {
	t.Helper()
	st, err := rt.StartContainer(context.Background(), uid, cfg)
	if err != nil {
		t.Fatalf("StartContainer %s: %v", cfg.Name, err)
	}
	return st
}

// processGone reports whether pid no longer runs (absent or a zombie).
func processGone(pid int) bool {
	_, ok := procStart(pid)
	return !ok
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var _ = io.Discard
var _ = syscall.SIGKILL

// podBinary is the test binary as isolated containers see it: the runtime
// binds its Executable (this test binary) there.
const podBinary = ctrinit.PetsetPath
