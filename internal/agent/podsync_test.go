package agent

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"petset/internal/agent/probe"
	"petset/internal/agent/runtime"
	rtfake "petset/internal/agent/runtime/fake"
)

// The table below drives computePod, the pure part of a pod's sync: each
// case is a pod, what the runtime reports, probe results, back-offs and
// recorded failures at a time; it checks the actions, the wake-up and the
// status.

var syncNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// ctr is a runtime instance: name, attempt, state ("running", "created",
// "exited:<code>"), finished (or started) that long before syncNow.
func ctr(name string, attempt int, state string, ago time.Duration) runtime.ContainerStatus {
	c := runtime.ContainerStatus{ID: fmt.Sprintf("%s-%d", name, attempt), Name: name, Attempt: attempt, StartedAt: syncNow.Add(-ago - time.Minute)}
	switch {
	case state == "running":
		c.State, c.StartedAt = runtime.StateRunning, syncNow.Add(-ago)
	case state == "created":
		c.State, c.StartedAt = runtime.StateCreated, time.Time{}
	case strings.HasPrefix(state, "exited:"):
		c.State, c.FinishedAt = runtime.StateExited, syncNow.Add(-ago)
		fmt.Sscanf(state, "exited:%d", &c.ExitCode)
		if c.ExitCode == 137 {
			c.Reason = "Error"
		}
	}
	return c
}

func syncPod(policy corev1.RestartPolicy, inits []string, apps ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "uid-p"}}
	p.Spec.RestartPolicy = policy
	for _, n := range inits {
		c := corev1.Container{Name: n, Image: "busybox"}
		if name, ok := strings.CutSuffix(n, "+sidecar"); ok {
			c.Name, c.RestartPolicy = name, ptrTo(corev1.ContainerRestartPolicyAlways)
		}
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
	for _, n := range apps {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: "busybox"})
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}
	return p
}

// withDebug adds ephemeral containers (as kubectl debug does) to p.
func withDebug(p *corev1.Pod, names ...string) *corev1.Pod {
	for _, n := range names {
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: n, Image: "busybox", Stdin: true, TTY: true},
		})
	}
	return p
}

func deleted(p *corev1.Pod) *corev1.Pod {
	p.DeletionTimestamp = &metav1.Time{Time: syncNow.Add(-time.Second)}
	return p
}

func ptrTo[T any](v T) *T { return &v }

// stateOf renders a container status as "waiting:Reason", "running" or
// "terminated:Reason:code".
func stateOf(cs corev1.ContainerStatus) string {
	switch {
	case cs.State.Running != nil:
		return "running"
	case cs.State.Terminated != nil:
		return fmt.Sprintf("terminated:%s:%d", cs.State.Terminated.Reason, cs.State.Terminated.ExitCode)
	case cs.State.Waiting != nil:
		return "waiting:" + cs.State.Waiting.Reason
	}
	return "none"
}

// summary renders a status as "Phase [init states] [app states]".
func summary(st corev1.PodStatus) string {
	var inits, apps []string
	for _, cs := range st.InitContainerStatuses {
		inits = append(inits, stateOf(cs))
	}
	for _, cs := range st.ContainerStatuses {
		apps = append(apps, stateOf(cs))
	}
	return fmt.Sprintf("%s %v %v", st.Phase, inits, apps)
}

func condOf(st corev1.PodStatus, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

func TestComputePod(t *testing.T) {
	type tc struct {
		name        string
		pod         *corev1.Pod
		containers  []runtime.ContainerStatus
		probes      map[string]probe.State
		backoff     map[string]crashBackoff
		failures    func(*failures)
		podIP       string
		terminating bool
		fenced      bool

		actions []string
		wake    time.Duration
		status  string
		check   func(t *testing.T, st corev1.PodStatus, plan podPlan)
	}
	always, onFailure, never := corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever
	notReady := func(reason, msg string) func(*testing.T, corev1.PodStatus, podPlan) {
		return func(t *testing.T, st corev1.PodStatus, _ podPlan) {
			if c := condOf(st, corev1.PodReady); c.Status != corev1.ConditionFalse || c.Reason != reason || c.Message != msg {
				t.Errorf("Ready %+v, want False %s %q", c, reason, msg)
			}
		}
	}
	notStarted := func(t *testing.T, st corev1.PodStatus, p podPlan) {
		if cs := st.ContainerStatuses[0]; cs.Started == nil || *cs.Started || cs.Ready {
			t.Errorf("started %v ready %v before the startup probe passed", cs.Started, cs.Ready)
		}
		notReady("ContainersNotReady", "containers with unready status: [main]")(t, st, p)
	}
	waitingMsg := func(container, want string) func(*testing.T, corev1.PodStatus, podPlan) {
		return func(t *testing.T, st corev1.PodStatus, _ podPlan) {
			for _, cs := range append(st.InitContainerStatuses, st.ContainerStatuses...) {
				if cs.Name == container {
					if cs.State.Waiting == nil || cs.State.Waiting.Message != want {
						t.Errorf("%s waiting %+v, want message %q", container, cs.State.Waiting, want)
					}
					return
				}
			}
			t.Errorf("no status of %s", container)
		}
	}
	for _, c := range []tc{
		// Init containers, in order.
		{
			name: "new pod starts the first init container only", pod: syncPod(always, []string{"first", "second"}, "main"),
			actions: []string{"start first attempt 0"},
			status:  "Pending [waiting:PodInitializing waiting:PodInitializing] [waiting:PodInitializing]",
			check: func(t *testing.T, st corev1.PodStatus, _ podPlan) {
				if c := condOf(st, corev1.PodInitialized); c.Status != corev1.ConditionFalse || c.Reason != "ContainersNotInitialized" || c.Message != "containers with incomplete status: [first second]" {
					t.Errorf("Initialized %+v", c)
				}
				if c := condOf(st, corev1.PodReadyToStartContainers); c.Status != corev1.ConditionFalse {
					t.Errorf("ReadyToStartContainers %+v without a pod IP", c)
				}
			},
		},
		{
			name: "a running init container holds the next", pod: syncPod(always, []string{"first", "second"}, "main"),
			containers: []runtime.ContainerStatus{ctr("first", 0, "running", time.Second)}, podIP: "10.0.0.5",
			actions: []string{"probe first"},
			status:  "Pending [running waiting:PodInitializing] [waiting:PodInitializing]",
			check: func(t *testing.T, st corev1.PodStatus, _ podPlan) {
				if st.InitContainerStatuses[0].Ready {
					t.Error("a running init container is ready")
				}
			},
		},
		{
			name: "a completed init container starts the next", pod: syncPod(always, []string{"first", "second"}, "main"),
			containers: []runtime.ContainerStatus{ctr("first", 0, "exited:0", time.Second)},
			actions:    []string{"start second attempt 0"},
			status:     "Pending [terminated:Completed:0 waiting:PodInitializing] [waiting:PodInitializing]",
		},
		{
			name: "init done starts every app container", pod: syncPod(always, []string{"first"}, "a", "b"),
			containers: []runtime.ContainerStatus{ctr("first", 0, "exited:0", time.Second)},
			actions:    []string{"start a attempt 0", "start b attempt 0"},
			status:     "Pending [terminated:Completed:0] [waiting:PodInitializing waiting:PodInitializing]",
			check: func(t *testing.T, st corev1.PodStatus, _ podPlan) {
				if c := condOf(st, corev1.PodInitialized); c.Status != corev1.ConditionTrue {
					t.Errorf("Initialized %+v", c)
				}
			},
		},
		{
			name: "a running sidecar lets the next init container start", pod: syncPod(always, []string{"proxy+sidecar", "setup"}, "main"),
			containers: []runtime.ContainerStatus{ctr("proxy", 0, "running", time.Second)}, podIP: "10.0.0.5",
			actions: []string{"start setup attempt 0", "probe proxy"},
			status:  "Pending [running waiting:PodInitializing] [waiting:PodInitializing]",
		},
		{
			name: "a failed init container restarts (Always) when out of back-off", pod: syncPod(always, []string{"init"}, "main"),
			containers: []runtime.ContainerStatus{ctr("init", 0, "exited:1", time.Second)},
			actions:    []string{"start init attempt 1 (restart)"},
			status:     "Pending [waiting:CrashLoopBackOff] [waiting:PodInitializing]",
		},
		{
			name: "a failed init container waits out its back-off: Init:CrashLoopBackOff", pod: syncPod(always, []string{"init"}, "main"),
			containers: []runtime.ContainerStatus{ctr("init", 1, "exited:1", 3*time.Second)},
			backoff:    map[string]crashBackoff{"init": {delay: 10 * time.Second, active: true}},
			actions:    []string{"backoff init"}, wake: 7 * time.Second,
			status: "Pending [waiting:CrashLoopBackOff] [waiting:PodInitializing]",
			check:  waitingMsg("init", "back-off 10s restarting failed container=init pod=p_default(uid-p)"),
		},
		{
			name: "a failed init container fails a Never pod", pod: syncPod(never, []string{"init", "later"}, "main"),
			containers: []runtime.ContainerStatus{ctr("init", 0, "exited:2", time.Second)},
			actions:    []string{"stop-pod "},
			status:     "Failed [terminated:Error:2 waiting:PodInitializing] [waiting:PodInitializing]",
			check: func(t *testing.T, st corev1.PodStatus, _ podPlan) {
				if c := condOf(st, corev1.PodInitialized); c.Status != corev1.ConditionFalse {
					t.Errorf("Initialized %+v of a pod whose init container failed", c)
				}
			},
		},

		// App containers and restart policies.
		{
			name: "new pod without init containers: ContainerCreating", pod: syncPod(always, nil, "a", "b"),
			actions: []string{"start a attempt 0", "start b attempt 0"},
			status:  "Pending [] [waiting:ContainerCreating waiting:ContainerCreating]",
			check:   notReady("ContainersNotReady", "containers with unready status: [a b]"),
		},
		{
			name: "running and probed ready", pod: syncPod(always, nil, "main"), podIP: "10.0.0.5",
			containers: []runtime.ContainerStatus{ctr("main", 0, "running", time.Minute)},
			probes:     map[string]probe.State{"main-0": {Started: true, Ready: true}},
			actions:    []string{"probe main"},
			status:     "Running [] [running]",
			check: func(t *testing.T, st corev1.PodStatus, plan podPlan) {
				for _, ct := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady, corev1.PodScheduled} {
					if c := condOf(st, ct); c.Status != corev1.ConditionTrue {
						t.Errorf("%s %+v", ct, c)
					}
				}
				if st.PodIP != "10.0.0.5" || st.HostIP != "192.0.2.10" || st.StartTime == nil || !st.StartTime.Equal(&metav1.Time{Time: syncNow}) {
					t.Errorf("podIP %q hostIP %q startTime %v", st.PodIP, st.HostIP, st.StartTime)
				}
				if tg := plan.actions[0].target; tg.Host != "10.0.0.5" || tg.Container != "main" {
					t.Errorf("probe target %+v", tg)
				}
			},
		},
		{
			name: "readiness probe failing: running, not ready", pod: syncPod(always, nil, "main"), podIP: "10.0.0.5",
			containers: []runtime.ContainerStatus{ctr("main", 0, "running", time.Minute)},
			probes:     map[string]probe.State{"main-0": {Started: true}},
			actions:    []string{"probe main"},
			status:     "Running [] [running]",
			check:      notReady("ContainersNotReady", "containers with unready status: [main]"),
		},
		{
			name: "startup probe not passed yet: not started", pod: syncPod(always, nil, "main"), podIP: "10.0.0.5",
			containers: []runtime.ContainerStatus{ctr("main", 0, "running", time.Minute)},
			probes:     map[string]probe.State{"main-0": {}},
			actions:    []string{"probe main"},
			status:     "Running [] [running]",
			check:      notStarted,
		},
		{
			name: "liveness failure kills the container", pod: syncPod(always, nil, "main"), podIP: "10.0.0.5",
			containers: []runtime.ContainerStatus{ctr("main", 0, "running", time.Minute)},
			probes:     map[string]probe.State{"main-0": {Started: true, Ready: true, Failed: probe.Liveness, Message: "Liveness probe failed: x"}},
			actions:    []string{"kill main (Liveness probe failed)", "probe main"},
			status:     "Running [] [running]",
		},
		{
			name: "liveness failure behind a closed fence restarts nothing", pod: syncPod(always, nil, "main"), podIP: "10.0.0.5", fenced: true,
			containers: []runtime.ContainerStatus{ctr("main", 0, "running", time.Minute)},
			probes:     map[string]probe.State{"main-0": {Started: true, Ready: false, Failed: probe.Liveness, Message: "Liveness probe failed: x"}},
			actions:    []string{"probe main"},
			status:     "Running [] [running]",
		},
		{
			name: "startup failure kills the container", pod: syncPod(always, nil, "main"), podIP: "10.0.0.5",
			containers: []runtime.ContainerStatus{ctr("main", 0, "running", time.Minute)},
			probes:     map[string]probe.State{"main-0": {Failed: probe.Startup}},
			actions:    []string{"kill main (Startup probe failed)", "probe main"},
			status:     "Running [] [running]",
			check:      notStarted,
		},
		{
			name: "Always restarts a container that completed", pod: syncPod(always, nil, "main"),
			containers: []runtime.ContainerStatus{ctr("main", 0, "exited:0", time.Second)},
			actions:    []string{"start main attempt 1 (restart)"},
			status:     "Running [] [waiting:CrashLoopBackOff]",
		},
		{
			name: "CrashLoopBackOff: second failure waits 10s from its exit", pod: syncPod(always, nil, "main"),
			containers: []runtime.ContainerStatus{ctr("main", 1, "exited:1", 4*time.Second), ctr("main", 0, "exited:1", time.Minute)},
			backoff:    map[string]crashBackoff{"main": {delay: 10 * time.Second, active: true}},
			actions:    []string{"backoff main"}, wake: 6 * time.Second,
			status: "Running [] [waiting:CrashLoopBackOff]",
			check: func(t *testing.T, st corev1.PodStatus, plan podPlan) {
				waitingMsg("main", "back-off 10s restarting failed container=main pod=p_default(uid-p)")(t, st, plan)
				cs := st.ContainerStatuses[0]
				if cs.RestartCount != 1 || cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 1 || cs.LastTerminationState.Terminated.Reason != "Error" {
					t.Errorf("restartCount %d lastState %+v", cs.RestartCount, cs.LastTerminationState.Terminated)
				}
			},
		},
		{
			name: "back-off over: restart with the next attempt", pod: syncPod(always, nil, "main"),
			containers: []runtime.ContainerStatus{ctr("main", 1, "exited:1", 20*time.Second)},
			backoff:    map[string]crashBackoff{"main": {delay: 10 * time.Second}},
			actions:    []string{"start main attempt 2 (restart)"},
		},
		{
			name: "the earliest back-off end wakes the pod", pod: syncPod(always, nil, "a", "b"),
			containers: []runtime.ContainerStatus{ctr("a", 3, "exited:1", time.Second), ctr("b", 2, "exited:1", 35*time.Second)},
			backoff:    map[string]crashBackoff{"a": {delay: 80 * time.Second, active: true}, "b": {delay: 40 * time.Second, active: true}},
			actions:    []string{"backoff a", "backoff b"}, wake: 5 * time.Second,
		},
		{
			name: "OnFailure restarts a failed container", pod: syncPod(onFailure, nil, "main"),
			containers: []runtime.ContainerStatus{ctr("main", 0, "exited:3", time.Second)},
			actions:    []string{"start main attempt 1 (restart)"},
			status:     "Running [] [waiting:CrashLoopBackOff]",
		},
		{
			name: "OnFailure: completed means Succeeded", pod: syncPod(onFailure, nil, "main"),
			containers: []runtime.ContainerStatus{ctr("main", 0, "exited:0", time.Second)},
			actions:    []string{"stop-pod "},
			status:     "Succeeded [] [terminated:Completed:0]",
			check:      notReady("PodCompleted", ""),
		},
		{
			name: "Never: a failure fails the pod, with its exit code", pod: syncPod(never, nil, "main"),
			containers: []runtime.ContainerStatus{ctr("main", 0, "exited:42", time.Second)},
			actions:    []string{"stop-pod "},
			status:     "Failed [] [terminated:Error:42]",
			check: func(t *testing.T, st corev1.PodStatus, _ podPlan) {
				if c := condOf(st, corev1.PodReadyToStartContainers); c.Status != corev1.ConditionFalse {
					t.Errorf("ReadyToStartContainers %+v of a terminal pod", c)
				}
			},
		},
		{
			name: "Never: one done, one running is Running", pod: syncPod(never, nil, "a", "b"), podIP: "10.0.0.5",
			containers: []runtime.ContainerStatus{ctr("a", 0, "exited:0", time.Second), ctr("b", 0, "running", time.Minute)},
			actions:    []string{"probe b"},
			status:     "Running [] [terminated:Completed:0 running]",
		},
		{
			name: "a created container is waiting", pod: syncPod(always, nil, "main"),
			containers: []runtime.ContainerStatus{ctr("main", 0, "created", 0)},
			status:     "Pending [] [waiting:ContainerCreating]",
		},
		{
			name: "two instances are kept, older ones removed", pod: syncPod(always, nil, "main"), podIP: "10.0.0.5",
			containers: []runtime.ContainerStatus{ctr("main", 3, "running", time.Second), ctr("main", 2, "exited:1", 2*time.Second), ctr("main", 1, "exited:1", time.Minute), ctr("main", 0, "exited:1", time.Hour)},
			actions:    []string{"remove main", "remove main", "probe main"},
			status:     "Running [] [running]",
			check: func(t *testing.T, st corev1.PodStatus, plan podPlan) {
				if plan.actions[0].id != "main-1" || plan.actions[1].id != "main-0" {
					t.Errorf("removed %s and %s, want main-1 and main-0", plan.actions[0].id, plan.actions[1].id)
				}
				if cs := st.ContainerStatuses[0]; cs.RestartCount != 3 || cs.LastTerminationState.Terminated == nil || cs.ContainerID != "petset://main-3" {
					t.Errorf("status %+v", cs)
				}
			},
		},

		// Recorded failures.
		{
			name: "image pull failed: ErrImagePull, then ImagePullBackOff", pod: syncPod(always, nil, "a", "b"),
			failures: func(f *failures) {
				f.pull["a"] = &pullFailure{msg: "image \"nope\" not found"}
				f.pull["b"] = &pullFailure{msg: "image \"nope\" not found", reported: true}
			},
			actions: []string{"start a attempt 0", "start b attempt 0"},
			status:  "Pending [] [waiting:ErrImagePull waiting:ImagePullBackOff]",
			check:   waitingMsg("b", `Back-off pulling image "busybox": image "nope" not found`),
		},
		{
			name: "config and start errors", pod: syncPod(always, nil, "a", "b"),
			failures: func(f *failures) {
				f.config["a"] = errConfig.Error() + `: configmap "x" not found`
				f.start["b"] = "no command to run"
			},
			actions: []string{"start a attempt 0", "start b attempt 0"},
			status:  "Pending [] [waiting:CreateContainerConfigError waiting:RunContainerError]",
			check:   waitingMsg("a", `configmap "x" not found`),
		},
		{
			name: "sandbox failure: not ready to start containers", pod: syncPod(always, nil, "main"), podIP: "10.0.0.5",
			failures: func(f *failures) { f.sandbox = "no IP left" },
			actions:  []string{"start main attempt 0"},
			check: func(t *testing.T, st corev1.PodStatus, _ podPlan) {
				if c := condOf(st, corev1.PodReadyToStartContainers); c.Status != corev1.ConditionFalse {
					t.Errorf("ReadyToStartContainers %+v after a sandbox failure", c)
				}
			},
		},
		{
			name: "host network: probes go to 127.0.0.1", pod: func() *corev1.Pod {
				p := syncPod(always, nil, "main")
				p.Spec.HostNetwork = true
				return p
			}(),
			podIP:      "192.0.2.10",
			containers: []runtime.ContainerStatus{ctr("main", 0, "running", time.Minute)},
			actions:    []string{"probe main"},
			check: func(t *testing.T, _ corev1.PodStatus, plan podPlan) {
				if h := plan.actions[0].target.Host; h != "127.0.0.1" {
					t.Errorf("probe host %q", h)
				}
			},
		},
		{
			name: "readiness gate not set: not ready", pod: func() *corev1.Pod {
				p := syncPod(always, nil, "main")
				p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
				return p
			}(),
			podIP: "10.0.0.5", containers: []runtime.ContainerStatus{ctr("main", 0, "running", time.Minute)},
			actions: []string{"probe main"},
			status:  "Running [] [running]",
			check:   notReady("ReadinessGatesNotReady", `corresponding condition of pod readiness gate "example.com/lb" does not exist.`),
		},

		// Termination: the last status.
		{
			name: "terminated gracefully: Succeeded", pod: deleted(syncPod(always, nil, "main")), terminating: true,
			containers: []runtime.ContainerStatus{ctr("main", 0, "exited:0", 0)},
			status:     "Succeeded [] [terminated:Completed:0]",
		},
		{
			name: "killed after the grace period: Failed, exit 137", pod: deleted(syncPod(always, nil, "main")), terminating: true,
			containers: []runtime.ContainerStatus{ctr("main", 0, "exited:137", 0)},
			status:     "Failed [] [terminated:Error:137]",
		},
		{
			name: "being deleted: nothing is started or restarted", pod: deleted(syncPod(always, []string{"init"}, "main")),
			containers: []runtime.ContainerStatus{ctr("init", 0, "exited:0", time.Minute), ctr("main", 0, "exited:1", time.Second)},
			status:     "Running [terminated:Completed:0] [terminated:Error:1]",
		},
		// Ephemeral containers (kubectl debug).
		{
			name: "an ephemeral container starts even while init containers run", pod: withDebug(syncPod(always, []string{"init"}, "main"), "dbg"),
			containers: []runtime.ContainerStatus{ctr("init", 0, "running", time.Second)}, podIP: "10.0.0.5",
			actions: []string{"start dbg attempt 0", "probe init"},
			status:  "Pending [running] [waiting:PodInitializing]",
			check: func(t *testing.T, st corev1.PodStatus, _ podPlan) {
				if n := len(st.EphemeralContainerStatuses); n != 1 || stateOf(st.EphemeralContainerStatuses[0]) != "waiting:PodInitializing" {
					t.Errorf("ephemeral statuses %+v", st.EphemeralContainerStatuses)
				}
			},
		},
		{
			name: "a running ephemeral container counts in neither phase nor readiness", pod: withDebug(syncPod(always, nil, "main"), "dbg"),
			containers: []runtime.ContainerStatus{ctr("main", 0, "running", time.Minute), ctr("dbg", 0, "running", time.Second)}, podIP: "10.0.0.5",
			actions: []string{"probe dbg", "probe main"},
			status:  "Running [] [running]",
			check: func(t *testing.T, st corev1.PodStatus, _ podPlan) {
				if c := condOf(st, corev1.PodReady); c.Status != corev1.ConditionTrue {
					t.Errorf("Ready %+v with a running ephemeral container", c)
				}
				if cs := st.EphemeralContainerStatuses[0]; stateOf(cs) != "running" || cs.Ready {
					t.Errorf("ephemeral status %+v", cs)
				}
			},
		},
		{
			name: "an exited ephemeral container is never restarted", pod: withDebug(syncPod(always, nil, "main"), "dbg"),
			containers: []runtime.ContainerStatus{ctr("main", 0, "running", time.Minute), ctr("dbg", 0, "exited:1", time.Second)}, podIP: "10.0.0.5",
			actions: []string{"probe main"},
			status:  "Running [] [running]",
			check: func(t *testing.T, st corev1.PodStatus, _ podPlan) {
				if cs := st.EphemeralContainerStatuses[0]; stateOf(cs) != "terminated:Error:1" {
					t.Errorf("ephemeral status %s, want terminated:Error:1", stateOf(cs))
				}
			},
		},
		{
			name: "no ephemeral container starts in a finished pod", pod: withDebug(syncPod(never, nil, "main"), "dbg"),
			containers: []runtime.ContainerStatus{ctr("main", 0, "exited:0", time.Second)}, podIP: "10.0.0.5",
			actions: []string{"stop-pod "},
			status:  "Succeeded [] [terminated:Completed:0]",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := &podState{
				pod: c.pod, now: syncNow, nodeIP: "192.0.2.10", podIP: c.podIP,
				containers: instances(c.containers), probes: c.probes, backoff: c.backoff,
				failures: newFailures(), terminating: c.terminating, fenced: c.fenced,
			}
			if c.failures != nil {
				c.failures(in.failures)
			}
			plan := computePod(in)
			var got []string
			for _, a := range plan.actions {
				got = append(got, a.String())
			}
			if strings.Join(got, "; ") != strings.Join(c.actions, "; ") {
				t.Errorf("actions\n got %q\nwant %q", got, c.actions)
			}
			if plan.wake != c.wake {
				t.Errorf("wake %v, want %v", plan.wake, c.wake)
			}
			if s := summary(plan.status); c.status != "" && s != c.status {
				t.Errorf("status %s, want %s", s, c.status)
			}
			if c.check != nil {
				c.check(t, plan.status, plan)
			}
			// Pure: the same state gives the same plan.
			if again := computePod(in); fmt.Sprint(again.actions) != fmt.Sprint(plan.actions) || summary(again.status) != summary(plan.status) {
				t.Error("a second computation of the same state differs")
			}
		})
	}
}

// TestRestartBackoff: the agent's crash-loop back-off (flowcontrol.Backoff
// as New configures it) is kubelet's: 10s doubling to 5m, and a container
// that ran 10 minutes since its last restart restarts at once, its
// back-off starting over at 10s.
func TestRestartBackoff(t *testing.T) {
	clk := clocktesting.NewFakeClock(syncNow)
	rt, err := rtfake.New(rtfake.Config{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{NodeName: "n", Client: k8sfake.NewSimpleClientset(), Runtime: rt, VolumeDir: t.TempDir(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	b, key := a.restartBackoff, restartKey("uid", "c")
	var got []time.Duration
	for range 8 {
		if b.IsInBackOffSince(key, clk.Now()) && len(got) > 0 {
			clk.Step(got[len(got)-1])
		}
		b.Next(key, clk.Now())
		got = append(got, b.Get(key))
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("back-off sequence %v, want %v", got, want)
	}
	// Exited just now: within the back-off.
	if !b.IsInBackOffSince(key, clk.Now()) {
		t.Error("not in back-off right after an exit")
	}
	// Ran 10 minutes (and a bit) since its last restart: no back-off, and
	// the next restart starts the sequence over.
	clk.Step(10*time.Minute + time.Second)
	if b.IsInBackOffSince(key, clk.Now()) {
		t.Error("still in back-off after a 10-minute run")
	}
	b.Next(key, clk.Now())
	if d := b.Get(key); d != 10*time.Second {
		t.Errorf("back-off after a long run %v, want 10s", d)
	}
}
