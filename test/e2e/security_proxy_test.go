package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"petset/test/harness"
)

// TestSecurityProxyLoopback drives the attack with real kubectl: a
// pod whose status claims podIP 127.0.0.1 must not turn the API server's
// pod proxy into a way to reach etcd (or anything else on the server's
// loopback); the API server answers kube's 400 "address not allowed".
func TestSecurityProxyLoopback(t *testing.T) {
	c := harness.StartServer(t)
	k := c.Kubectl(t, harness.Kubectl{Name: "petset-kubectl", Path: harness.Bin(), Args: []string{"kubectl"}})
	m := etcdReadyLine.FindStringSubmatch(c.Process.Stderr())
	if m == nil {
		t.Fatalf("no etcd URL in the server's log:\n%s", harness.Tail(c.Process.Stderr(), 3000))
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	k.MustRun(t, "run", "ghost", "--image=busybox", "--restart=Never")
	for _, ip := range []string{"127.0.0.1", "169.254.169.254", "0.0.0.0"} {
		k.MustRun(t, "patch", "pod", "ghost", "--subresource=status", "--type=merge",
			"-p", fmt.Sprintf(`{"status":{"podIP":%q,"podIPs":[{"ip":%q}]}}`, ip, ip))
		r := k.MustFail(t, []string{"address not allowed"}, "get", "--raw",
			fmt.Sprintf("/api/v1/namespaces/default/pods/ghost:%s/proxy/version", u.Port()))
		if strings.Contains(r.Stdout, "etcdserver") {
			t.Errorf("the proxy reached etcd through podIP %s: %s", ip, r.Stdout)
		}
	}
}
