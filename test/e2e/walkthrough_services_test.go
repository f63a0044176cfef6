package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"

	"petset/test/harness"
)

// kubiaPublic is a ClusterIP Service in front of the kubia set (the book's
// kubia-public), and one whose selector matches nothing.
const kubiaPublic = `apiVersion: v1
kind: Service
metadata:
  name: kubia-public
spec:
  selector:
    app: kubia
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: nothing
spec:
  selector:
    app: nothing-here
  ports:
  - port: 8080
`

// TestWalkthroughServices: on `petset up`, ClusterIP Services route from
// the node and from pods to the ready pods behind them (and a pod reaching
// itself through its Service), a Service without endpoints refuses, pods'
// resolv.conf names the kube-dns ClusterIP which answers cluster names,
// and a pod reaches the API server at kubernetes.default.svc with its
// service-account token (KUBERNETES_SERVICE_HOST the kubernetes Service's
// ClusterIP).
func TestWalkthroughServices(t *testing.T) {
	u := harness.StartUp(t)
	k := u.K
	k.MustRun(t, "apply", "-f", example(t, "kubia/kubia-service-headless.yaml"), "-f", example(t, "kubia/kubia-statefulset.yaml"),
		"-f", u.WriteFile(t, "kubia-public.yaml", kubiaPublic))
	u.WaitReady(t, "kubia", 2)

	kubeIP := k.JSONPath(t, "{.spec.clusterIP}", "service", "kubernetes", "-n", "default")
	dnsIP := k.JSONPath(t, "{.spec.clusterIP}", "service", "kube-dns", "-n", "kube-system")
	publicIP := k.JSONPath(t, "{.spec.clusterIP}", "service", "kubia-public")
	nothingIP := k.JSONPath(t, "{.spec.clusterIP}", "service", "nothing")
	if want := strings.TrimSuffix(u.ServiceCIDR, "0/24"); kubeIP != want+"1" || dnsIP != want+"10" {
		t.Fatalf("kubernetes %s, kube-dns %s: want the first and tenth address of %s", kubeIP, dnsIP, u.ServiceCIDR)
	}
	k.WaitJSONPath(t, time.Minute, "{.subsets[0].addresses[0].ip}", u.BridgeIP, "endpoints", "kubernetes", "-n", "default")
	k.WaitJSONPath(t, time.Minute, "{.subsets[0].addresses[0].ip}", u.BridgeIP, "endpoints", "kube-dns", "-n", "kube-system")

	// From the node: both pods answer behind the Service IP.
	url := "http://" + publicIP + "/"
	seen := map[string]bool{}
	var lastErr error
	// A new connection per request: the proxy balances connections.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	err := harness.WaitFor(2*time.Minute, func() (bool, error) {
		resp, err := client.Get(url)
		if err != nil {
			lastErr = err
			return false, nil
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, pod := range []string{"kubia-0", "kubia-1"} {
			if strings.Contains(string(b), "You've hit "+pod+"\n") {
				seen[pod] = true
			}
		}
		return seen["kubia-0"] && seen["kubia-1"], nil
	})
	if err != nil {
		t.Fatalf("GET %s from the node: reached %v (last error %v)", url, seen, lastErr)
	}

	// From a pod: both pods, the calling pod itself among them (hairpin).
	seen = map[string]bool{}
	var out string
	err = harness.WaitFor(2*time.Minute, func() (bool, error) {
		r := k.Run("exec", "kubia-0", "--", "curl", "-sS", "--max-time", "5", url)
		out = r.Combined()
		for _, pod := range []string{"kubia-0", "kubia-1"} {
			if strings.Contains(r.Stdout, "You've hit "+pod+"\n") {
				seen[pod] = true
			}
		}
		return seen["kubia-0"] && seen["kubia-1"], nil
	})
	if err != nil {
		t.Fatalf("curl %s from kubia-0: reached %v; last output:\n%s", url, seen, out)
	}

	// A Service without endpoints refuses, from the node and from a pod.
	_, err = net.DialTimeout("tcp", net.JoinHostPort(nothingIP, "8080"), 10*time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial %s:8080 (no endpoints) from the node: %v, want connection refused", nothingIP, err)
	}
	r := k.Run("exec", "kubia-0", "--", "curl", "-sS", "--max-time", "10", fmt.Sprintf("http://%s:8080/", nothingIP))
	if !strings.Contains(r.Combined(), "Connection refused") && !strings.Contains(r.Combined(), "Couldn't connect") {
		t.Errorf("curl of a Service without endpoints from a pod: %s, want connection refused", r)
	}

	// Pods' DNS is the kube-dns ClusterIP, with kube's search list.
	resolv := k.MustRun(t, "exec", "kubia-0", "--", "cat", "/etc/resolv.conf").Stdout
	for _, want := range []string{"nameserver " + dnsIP + "\n", "search default.svc.cluster.local svc.cluster.local cluster.local\n", "options ndots:5\n"} {
		if !strings.Contains(resolv, want) {
			t.Errorf("kubia-0's resolv.conf lacks %q:\n%s", want, resolv)
		}
	}
	out = k.MustRun(t, "exec", "kubia-0", "--", "dig", "+time=5", "+tries=2", "kubia-public.default.svc.cluster.local").Stdout
	if !strings.Contains(out, "SERVER: "+dnsIP+"#53") || !strings.Contains(out, " A\t"+publicIP+"\n") {
		t.Errorf("dig kubia-public.default.svc.cluster.local from kubia-0 (at kube-dns %s):\n%s", dnsIP, out)
	}
	if strings.Contains(out, "recursion requested but not available") {
		t.Errorf("the cluster DNS offers no recursion:\n%s", out)
	}
	// Over TCP too (dns-tcp).
	out = k.MustRun(t, "exec", "kubia-0", "--", "dig", "+tcp", "+short", "+time=5", "kubia-0.kubia.default.svc.cluster.local").Stdout
	if ip0 := k.JSONPath(t, "{.status.podIP}", "pod", "kubia-0"); strings.TrimSpace(out) != ip0 {
		t.Errorf("dig +tcp kubia-0.kubia.default.svc.cluster.local from kubia-0 = %q, want %s", out, ip0)
	}

	// The API server at kubernetes.default.svc with the pod's token.
	env := k.MustRun(t, "exec", "kubia-0", "--", "printenv", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT").Stdout
	if env != kubeIP+"\n443\n" {
		t.Errorf("KUBERNETES_SERVICE_HOST/PORT = %q, want %s and 443", env, kubeIP)
	}
	script := `sa=/var/run/secrets/kubernetes.io/serviceaccount; curl -sS --max-time 10 --cacert $sa/ca.crt -H "Authorization: Bearer $(cat $sa/token)" https://kubernetes.default.svc/api/v1/namespaces/default/pods/kubia-0`
	r = k.Run("exec", "kubia-0", "--", "sh", "-c", script)
	// The default ServiceAccount may not read pods: a 403 naming it shows
	// the request reached the API server and was authenticated as the pod.
	if !strings.Contains(r.Stdout, `system:serviceaccount:default:default`) {
		t.Errorf("in-cluster request to kubernetes.default.svc: %s", r)
	}
	r = k.Run("exec", "kubia-0", "--", "sh", "-c", `curl -sS --max-time 10 --cacert /var/run/secrets/kubernetes.io/serviceaccount/ca.crt https://$KUBERNETES_SERVICE_HOST/version`)
	if !strings.Contains(r.Stdout, `"gitVersion"`) {
		t.Errorf("GET https://$KUBERNETES_SERVICE_HOST/version from a pod: %s", r)
	}

	// Stopped, petset up leaves no service rules behind.
	u.Stop(t)
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := conn.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if strings.HasSuffix(tb.Name, u.Bridge) {
			t.Errorf("nftables table %s outlived petset up", tb.Name)
		}
	}
}
