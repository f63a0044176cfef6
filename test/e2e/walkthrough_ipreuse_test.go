package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"petset/test/harness"
)

// TestWalkthroughIPReuseReachableAtOnce deletes kubia-1 again and again; its
// replacement gets the freed address back (kubia-0 keeps the bridge up, so
// the host's neighbour table keeps its entries). Each time the new pod must
// be reachable at once: the host's neighbour entry for the address names the
// new pod's MAC, the host's first connection right after Running reaches
// the pod within the probe's timeoutSeconds, and the pod turns Ready within
// its readiness probe's own timing. Before the fix the host kept the old
// pod's MAC and the new pod stayed unreachable for 15 to 55 s.
// 10 cycles; PETSET_E2E_LONG=1 runs 100.
func TestWalkthroughIPReuseReachableAtOnce(t *testing.T) {
	t.Parallel()
	cycles := 10
	if os.Getenv("PETSET_E2E_LONG") == "1" {
		cycles = 100
	}
	u := harness.StartUp(t)
	k := u.K
	k.MustRun(t, "apply", "-f", example(t, "kubia/kubia-service-headless.yaml"),
		"-f", example(t, "kubia/kubia-statefulset-readiness.yaml"))
	u.WaitReady(t, "kubia", 2)
	// The probe's timing, from the spec as stored.
	probe := func(field string, def int) int {
		s := k.JSONPath(t, "{.spec.template.spec.containers[0].readinessProbe."+field+"}", "statefulset", "kubia")
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("readinessProbe.%s = %q", field, s)
		}
		return n
	}
	delay, period, timeout := probe("initialDelaySeconds", 0), probe("periodSeconds", 10), probe("timeoutSeconds", 1)
	// Ready on the first probes: the first may find the app not listening
	// yet, the second must pass; +1 s for the API's second-granular times.
	bound := time.Duration(delay+2*period+timeout+1) * time.Second
	br, err := netlink.LinkByName(u.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	ip := k.JSONPath(t, "{.status.podIP}", "pod", "kubia-1")
	for c := 1; c <= cycles; c++ {
		// The host has just talked to the pod (as its prober does each
		// second), so its neighbour entry is fresh.
		if err := reach(ip, 8080, time.Duration(timeout)*time.Second); err != nil {
			t.Fatalf("cycle %d: kubia-1 at %s before the delete: %v", c, ip, err)
		}
		old := k.JSONPath(t, "{.metadata.uid}", "pod", "kubia-1")
		k.MustRun(t, "delete", "pod", "kubia-1", "--wait=false")
		var pod map[string]any
		err := harness.WaitFor(3*time.Minute, func() (bool, error) {
			r := k.Run("get", "pod", "kubia-1", "-o", "jsonpath={.metadata.uid} {.status.phase} {.status.podIP}")
			f := strings.Fields(r.Stdout)
			return r.Err == nil && len(f) == 3 && f[0] != old && f[1] == "Running", nil
		})
		if err != nil {
			t.Fatalf("cycle %d: no new kubia-1 Running: %v", c, err)
		}
		pod = k.GetJSON(t, "pod", "kubia-1")
		newIP := jsonString(pod, "status", "podIP")
		if newIP != ip {
			t.Fatalf("cycle %d: the new kubia-1 got %s, not the freed %s: the test needs the address reused", c, newIP, ip)
		}
		mac := podMAC(t, u, "kubia-1")
		if n := neighbour(t, br, ip); n != nil && n.HardwareAddr.String() != mac {
			t.Errorf("cycle %d: the host's neighbour entry for %s on %s is %s (%s), the new pod's eth0 is %s",
				c, ip, u.Bridge, n.HardwareAddr, neighState(n.State), mac)
		}
		if err := reach(ip, 8080, time.Duration(timeout)*time.Second); err != nil {
			t.Errorf("cycle %d: the host's first connection to the new kubia-1 at %s right after Running: %v", c, ip, err)
		}
		k.WaitJSONPath(t, 3*time.Minute, `{.status.conditions[?(@.type=="Ready")].status}`, "True", "pod", "kubia-1")
		started := k.JSONPath(t, "{.status.containerStatuses[0].state.running.startedAt}", "pod", "kubia-1")
		ready := k.JSONPath(t, `{.status.conditions[?(@.type=="Ready")].lastTransitionTime}`, "pod", "kubia-1")
		s, err1 := time.Parse(time.RFC3339, started)
		r, err2 := time.Parse(time.RFC3339, ready)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("cycle %d: times: %v", c, err)
		}
		if took := r.Sub(s); took > bound {
			t.Errorf("cycle %d: kubia-1 started %s, Ready %s (%s): its probe (initialDelay %ds, period %ds, timeout %ds) allows %s",
				c, started, ready, took, delay, period, timeout, bound)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

// reach connects to ip:port once. A refused connection counts as reached
// (the pod answered; its app may not listen yet); no answer within timeout
// is an error.
func reach(ip string, port int, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(port)), timeout)
	if err == nil {
		return c.Close()
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return nil
	}
	return err
}

// neighbour returns the host's valid neighbour entry for ip on the bridge,
// or nil when there is none (or it is failed or still resolving).
func neighbour(t testing.TB, br netlink.Link, ip string) *netlink.Neigh {
	t.Helper()
	ns, err := netlink.NeighList(br.Attrs().Index, netlink.FAMILY_V4)
	if err != nil {
		t.Fatalf("neighbours of %s: %v", br.Attrs().Name, err)
	}
	for i, n := range ns {
		if n.IP.String() == ip && n.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE|netlink.NUD_NONE) == 0 && len(n.HardwareAddr) > 0 {
			return &ns[i]
		}
	}
	return nil
}

func neighState(s int) string {
	for _, n := range []struct {
		v    int
		name string
	}{{netlink.NUD_REACHABLE, "REACHABLE"}, {netlink.NUD_STALE, "STALE"}, {netlink.NUD_DELAY, "DELAY"},
		{netlink.NUD_PROBE, "PROBE"}, {netlink.NUD_PERMANENT, "PERMANENT"}, {netlink.NUD_NOARP, "NOARP"}} {
		if s&n.v != 0 {
			return n.name
		}
	}
	return fmt.Sprintf("state %#x", s)
}

// podMAC returns the MAC of eth0 in the network namespace of the pod's
// (kubia) process.
func podMAC(t testing.TB, u *harness.Up, pod string) string {
	t.Helper()
	var pids []int
	if err := harness.WaitFor(time.Minute, func() (bool, error) {
		pids = u.PodProcesses("kubia", pod)
		return len(pids) == 1, nil
	}); err != nil {
		t.Fatalf("processes of %s: %v", pod, pids)
	}
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(pids[0]), "-n", "ip", "-o", "link", "show", "eth0").CombinedOutput()
	if err != nil {
		t.Fatalf("eth0 of %s: %v: %s", pod, err, out)
	}
	f := strings.Fields(string(out))
	for i, w := range f {
		if w == "link/ether" && i+1 < len(f) {
			return f[i+1]
		}
	}
	t.Fatalf("no MAC in %q", out)
	return ""
}

func jsonString(obj map[string]any, path ...string) string {
	var v any = obj
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}
