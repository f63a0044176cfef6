package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

// TestWalkthroughWeb is seeds 002/004 on a real node: the nginx `web` set,
// its claims, and the hostname loop
// `for i in 0 1 2; do kubectl exec web-$i -- sh -c 'hostname'; done`, and
// seed 002's PVC clean-up run while the pod still uses its claim.
func TestWalkthroughWeb(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t)
	k := u.K
	k.MustRun(t, "apply", "-f", example(t, "web/statefulset.yaml"))
	u.WaitReady(t, "web", 3)
	for i := 0; i < 3; i++ {
		k.WaitJSONPath(t, waitBound, "{.status.phase}", "Bound", "pvc", fmt.Sprintf("www-web-%d", i))
	}
	var lines []string
	for i := 0; i < 3; i++ {
		r := k.MustRun(t, "exec", fmt.Sprintf("web-%d", i), "--", "sh", "-c", "hostname")
		lines = append(lines, strings.TrimSpace(r.Stdout))
	}
	if got := strings.Join(lines, "\n"); got != "web-0\nweb-1\nweb-2" {
		t.Errorf("hostname loop printed:\n%s\nwant web-0, web-1, web-2", got)
	}

	// Seed 004: dig SRV lists every pod of the governing service.
	t.Run("dig SRV", func(t *testing.T) {
		harness.LookTool(t, "dig")
		var out string
		err := harness.WaitFor(time.Minute, func() (bool, error) {
			out = dig(t, "+short", "SRV", "nginx-svc.default.svc.cluster.local", "@"+u.BridgeIP)
			for i := 0; i < 3; i++ {
				if !strings.Contains(out, fmt.Sprintf(" web-%d.nginx-svc.default.svc.cluster.local.", i)) {
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil {
			t.Errorf("dig SRV nginx-svc.default.svc.cluster.local @%s: %v; last:\n%s", u.BridgeIP, err, out)
		}
	})

	// The seed's nginx serves the claim's directory: write a page into
	// web-1's volume and read it through the pod proxy.
	k.MustRun(t, "exec", "web-1", "--", "sh", "-c", "echo $(hostname) > /usr/share/nginx/html/index.html")
	px := u.StartProxy(t)
	px.WaitBody(t, "GET", "/api/v1/namespaces/default/pods/web-1/proxy/", "", "web-1")

	walkthroughPVCCleanup(t, u, px)
}
