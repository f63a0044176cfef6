package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

// guardedSet is a StatefulSet without claims, so that its pods may move to
// the other node when theirs is drained.
const guardedSet = `apiVersion: v1
kind: Service
metadata:
  name: guarded
spec:
  clusterIP: None
  selector:
    app: guarded
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: guarded
spec:
  serviceName: guarded
  replicas: 3
  podManagementPolicy: Parallel
  selector:
    matchLabels:
      app: guarded
  template:
    metadata:
      labels:
        app: guarded
    spec:
      containers:
      - name: nginx
        image: nginx:1.21
        ports:
        - containerPort: 80
`

// TestPodDisruptionBudgetDrain: on two simulated nodes, `kubectl create
// pdb` and `kubectl get pdb` with kube's columns; `kubectl drain` of a node
// is blocked by a budget that allows no disruption (kubectl retries the 429
// "Cannot evict pod as it would violate the pod's disruption budget."),
// and completes once the budget allows one disruption at a time (with two
// of the pods on the node, the second goes only once the first is back
// Ready on the other node).
func TestPodDisruptionBudgetDrain(t *testing.T) {
	t.Parallel()
	harness.LookTool(t, "kubectl")
	u := harness.NewUp(t, "--simulate-nodes", "2", "--service-cidr", "10.196.0.0/16")
	u.Listen = "127.0.0.1:17743"
	u.Start(t)
	k := u.K

	if r := k.RunWith(harness.RunOpts{Stdin: guardedSet}, "apply", "-f", "-"); r.Err != nil {
		t.Fatalf("%s", r)
	}
	u.WaitReady(t, "guarded", 3)

	k.MustRun(t, "create", "pdb", "guarded", "--selector=app=guarded", "--min-available=3")
	k.WaitJSONPath(t, waitBound, "{.status.expectedPods} {.status.currentHealthy} {.status.desiredHealthy} {.status.disruptionsAllowed}", "3 3 3 0", "pdb", "guarded")
	out := k.MustRun(t, "get", "pdb").Stdout
	if h := harness.Header(out); h != "NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE" {
		t.Errorf("kubectl get pdb header %q", h)
	}
	if rows := harness.Rows(out); len(rows) != 1 || strings.Join(rows[0][:4], " ") != "guarded 3 N/A 0" {
		t.Errorf("kubectl get pdb rows %q", rows)
	}
	if got := k.JSONPath(t, `{.status.conditions[?(@.type=="DisruptionAllowed")].reason}`, "pdb", "guarded"); got != "InsufficientPods" {
		t.Errorf("DisruptionAllowed reason %q, want InsufficientPods", got)
	}

	// Drain the node with the most of the set's pods.
	perNode := map[string]int{}
	node := ""
	for _, n := range strings.Fields(k.JSONPath(t, "{.items[*].spec.nodeName}", "pods", "-l", "app=guarded")) {
		perNode[n]++
		if perNode[n] > perNode[node] {
			node = n
		}
	}
	drain := k.Start(t, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=5m")
	refused := regexp.MustCompile(`error when evicting pods/"guarded-\d" -n "default" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\.`)
	if err := harness.WaitFor(waitBound, func() (bool, error) { return refused.MatchString(drain.Stderr()), nil }); err != nil {
		t.Fatalf("drain was not refused by the budget: %v\nstdout:\n%s\nstderr:\n%s", err, drain.Stdout(), drain.Stderr())
	}
	if drain.Exited() {
		t.Fatalf("drain gave up:\n%s", drain.Stderr())
	}
	if got := k.JSONPath(t, "{.spec.unschedulable}", "node", node); got != "true" {
		t.Errorf("node %s unschedulable %q while draining", node, got)
	}
	// Still all three pods, none terminating: the budget held.
	k.WaitJSONPath(t, waitBound, "{.status.readyReplicas}", "3", "statefulset", "guarded")

	// One disruption at a time: drain finishes, every pod Ready elsewhere.
	k.MustRun(t, "patch", "pdb", "guarded", "--type=merge", "-p", `{"spec":{"minAvailable":2}}`)
	select {
	case <-drain.Done():
	case <-time.After(4 * time.Minute):
		t.Fatalf("drain did not finish once the budget allowed it:\nstdout:\n%s\nstderr:\n%s", drain.Stdout(), drain.Stderr())
	}
	if !strings.Contains(drain.Stdout(), "node/"+node+" drained") {
		t.Errorf("drain output lacks 'node/%s drained':\nstdout:\n%s\nstderr:\n%s", node, drain.Stdout(), drain.Stderr())
	}
	t.Logf("kubectl drain %s:\n%s%s", node, drain.Stdout(), drain.Stderr())
	u.WaitReady(t, "guarded", 3)
	for _, p := range []string{"guarded-0", "guarded-1", "guarded-2"} {
		if got := k.JSONPath(t, "{.spec.nodeName}", "pod", p); got == node {
			t.Errorf("%s still on the drained node %s", p, node)
		}
	}
	k.WaitJSONPath(t, waitBound, "{.status.currentHealthy} {.status.disruptionsAllowed}", "3 1", "pdb", "guarded")
}
