package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

// TestWalkthroughRestart stops `petset up` (SIGTERM, then SIGKILL) and starts
// it again on the same data dir, bridge and pod CIDR: every kubia pod comes
// back with its identity and the data POSTed to it, and after the SIGKILL no
// pod runs twice.
func TestWalkthroughRestart(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t)
	k := u.K
	k.MustRun(t, "apply", "-f", example(t, "kubia/kubia-service-headless.yaml"), "-f", example(t, "kubia/kubia-statefulset.yaml"))
	u.WaitReady(t, "kubia", 2)
	px := u.StartProxy(t)
	for i := 0; i < 2; i++ {
		path := fmt.Sprintf("/api/v1/namespaces/default/pods/kubia-%d/proxy/", i)
		px.WaitBody(t, "POST", path, fmt.Sprintf("data of kubia-%d", i), fmt.Sprintf("Data stored on pod kubia-%d", i))
	}
	claims := map[string]string{}
	for i := 0; i < 2; i++ {
		c := fmt.Sprintf("data-kubia-%d", i)
		claims[c] = k.JSONPath(t, "{.spec.volumeName}", "pvc", c)
	}
	px.Stop(t)

	check := func(t *testing.T, stage string) {
		t.Helper()
		u.WaitReady(t, "kubia", 2)
		px := u.StartProxy(t)
		defer px.Stop(t)
		for i := 0; i < 2; i++ {
			path := fmt.Sprintf("/api/v1/namespaces/default/pods/kubia-%d/proxy/", i)
			px.WaitBody(t, "GET", path, "", fmt.Sprintf("You've hit kubia-%d", i),
				fmt.Sprintf("Data stored on this pod: data of kubia-%d", i))
			if r := k.MustRun(t, "exec", fmt.Sprintf("kubia-%d", i), "--", "hostname"); strings.TrimSpace(r.Stdout) != fmt.Sprintf("kubia-%d", i) {
				t.Errorf("%s: hostname of kubia-%d = %q", stage, i, r.Stdout)
			}
		}
		for c, vol := range claims {
			if got := k.JSONPath(t, "{.spec.volumeName}", "pvc", c); got != vol {
				t.Errorf("%s: claim %s bound to %q, was %q", stage, c, got, vol)
			}
		}
		names := k.MustRun(t, "get", "pods", "-l", "app=kubia", "-o", "name").Stdout
		if got := strings.Fields(names); len(got) != 2 {
			t.Errorf("%s: pods %v, want kubia-0 and kubia-1 only", stage, got)
		}
		// One process per pod identity on the node.
		for i := 0; i < 2; i++ {
			host := fmt.Sprintf("kubia-%d", i)
			var pids []int
			err := harness.WaitFor(time.Minute, func() (bool, error) {
				pids = u.PodProcesses("example kubia", host)
				return len(pids) == 1, nil
			})
			if err != nil {
				t.Errorf("%s: %d kubia processes with HOSTNAME=%s, want 1: %s", stage, len(pids), host, u.DescribePIDs(pids))
			}
		}
	}

	t.Run("graceful", func(t *testing.T) {
		u.Stop(t) // also checks that no pod process survives a graceful stop
		u.Start(t)
		check(t, "after SIGTERM and restart")
	})
	t.Run("kill -9", func(t *testing.T) {
		u.Kill(t)
		u.Start(t)
		check(t, "after SIGKILL and restart")
	})
}
