package e2e

import (
	"strings"
	"testing"

	"petset/test/harness"
)

// TestWalkthroughHelloStateful is seed 001: the List manifest (Service +
// StatefulSet), /store and /get through the pod proxy, the SRV targets.
func TestWalkthroughHelloStateful(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t)
	k := u.K
	w := k.Start(t, "get", "pods", "-l", "app=hello-stateful", "-w", "-o", "jsonpath="+readyWatchExpr)
	k.MustRun(t, "apply", "-f", example(t, "hello-stateful/hello-stateful.yaml"))
	u.WaitReady(t, "hello-stateful", 3)
	assertOrdered(t, waitWatch(t, w, "hello-stateful", 3), "hello-stateful", 3)
	w.Stop(t)

	px := u.StartProxy(t)
	const base = "/api/v1/namespaces/default/pods/hello-stateful-0/proxy"
	px.WaitBody(t, "POST", base+"/store", "xxx", "hello from v2:hello-stateful-0")
	r := k.MustRun(t, "exec", "hello-stateful-0", "--", "cat", "/etc/stateful/hello")
	if !strings.Contains(r.Stdout, "xxx") {
		t.Errorf("/etc/stateful/hello in hello-stateful-0 = %q, want the stored xxx", r.Stdout)
	}
	got := px.WaitBody(t, "GET", base+"/get", "",
		"hello-stateful-service.default.svc.cluster.local.\n",
		"hello-stateful-0.hello-stateful-service.default.svc.cluster.local.:8000\n",
		"hello-stateful-1.hello-stateful-service.default.svc.cluster.local.:8000\n",
		"hello-stateful-2.hello-stateful-service.default.svc.cluster.local.:8000\n")
	t.Logf("/get:\n%s", got)
}
