package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"petset/test/harness"
)

// autoFailoverConfig: resources of its own (bridge psmv0, 10.211/10.212/
// 10.213, port 16693). Grace 16s with an 8s lease (renewed every 2s) and a
// 6s fence: a lost node's opted-in pods are deleted 16s + 6s + 2s (margin)
// after its last renewal, within a monitor period.
var autoFailoverConfig = harness.MultiNodeConfig{
	Prefix: "psmv", Subnet: "10.211.0", PodCIDRBase: "10.212",
	ServiceCIDR: "10.213.0.0/16", Port: 16693,
	ServerArgs: []string{"--node-monitor-grace-period", "16s", "--node-monitor-period", "1s"},
	AgentArgs:  []string{"--fence-timeout", "6s", "--node-lease-duration", "8s"},
}

// TestAutomaticFailover is issue 10's automatic failover, tried as a user
// would: the kubia set (one pod per node, three nodes) is annotated
// petset.io/failover=auto. Then
//
//  1. kubia-0's node loses its link. With no human step, a new kubia-0
//     runs on the third node, the old one was deleted with a NodeFenced
//     event, and the old process was killed by its own agent (self-fencing)
//     before the new one started. The link comes back; the old one never
//     runs again.
//  2. The agent of the node now running kubia-0 is paused (SIGSTOP). The
//     control plane fails kubia-0 over again; the paused node's copy stops
//     answering when its fence runs out in the kernel (its agent asleep),
//     and when the agent wakes (SIGCONT) it kills that copy without it
//     answering again.
//
// A sampler records kubia-0's processes per node and UID and which kubia-0
// addresses answer; no sample may show two copies answering, and in step 1
// no sample may show two copies running at all.
func TestAutomaticFailover(t *testing.T) {
	t.Parallel() // its own bridge, namespaces, addresses and ports
	kubectl := harness.LookTool(t, "kubectl")
	m := harness.StartMultiNodeConfig(t, 3, autoFailoverConfig)
	k := m.Kubectl(t, harness.Kubectl{Name: "kubectl", Path: kubectl})
	for _, h := range m.Nodes {
		k.WaitJSONPath(t, 2*time.Minute, `{.metadata.annotations.petset\.io/fence-timeout}`, "6s", "node", h.Name)
	}
	sampler := startKubia0Sampler(t, m)

	k.MustRun(t, "apply", "-f", example(t, "kubia/kubia-service-headless.yaml"),
		"-f", m.WriteFile(t, "kubia-anti-affinity.yaml", multiNodeSet))
	k.MustRun(t, "annotate", "statefulset", "kubia", "petset.io/failover=auto")
	k.WaitJSONPath(t, 2*time.Minute, "{.status.readyReplicas}", "2", "statefulset", "kubia")
	k.WaitJSONPath(t, time.Minute, `{.metadata.annotations.petset\.io/failover}`, "auto", "pod", "kubia-0")

	type instance struct{ uid, ip, node string }
	current := func() instance {
		f := strings.Fields(k.MustRun(t, "get", "pod", "kubia-0", "-o", "jsonpath={.metadata.uid} {.status.podIP} {.spec.nodeName}").Stdout)
		if len(f) != 3 {
			t.Fatalf("kubia-0: %v", f)
		}
		return instance{f[0], f[1], f[2]}
	}
	// waitReplaced waits for a Ready kubia-0 other than old and returns it.
	waitReplaced := func(old instance) instance {
		t.Helper()
		var got instance
		if err := harness.WaitFor(2*time.Minute, func() (bool, error) {
			r := k.Run("get", "pod", "kubia-0", "-o", "jsonpath={.metadata.uid} {.status.podIP} {.spec.nodeName} {.status.conditions[?(@.type==\"Ready\")].status}")
			f := strings.Fields(r.Stdout)
			if r.Err != nil || len(f) != 4 || f[0] == old.uid || f[3] != "True" {
				return false, nil
			}
			got = instance{f[0], f[1], f[2]}
			return true, nil
		}); err != nil {
			t.Fatalf("kubia-0 (uid %s on %s) was not replaced without a human step: %v\n%s", old.uid, old.node,
				err, k.Run("get", "pods", "-o", "wide").Stdout)
		}
		sampler.addIP(got.ip)
		return got
	}
	first := current()
	sampler.addIP(first.ip)
	lost := m.Node(t, first.node)
	if err := harness.WaitFor(time.Minute, func() (bool, error) { return len(lost.PodUIDPIDs(first.uid)) > 0, nil }); err != nil {
		t.Fatalf("no process of kubia-0 (uid %s) on %s", first.uid, lost.Name)
	}

	// 1. The link goes down; nobody acts.
	cut := time.Now()
	lost.LinkDown(t)
	second := waitReplaced(first)
	t.Logf("kubia-0 replaced on %s %.1fs after the link went down (grace 16s + fence 6s + margin 2s + start)", second.node, time.Since(cut).Seconds())
	if second.node == lost.Name {
		t.Fatalf("the replacement runs on the lost node %s", lost.Name)
	}
	if ev := k.MustRun(t, "get", "events", "--field-selector", "reason=NodeFenced", "-o", "jsonpath={.items[*].message}").Stdout; !strings.Contains(ev, lost.Name) {
		t.Errorf("no NodeFenced event naming %s: %q", lost.Name, ev)
	}
	m.LinkUp(t, lost)
	k.WaitJSONPath(t, 2*time.Minute, `{.status.conditions[?(@.type=="Ready")].status}`, "True", "node", lost.Name)
	if pids := lost.PodUIDPIDs(first.uid); len(pids) > 0 {
		t.Errorf("the old kubia-0 runs on %s after its link came back: pids %v", lost.Name, pids)
	}
	for _, sm := range sampler.since(cut) {
		if len(sm.pids) > 1 {
			t.Errorf("two kubia-0 copies running at once during the automatic failover: %v", sm)
			break
		}
	}

	// 2. The agent of kubia-0's node is paused.
	paused := m.Node(t, second.node)
	if err := harness.WaitFor(time.Minute, func() (bool, error) { return len(paused.PodUIDPIDs(second.uid)) > 0, nil }); err != nil {
		t.Fatalf("no process of kubia-0 (uid %s) on %s", second.uid, paused.Name)
	}
	agent := paused.Agent.Cmd.Process
	if err := agent.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			if err := agent.Signal(syscall.SIGCONT); err != nil {
				t.Errorf("SIGCONT to the agent: %v", err)
			}
		}
	}
	t.Cleanup(resume) // before the harness stops it
	third := waitReplaced(second)
	if third.node == paused.Name {
		t.Fatalf("the replacement runs on the paused node %s", paused.Name)
	}
	if pids := paused.PodUIDPIDs(second.uid); len(pids) == 0 {
		t.Logf("note: the paused node's kubia-0 had no process left before its agent woke")
	}
	woke := time.Now()
	resume()
	if err := harness.WaitFor(time.Minute, func() (bool, error) { return len(paused.PodUIDPIDs(second.uid)) == 0, nil }); err != nil {
		t.Fatalf("the woken agent of %s did not kill its replaced kubia-0 (uid %s)", paused.Name, second.uid)
	}
	t.Logf("the woken agent killed its replaced kubia-0 %.1fs after SIGCONT", time.Since(woke).Seconds())

	history := sampler.finish()
	for _, sm := range history {
		if len(sm.answered) > 1 {
			t.Errorf("two kubia-0 copies answered at once: %v", sm)
		}
	}
	// While its agent slept, the paused copy ran on (nothing could stop
	// it) but did not answer: its fence ran out in the kernel. Only a
	// sample that had finished before SIGCONT counts: the woken agent
	// kills the copy at once, possibly while a sample begun just before
	// is still scanning the processes.
	var lastAsleep *kubia0Sample
	for i := range history {
		if history[i].end.Before(woke) {
			lastAsleep = &history[i]
		}
	}
	if lastAsleep == nil || len(lastAsleep.pids[kubia0Instance{paused.Name, second.uid}]) == 0 {
		t.Errorf("the last sample before SIGCONT does not show the paused node's kubia-0 running: %v", lastAsleep)
	} else {
		t.Logf("last sample before SIGCONT: %v", *lastAsleep)
		for _, ip := range lastAsleep.answered {
			if ip == second.ip {
				t.Errorf("the paused node's kubia-0 answered while its agent slept: %v", *lastAsleep)
			}
		}
	}
	for _, sm := range history {
		if sm.at.After(woke) && len(sm.pids[kubia0Instance{paused.Name, second.uid}]) > 0 {
			for _, ip := range sm.answered {
				if ip == second.ip {
					t.Errorf("the paused node's kubia-0 answered after its agent woke: %v", sm)
				}
			}
		}
	}
	t.Logf("%d samples; kubia-0 %s → %s → %s", len(history), first.node, second.node, third.node)
}
