package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"petset/test/harness"
)

// TestWalkthroughDNS is seeds 000/004: the headless service's SRV records
// and per-pod A records, from the host's dig and from a pod started with
// `kubectl run -it --rm`.
func TestWalkthroughDNS(t *testing.T) {
	t.Parallel()
	harness.LookTool(t, "dig") // Debian's dnsutils
	u := harness.StartUp(t)
	k := u.K
	k.MustRun(t, "apply", "-f", example(t, "kubia/kubia-service-headless.yaml"), "-f", example(t, "kubia/kubia-statefulset.yaml"))
	u.WaitReady(t, "kubia", 2)
	ip0 := k.JSONPath(t, "{.status.podIP}", "pod", "kubia-0")
	if ip0 == "" {
		t.Fatal("kubia-0 has no pod IP")
	}

	var out string
	err := harness.WaitFor(time.Minute, func() (bool, error) {
		out = dig(t, "+short", "SRV", "kubia.default.svc.cluster.local", "@"+u.BridgeIP)
		return strings.Contains(out, " kubia-0.kubia.default.svc.cluster.local.") &&
			strings.Contains(out, " kubia-1.kubia.default.svc.cluster.local."), nil
	})
	if err != nil {
		t.Fatalf("dig SRV kubia.default.svc.cluster.local @%s: %v; last:\n%s", u.BridgeIP, err, out)
	}
	if got := strings.TrimSpace(dig(t, "+short", "A", "kubia-0.kubia.default.svc.cluster.local", "@"+u.BridgeIP)); got != ip0 {
		t.Errorf("A kubia-0.kubia.default.svc.cluster.local = %q, want pod IP %q", got, ip0)
	}

	t.Run("kubectl run -it dig", func(t *testing.T) { runSrvLookup(t, k) })
}

// runSrvLookup is seed 000's
// `kubectl run -it srvlookup --image=tutum/dnsutils --rm --restart=Never -- dig SRV …`,
// under a terminal as a user types it.
func runSrvLookup(t *testing.T, k *harness.Client) {
	args := []string{"run", "-it", "srvlookup", "--image=tutum/dnsutils", "--rm",
		"--restart=Never", "--", "dig", "SRV", "kubia.default.svc.cluster.local"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := k.Command(ctx, args...)
	ptmx, err := pty.Start(cmd)
	if err != nil {
		t.Fatalf("kubectl run under a pty: %v", err)
	}
	var buf strings.Builder
	b := make([]byte, 4096)
	for {
		n, rerr := ptmx.Read(b)
		buf.Write(b[:n])
		if rerr != nil {
			break // EIO once kubectl exits and the pty closes
		}
	}
	werr := cmd.Wait()
	ptmx.Close()
	got := buf.String()
	if werr != nil {
		t.Fatalf("kubectl run srvlookup: %v\n%s", werr, got)
	}
	k.WaitGone(t, time.Minute, "pod", "srvlookup")
	// Whether the attach arrives while dig runs or after it exited, its
	// answer must be on the terminal: the runtime's first attach of a
	// StdinOnce container replays what it wrote before.
	for _, want := range []string{
		"ANSWER SECTION",
		"SRV\t0 50 80 kubia-0.kubia.default.svc.cluster.local.",
		"SRV\t0 50 80 kubia-1.kubia.default.svc.cluster.local.",
		`pod "srvlookup" deleted`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("kubectl run srvlookup output lacks %q:\n%s", want, got)
		}
	}
	// The cluster DNS offers recursion (it forwards to the node's
	// resolvers, as CoreDNS' default Corefile), so its replies carry RA
	// and dig prints no warning.
	if strings.Contains(got, "recursion requested but not available") {
		t.Errorf("dig warns that the cluster DNS offers no recursion (no RA flag):\n%s", got)
	}
}

func dig(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("dig", append([]string{"+time=2", "+tries=1"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("dig error: %v: %s", err, out)
	}
	return string(out)
}
