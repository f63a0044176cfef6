package agent

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"petset/internal/agent/probe"
	"petset/internal/agent/runtime"
)

// A live pod's sync is computed, then applied. observe (worker.go) gathers
// a podState; computePod, a pure function (no goroutines, no clock, no
// client: the time is an input), turns it into a podPlan — the actions that
// bring the runtime in line with the pod and the status the pod has in that
// state; the executor (syncContainers) performs the actions, observes again
// after it changed the runtime and posts the status of the result.

// podState is everything computePod decides from.
type podState struct {
	pod *corev1.Pod
	now time.Time
	// nodeIP is the node's InternalIP (the pod's hostIP); podIP the
	// sandbox's address ("" before the sandbox exists).
	nodeIP, podIP string
	// containers are the runtime's instances by container name, newest
	// attempt first.
	containers map[string][]runtime.ContainerStatus
	// probes are the probe results by container ID; a running container
	// without an entry is not probed yet.
	probes map[string]probe.State
	// backoff is each container's crash-loop back-off, by name.
	backoff map[string]crashBackoff
	// failures are what earlier actions recorded.
	failures *failures
	// terminating: the pod's containers were stopped for its deletion; the
	// status is its last one.
	terminating bool
	// fenced: the node's fence is closed (fencing.go), so probes over the
	// pod network fail because of it; liveness and startup failures then
	// restart nothing.
	fenced bool
}

// crashBackoff is one container's restart back-off as the executor's
// flowcontrol.Backoff holds it.
type crashBackoff struct {
	// delay is the current back-off (0: the container never restarted, or
	// the back-off was forgotten after a long run).
	delay time.Duration
	// active: the latest instance's exit is within the back-off; the
	// container must wait until its finishedAt plus delay.
	active bool
}

// failures are the outcomes of earlier actions the status shows as waiting
// reasons. The worker owns them; computePod only reads them.
type failures struct {
	sandbox string                  // RunSandbox failed
	mount   string                  // volume set-up failed
	pull    map[string]*pullFailure // container → ErrImagePull/ImagePullBackOff
	config  map[string]string       // container → CreateContainerConfigError message
	start   map[string]string       // container → RunContainerError message
}

func newFailures() *failures {
	return &failures{pull: map[string]*pullFailure{}, config: map[string]string{}, start: map[string]string{}}
}

type pullFailure struct {
	msg      string
	at       time.Time // when the pull failed (the back-off counts from it)
	reported bool      // ErrImagePull was shown once; further syncs show ImagePullBackOff
}

// actionKind is what one action does.
type actionKind int

const (
	// actKill stops a running container whose liveness or startup probe
	// failed (Killing event); it is then restarted as any exited one.
	actKill actionKind = iota
	// actStart starts a container instance.
	actStart
	// actBackOff records that a container waits out its crash-loop
	// back-off (BackOff event).
	actBackOff
	// actRemove forgets an old exited instance: a container keeps its
	// current and its previous one (for `logs --previous`).
	actRemove
	// actProbe (re)starts the probes of a running container; containers
	// without one stop being probed.
	actProbe
	// actStopPod stops what still runs of a pod that reached Succeeded or
	// Failed and releases its sandbox.
	actStopPod
)

func (k actionKind) String() string {
	return [...]string{"kill", "start", "backoff", "remove", "probe", "stop-pod"}[k]
}

// podAction is one step of a plan.
type podAction struct {
	kind      actionKind
	container *corev1.Container // the container's spec (nil: none, for remove)
	name      string            // the container's name
	id        string            // the runtime instance: kill, remove, probe
	// start: the attempt (restart count) of the new instance; restart: it
	// replaces an exited one, finished at finishedAt, which advances the
	// back-off.
	attempt    int
	restart    bool
	finishedAt time.Time
	// kill: the probe that failed ("Liveness", "Startup") and why.
	probe   probe.Kind
	message string
	// probe: when the instance started, its probes and where they go.
	startedAt time.Time
	probes    probe.Probes
	target    probe.Target
}

func (a podAction) String() string {
	s := a.kind.String() + " " + a.name
	switch a.kind {
	case actStart:
		s += fmt.Sprintf(" attempt %d", a.attempt)
		if a.restart {
			s += " (restart)"
		}
	case actKill:
		s += " (" + string(a.probe) + " probe failed)"
	}
	return s
}

// podPlan is computePod's answer.
type podPlan struct {
	actions []podAction
	status  corev1.PodStatus
	// wake is when the pod wants another sync (0: on events only): the
	// end of the earliest crash-loop back-off.
	wake time.Duration
}

// has reports whether the plan contains an action of kind k.
func (p podPlan) has(k actionKind) bool {
	for _, a := range p.actions {
		if a.kind == k {
			return true
		}
	}
	return false
}

// computePod decides what a live pod needs, as kubelet's
// computePodActions and generateAPIPodStatus: kill containers whose
// liveness or startup probe failed; start init containers one at a time
// in order (restartable sidecars stay running while the next ones start),
// then every app container; restart exited ones as the restart policy
// says once their crash-loop back-off has passed; keep two instances per
// container; probe the running ones; stop the pod once it is terminal. A
// pod being deleted gets its status only.
func computePod(in *podState) podPlan {
	pod := in.pod
	plan := podPlan{status: podStatus(in)}
	soon := func(d time.Duration) {
		if d > 0 && (plan.wake == 0 || d < plan.wake) {
			plan.wake = d
		}
	}
	add := func(a podAction) { plan.actions = append(plan.actions, a) }
	if pod.DeletionTimestamp != nil || in.terminating {
		// Being deleted: terminate (worker.go) stops the containers; only
		// the status is computed here.
		return plan
	}

	// Liveness and startup failures restart the container.
	for _, name := range sortedNames(in.containers) {
		c := in.containers[name][0]
		if c.State != runtime.StateRunning {
			continue
		}
		if st, ok := in.probes[c.ID]; ok && st.Failed != "" && !in.fenced {
			add(podAction{kind: actKill, container: containerSpec(pod, c.Name), name: c.Name, id: c.ID, probe: st.Failed, message: st.Message})
		}
	}

	// A container that exited and is to run again: now, or after its
	// back-off.
	restart := func(c *corev1.Container, last runtime.ContainerStatus) {
		b := in.backoff[c.Name]
		if b.active {
			soon(last.FinishedAt.Add(b.delay).Sub(in.now))
			add(podAction{kind: actBackOff, container: c, name: c.Name})
			return
		}
		add(podAction{kind: actStart, container: c, name: c.Name, attempt: last.Attempt + 1, restart: true, finishedAt: last.FinishedAt})
	}

	// Init containers, in order.
	initDone := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		sidecar := isSidecar(c)
		l := in.containers[c.Name]
		if len(l) == 0 {
			add(podAction{kind: actStart, container: c, name: c.Name})
			initDone = false
			break
		}
		last := l[0]
		if last.State == runtime.StateRunning && sidecar {
			continue
		}
		if last.State != runtime.StateExited {
			initDone = false
			break
		}
		if last.ExitCode == 0 && !sidecar {
			continue
		}
		initDone = false
		if !sidecar && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			break // the pod fails
		}
		restart(c, last)
		break
	}

	// App containers, once the init containers are done.
	if initDone {
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			l := in.containers[c.Name]
			if len(l) == 0 {
				add(podAction{kind: actStart, container: c, name: c.Name})
				continue
			}
			last := l[0]
			if last.State != runtime.StateExited || !shouldRestart(pod.Spec.RestartPolicy, last.ExitCode) {
				continue
			}
			restart(c, last)
		}
	}

	// Ephemeral containers (kubectl debug) start once the sandbox runs,
	// whether or not the init containers are done, and never restart.
	terminal := plan.status.Phase == corev1.PodSucceeded || plan.status.Phase == corev1.PodFailed
	for i := range pod.Spec.EphemeralContainers {
		c := ephemeralContainer(&pod.Spec.EphemeralContainers[i])
		if len(in.containers[c.Name]) == 0 && !terminal {
			add(podAction{kind: actStart, container: c, name: c.Name})
		}
	}

	// Two instances per container (current and previous); probes for the
	// running ones.
	for _, name := range sortedNames(in.containers) {
		l := in.containers[name]
		for i, c := range l {
			if i >= 2 && c.State == runtime.StateExited {
				add(podAction{kind: actRemove, container: containerSpec(pod, name), name: name, id: c.ID})
			}
		}
		c := l[0]
		spec := containerSpec(pod, name)
		if c.State != runtime.StateRunning || spec == nil {
			continue
		}
		host := in.podIP
		if pod.Spec.HostNetwork {
			host = "127.0.0.1"
		}
		add(podAction{
			kind: actProbe, container: spec, name: name, id: c.ID, startedAt: c.StartedAt,
			probes: probe.Probes{Startup: spec.StartupProbe, Liveness: spec.LivenessProbe, Readiness: spec.ReadinessProbe},
			target: probe.Target{Host: host, Ports: spec.Ports, Container: name},
		})
	}

	if ph := plan.status.Phase; ph == corev1.PodSucceeded || ph == corev1.PodFailed {
		add(podAction{kind: actStopPod})
	}
	return plan
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func sortedNames(m map[string][]runtime.ContainerStatus) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
