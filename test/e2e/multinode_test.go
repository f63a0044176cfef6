package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

// multiNodeSet is seed 000's kubia StatefulSet with seed 002's advice: one
// replica per node (required anti-affinity on the hostname). An emptyDir
// stands in for the claims: this test is about the network.
const multiNodeSet = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: kubia
spec:
  serviceName: kubia
  replicas: 2
  selector:
    matchLabels:
      app: kubia
  template:
    metadata:
      labels:
        app: kubia
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector:
              matchLabels:
                app: kubia
            topologyKey: kubernetes.io/hostname
      containers:
      - name: kubia
        image: luksa/kubia-pet
        ports:
        - name: http
          containerPort: 8080
        volumeMounts:
        - name: data
          mountPath: /var/data
      volumes:
      - name: data
        emptyDir: {}
`

// TestMultiNode: `petset server` and two real agents, each in a network
// namespace of its own (a host with eth0 on a shared bridge). Both nodes
// turn Ready, a 2-replica set with required anti-affinity puts one pod on
// each, a pod on one node reaches the pod on the other by its IP, and each
// node's cluster DNS answers the headless service's SRV records.
func TestMultiNode(t *testing.T) {
	t.Parallel() // its own bridge, namespaces, addresses and ports
	harness.LookTool(t, "dig")
	harness.LookTool(t, "curl")
	kubectl := harness.LookTool(t, "kubectl")
	m := harness.StartMultiNode(t, 2)
	k := m.Kubectl(t, harness.Kubectl{Name: "kubectl", Path: kubectl})
	for _, h := range m.Nodes {
		k.WaitJSONPath(t, 2*time.Minute, `{.status.conditions[?(@.type=="Ready")].status}`, "True", "node", h.Name)
	}

	k.MustRun(t, "apply", "-f", example(t, "kubia/kubia-service-headless.yaml"),
		"-f", m.WriteFile(t, "kubia-anti-affinity.yaml", multiNodeSet))
	k.WaitJSONPath(t, 2*time.Minute, "{.status.readyReplicas}", "2", "statefulset", "kubia")

	nodeOf := map[string]string{}
	ipOf := map[string]string{}
	for _, pod := range []string{"kubia-0", "kubia-1"} {
		nodeOf[pod] = k.JSONPath(t, "{.spec.nodeName}", "pod", pod)
		ipOf[pod] = k.JSONPath(t, "{.status.podIP}", "pod", pod)
	}
	if nodeOf["kubia-0"] == nodeOf["kubia-1"] || nodeOf["kubia-0"] == "" || nodeOf["kubia-1"] == "" {
		t.Fatalf("pods not one per node: %v\n%s", nodeOf, k.Run("get", "pods", "-o", "wide").Stdout)
	}
	for pod, node := range nodeOf {
		h := m.Node(t, node)
		if !h.InPodCIDR(ipOf[pod]) {
			t.Errorf("%s on %s has IP %s, outside the node's pod CIDR %s", pod, node, ipOf[pod], h.PodCIDR)
		}
	}

	// From the pod on one node to the pod on the other, by IP, both ways.
	reach := func(from, to string) (harness.Result, bool) {
		r := k.Run("exec", from, "--", "curl", "-sS", "--max-time", "5", fmt.Sprintf("http://%s:8080/", ipOf[to]))
		return r, r.Err == nil && strings.Contains(r.Stdout, "You've hit "+to)
	}
	for _, pair := range [][2]string{{"kubia-0", "kubia-1"}, {"kubia-1", "kubia-0"}} {
		from, to := pair[0], pair[1]
		var last harness.Result
		err := harness.WaitFor(time.Minute, func() (bool, error) {
			var ok bool
			last, ok = reach(from, to)
			return ok, nil
		})
		if err != nil {
			t.Errorf("%s (node %s) → %s (node %s): %v\n%v", from, nodeOf[from], to, nodeOf[to], err, last)
		}
	}

	// The link of kubia-1's node down (its `ifconfig eth0 down`): kubia-0
	// no longer reaches it; up again: it does.
	far := m.Node(t, nodeOf["kubia-1"])
	far.LinkDown(t)
	if r, ok := reach("kubia-0", "kubia-1"); ok || r.Err == nil {
		t.Errorf("kubia-0 reached kubia-1 with %s's eth0 down: %v", far.Name, r)
	}
	m.LinkUp(t, far)
	var last harness.Result
	if err := harness.WaitFor(time.Minute, func() (bool, error) {
		var ok bool
		last, ok = reach("kubia-0", "kubia-1")
		return ok, nil
	}); err != nil {
		t.Errorf("kubia-0 → kubia-1 after %s's eth0 came back up: %v\n%v", far.Name, err, last)
	}

	// Each node's cluster DNS, at its pod bridge's address, inside its
	// namespace, answers the headless service's SRV records.
	for _, h := range m.Nodes {
		var out string
		err := harness.WaitFor(time.Minute, func() (bool, error) {
			var derr error
			out, derr = h.Exec("dig", "+short", "+time=2", "+tries=1", "SRV", "kubia.default.svc.cluster.local", "@"+h.Gateway)
			return derr == nil && strings.Contains(out, " kubia-0.kubia.default.svc.cluster.local.") &&
				strings.Contains(out, " kubia-1.kubia.default.svc.cluster.local."), nil
		})
		if err != nil {
			t.Errorf("dig SRV kubia.default.svc.cluster.local @%s on %s: %v; last:\n%s", h.Gateway, h.Name, err, out)
		}
	}

	// Seed 002's advice, one replica per node: with more replicas than
	// nodes the extra pod stays Pending with the scheduler's reason.
	k.MustRun(t, "scale", "statefulset", "kubia", "--replicas", "3")
	k.WaitJSONPath(t, time.Minute, `{.status.conditions[?(@.type=="PodScheduled")].reason}`, "Unschedulable", "pod", "kubia-2")
	if f := strings.Fields(k.MustRun(t, "get", "pod", "kubia-2", "--no-headers").Stdout); len(f) < 3 || f[1] != "0/1" || f[2] != "Pending" {
		t.Errorf("kubia-2 with two nodes for three replicas: %v, want 0/1 Pending", f)
	}
	wantReason := "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."
	if err := harness.WaitFor(time.Minute, func() (bool, error) {
		return strings.Contains(k.MustRun(t, "describe", "pod", "kubia-2").Stdout, wantReason), nil
	}); err != nil {
		t.Errorf("describe pod kubia-2 lacks the FailedScheduling reason %q:\n%s", wantReason, k.MustRun(t, "describe", "pod", "kubia-2").Stdout)
	}
}
