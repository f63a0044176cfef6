package e2e

import (
	"bufio"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

// dbSet is a set whose pods have two init containers, requesting 1 CPU each.
const dbSet = `apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      initContainers:
      - {name: init-perms, image: busybox, command: [chown, -R, "999", /data]}
      - {name: init-schema, image: postgres:16, command: [psql, -f, /schema.sql]}
      containers:
      - name: postgres
        image: postgres:16
        ports: [{containerPort: 5432}]
        resources: {requests: {cpu: "1", memory: 1Gi}}
`

// statusSequence returns, for one pod, the STATUS column of each line of a
// `kubectl get pods -w --no-headers` watch, in order.
func statusSequence(watch, pod string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(watch))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[0] == pod {
			out = append(out, f[2])
		}
	}
	return out
}

// inOrder reports whether seq holds want's statuses as a subsequence.
func inOrder(seq, want []string) bool {
	i := 0
	for _, s := range seq {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestSimulatedRehearsal: simulated nodes rehearse what a chart needs —
// init containers run to completion (get pods shows Init:0/2, Init:1/2,
// PodInitializing, Running, as kube), a failing init container shows
// Init:Error / Init:CrashLoopBackOff, node capacity is what
// --simulate-node-capacity says and the scheduler honours it, and exec, cp,
// attach and port-forward are refused with a message naming the simulated
// node.
func TestSimulatedRehearsal(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t, "--simulate-nodes", "3", "--simulate-node-capacity", "cpu=4,memory=8Gi")
	k := u.K

	t.Run("init containers run to completion", func(t *testing.T) {
		w := k.Start(t, "get", "pods", "-l", "app=db", "-w", "--no-headers")
		k.MustRun(t, "apply", "-f", u.WriteFile(t, "db.yaml", dbSet))
		u.WaitReady(t, "db", 2)
		want := []string{"Init:0/2", "Init:1/2", "PodInitializing", "Running"}
		var out string
		err := harness.WaitFor(time.Minute, func() (bool, error) {
			out = w.Stdout()
			return inOrder(statusSequence(out, "db-1"), want), nil
		})
		if err != nil {
			t.Fatalf("the watch never showed db-1 going %v:\n%s", want, out)
		}
		w.Stop(t)
		seq := statusSequence(out, "db-0")
		if !inOrder(seq, want) {
			t.Errorf("db-0 went %v, want %v in order:\n%s", seq, want, out)
		}
		t.Logf("db-0 went %v", seq)
		for _, c := range []string{"init-perms", "init-schema"} {
			expr := fmt.Sprintf(`{.status.initContainerStatuses[?(@.name=="%s")].state.terminated.reason} {.status.initContainerStatuses[?(@.name=="%s")].state.terminated.exitCode}`, c, c)
			if got := k.JSONPath(t, expr, "pod", "db-0"); got != "Completed 0" {
				t.Errorf("init container %s of db-0: %q, want Completed 0", c, got)
			}
		}
		r := k.MustRun(t, "logs", "db-0", "-c", "init-schema")
		if !strings.Contains(r.Stdout, "simulated container init-schema exited with code 0") {
			t.Errorf("logs of a completed init container: %s", r)
		}
	})

	t.Run("failing init containers", func(t *testing.T) {
		pod := `apiVersion: v1
kind: Pod
metadata:
  name: %s
  annotations: {petset.io/simulate: fail}
spec:
  restartPolicy: %s
  initContainers: [{name: init, image: busybox, command: [migrate]}]
  containers: [{name: app, image: busybox}]
`
		k.MustRun(t, "apply", "-f", u.WriteFile(t, "fail-never.yaml", fmt.Sprintf(pod, "fail-never", "Never")))
		k.MustRun(t, "apply", "-f", u.WriteFile(t, "fail-always.yaml", fmt.Sprintf(pod, "fail-always", "Always")))
		status := func(name string) string {
			r := k.Run("get", "pod", name, "--no-headers")
			if f := strings.Fields(r.Stdout); r.Err == nil && len(f) >= 3 {
				return f[2]
			}
			return ""
		}
		for name, want := range map[string]string{"fail-never": "Init:Error", "fail-always": "Init:CrashLoopBackOff"} {
			var last string
			if err := harness.WaitFor(time.Minute, func() (bool, error) { last = status(name); return last == want, nil }); err != nil {
				t.Errorf("%s: STATUS %q, want %s", name, last, want)
			}
		}
		k.WaitJSONPath(t, waitBound, "{.status.phase}", "Failed", "pod", "fail-never")
		k.MustRun(t, "delete", "pod", "fail-never", "fail-always", "--wait=false")
	})

	t.Run("capacity from the flag, honoured by the scheduler", func(t *testing.T) {
		r := k.MustRun(t, "describe", "node", "sim-0")
		for _, section := range []string{"Capacity", "Allocatable"} {
			re := regexp.MustCompile(`(?m)^` + section + `:\n\s+cpu:\s+4\n\s+ephemeral-storage:\s+100Gi\n\s+memory:\s+8Gi\n\s+pods:\s+110\n`)
			if !re.MatchString(r.Stdout) {
				t.Errorf("describe node sim-0 lacks %s cpu 4, ephemeral-storage 100Gi (default), memory 8Gi, pods 110 (and nothing else):\n%s", section, r.Stdout)
			}
		}
		k.MustRun(t, "apply", "-f", u.WriteFile(t, "big.yaml", `apiVersion: v1
kind: Pod
metadata: {name: big}
spec:
  containers:
  - {name: app, image: busybox, resources: {requests: {cpu: "5"}}}
`))
		var msg string
		err := harness.WaitFor(time.Minute, func() (bool, error) {
			msg = k.Run("get", "pod", "big", "-o", `jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}`).Stdout
			return msg != "", nil
		})
		if err != nil || !strings.HasPrefix(msg, "0/3 nodes are available: 3 Insufficient cpu.") {
			t.Errorf("a pod requesting more CPU than any node has: PodScheduled message %q, want 0/3 nodes are available: 3 Insufficient cpu.", msg)
		}
		if got := k.JSONPath(t, "{.status.phase} {.spec.nodeName}", "pod", "big"); got != "Pending " {
			t.Errorf("phase and node of the too large pod: %q, want Pending and none", got)
		}
		k.MustRun(t, "delete", "pod", "big", "--wait=false")
	})

	t.Run("exec, cp, attach and port-forward refused clearly", func(t *testing.T) {
		node := k.JSONPath(t, "{.spec.nodeName}", "pod", "db-0")
		prefix := fmt.Sprintf("pod db-0 runs on simulated node %s: ", node)
		for what, args := range map[string][]string{
			"exec":         {"exec", "db-0", "-c", "postgres", "--", "psql", "-c", "select 1"},
			"cp":           {"cp", "db-0:/var/lib/postgresql/data/PG_VERSION", u.Dir + "/PG_VERSION", "-c", "postgres"},
			"attach":       {"attach", "db-0", "-c", "postgres"},
			"port-forward": {"port-forward", "pod/db-0", ":5432"},
		} {
			verb := what
			if what == "cp" {
				verb = "exec" // kubectl cp runs tar through exec
			}
			r := k.MustFail(t, []string{prefix + verb + " is not available (simulated nodes run no processes)"}, args...)
			t.Logf("kubectl %s: %s", what, strings.TrimSpace(r.Stderr))
		}
	})
}
