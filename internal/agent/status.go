package agent

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubectl/pkg/util/qos"

	"petset/internal/agent/runtime"
)

// mt converts a time to the precision the API keeps (seconds).
func mt(t time.Time) metav1.Time {
	return metav1.NewTime(t.Truncate(time.Second))
}

// updateStatus observes the pod, computes its status and posts it when it
// changed. It returns the computed phase.
func (a *Agent) updateStatus(ctx context.Context, w *podWorker, pod *corev1.Pod, podIP string, terminating bool) (corev1.PodPhase, error) {
	in, err := a.observe(ctx, w, pod, podIP, terminating)
	if err != nil {
		return pod.Status.Phase, err
	}
	st := podStatus(in)
	return st.Phase, a.postPodStatus(ctx, w, pod, st)
}

// postPodStatus writes st through pods/status unless the pod has it already.
func (a *Agent) postPodStatus(ctx context.Context, w *podWorker, pod *corev1.Pod, st corev1.PodStatus) error {
	if apiequality.Semantic.DeepEqual(pod.Status, st) {
		return nil
	}
	// The same status was written already and the pod seen is the one it
	// was written over or its result: the informer lags, or the server
	// normalised a field. Writing again would loop.
	if w.sent != nil && apiequality.Semantic.DeepEqual(*w.sent, st) && (pod.ResourceVersion == w.sentOver || pod.ResourceVersion == w.sentAs) {
		return nil
	}
	// A node told to stop heartbeating is cut off: like a node whose link
	// is down, it reports nothing about its pods either.
	if a.heartbeatStopped() {
		return nil
	}
	p := pod.DeepCopy()
	p.Status = st
	out, err := a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("updating status: %w", err)
	}
	w.sent, w.sentOver, w.sentAs = &st, pod.ResourceVersion, out.ResourceVersion
	return nil
}

func terminatedState(c runtime.ContainerStatus) *corev1.ContainerStateTerminated {
	reason := c.Reason
	if reason == "" {
		reason = "Completed"
		if c.ExitCode != 0 {
			reason = "Error"
		}
	}
	return &corev1.ContainerStateTerminated{
		ExitCode:    int32(c.ExitCode),
		Reason:      reason,
		Message:     c.Message,
		StartedAt:   mt(c.StartedAt),
		FinishedAt:  mt(c.FinishedAt),
		ContainerID: "petset://" + c.ID,
	}
}

// waitingError is the Waiting state a recorded start failure calls for.
func waitingError(f *failures, c *corev1.Container) *corev1.ContainerStateWaiting {
	if pf := f.pull[c.Name]; pf != nil {
		if !pf.reported {
			return &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: pf.msg}
		}
		return &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: fmt.Sprintf("Back-off pulling image %q: %s", c.Image, pf.msg)}
	}
	if msg, ok := f.config[c.Name]; ok {
		return &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: strings.TrimPrefix(msg, errConfig.Error()+": ")}
	}
	if msg, ok := f.start[c.Name]; ok {
		return &corev1.ContainerStateWaiting{Reason: "RunContainerError", Message: msg}
	}
	return nil
}

// containerStatus renders one container's status. restart tells whether an
// exited instance with that exit code will be restarted.
func containerStatus(in *podState, c *corev1.Container, waitingReason string, restart func(int) bool, initContainer bool) corev1.ContainerStatus {
	pod, l := in.pod, in.containers[c.Name]
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: new(bool)}
	if len(l) == 0 {
		cs.State.Waiting = waitingError(in.failures, c)
		if cs.State.Waiting == nil {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: waitingReason}
		}
		return cs
	}
	last := l[0]
	cs.RestartCount = int32(last.Attempt)
	cs.ContainerID = "petset://" + last.ID
	cs.ImageID = c.Image
	if len(l) > 1 && l[1].State == runtime.StateExited {
		cs.LastTerminationState.Terminated = terminatedState(l[1])
	}
	switch last.State {
	case runtime.StateRunning:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: mt(last.StartedAt)}
		started, ready := true, c.ReadinessProbe == nil
		if ps, ok := in.probes[last.ID]; ok {
			started, ready = ps.Started, ps.Ready
		}
		*cs.Started = started
		cs.Ready = ready && started
		if initContainer && !(c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways) {
			cs.Ready = false
		}
	case runtime.StateExited:
		term := terminatedState(last)
		if restart(last.ExitCode) && pod.DeletionTimestamp == nil {
			cs.LastTerminationState.Terminated = term
			cs.State.Waiting = waitingError(in.failures, c)
			if cs.State.Waiting == nil {
				cs.State.Waiting = &corev1.ContainerStateWaiting{
					Reason:  "CrashLoopBackOff",
					Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", in.backoff[c.Name].delay, c.Name, pod.Name, pod.Namespace, pod.UID),
				}
			}
		} else {
			cs.State.Terminated = term
			cs.Ready = initContainer && last.ExitCode == 0
		}
	default:
		cs.State.Waiting = waitingError(in.failures, c)
		if cs.State.Waiting == nil {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: waitingReason}
		}
	}
	return cs
}

// podStatus computes the pod's status in state in as kubelet's
// generateAPIPodStatus: phase, conditions, container statuses with their
// waiting reasons.
func podStatus(in *podState) corev1.PodStatus {
	pod, podIP, byName, terminating := in.pod, in.podIP, in.containers, in.terminating
	old := pod.Status
	now := mt(in.now)
	st := corev1.PodStatus{
		Phase:                 old.Phase,
		HostIP:                in.nodeIP,
		PodIP:                 podIP,
		StartTime:             old.StartTime,
		QOSClass:              qos.GetPodQOS(pod),
		NominatedNodeName:     old.NominatedNodeName,
		Resize:                old.Resize,
		ResourceClaimStatuses: old.ResourceClaimStatuses,
		ObservedGeneration:    old.ObservedGeneration,
		Message:               old.Message,
		Reason:                old.Reason,
	}
	if st.StartTime == nil {
		st.StartTime = &now
	}
	if in.nodeIP != "" {
		st.HostIPs = []corev1.HostIP{{IP: in.nodeIP}}
	}
	if podIP != "" {
		st.PodIPs = []corev1.PodIP{{IP: podIP}}
	}

	policy := pod.Spec.RestartPolicy
	if policy == "" {
		policy = corev1.RestartPolicyAlways
	}
	// Init containers.
	initDone, initFailed := true, false
	var incomplete []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		l := byName[c.Name]
		restart := func(code int) bool { return sidecar || (policy != corev1.RestartPolicyNever && code != 0) }
		// As kubelet: every container of a pod with init containers waits
		// as PodInitializing until it runs (kubectl shows Init:N/M, then
		// PodInitializing once the init containers are done).
		cs := containerStatus(in, c, "PodInitializing", restart, true)
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
		switch {
		case len(l) == 0:
			initDone = false
		case sidecar && l[0].State == runtime.StateRunning && *cs.Started:
		case l[0].State == runtime.StateExited && l[0].ExitCode == 0 && !sidecar:
		default:
			initDone = false
			if l[0].State == runtime.StateExited && !sidecar && policy == corev1.RestartPolicyNever {
				initFailed = true
			}
		}
		if len(l) == 0 || !(l[0].State == runtime.StateExited && l[0].ExitCode == 0) || sidecar {
			if !(sidecar && len(l) > 0 && l[0].State == runtime.StateRunning) {
				incomplete = append(incomplete, c.Name)
			}
		}
	}

	// App containers.
	waiting, running, stopped, succeeded := 0, 0, 0, 0
	var unready []string
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		reason := "ContainerCreating"
		if len(pod.Spec.InitContainers) > 0 {
			reason = "PodInitializing"
		}
		restart := func(code int) bool { return shouldRestart(policy, code) }
		cs := containerStatus(in, c, reason, restart, false)
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.LastTerminationState.Terminated != nil:
			stopped++
		default:
			waiting++
		}
		if !cs.Ready {
			unready = append(unready, c.Name)
		}
	}

	// Ephemeral containers run once, count in neither phase nor
	// readiness.
	for i := range pod.Spec.EphemeralContainers {
		c := ephemeralContainer(&pod.Spec.EphemeralContainers[i])
		reason := "ContainerCreating"
		if len(pod.Spec.InitContainers) > 0 {
			reason = "PodInitializing"
		}
		cs := containerStatus(in, c, reason, func(int) bool { return false }, false)
		cs.Ready = false
		st.EphemeralContainerStatuses = append(st.EphemeralContainerStatuses, cs)
	}

	switch {
	case terminating:
		st.Phase = corev1.PodFailed
		if stopped == succeeded && running == 0 && waiting == 0 {
			st.Phase = corev1.PodSucceeded
		}
	case initFailed:
		st.Phase = corev1.PodFailed
	case !initDone:
		st.Phase = corev1.PodPending
	case waiting > 0:
		st.Phase = corev1.PodPending
	case running > 0:
		st.Phase = corev1.PodRunning
	case stopped > 0:
		switch {
		case policy == corev1.RestartPolicyAlways:
			st.Phase = corev1.PodRunning
		case stopped == succeeded:
			st.Phase = corev1.PodSucceeded
		case policy == corev1.RestartPolicyNever:
			st.Phase = corev1.PodFailed
		default:
			st.Phase = corev1.PodRunning
		}
	default:
		st.Phase = corev1.PodPending
	}

	// Conditions.
	var conds []corev1.PodCondition
	set := func(t corev1.PodConditionType, ok bool, reason, msg string) {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: msg, LastTransitionTime: now}
		if ok {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, "", ""
		}
		for _, o := range old.Conditions {
			if o.Type == t && o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
				c.LastProbeTime = o.LastProbeTime
			}
		}
		conds = append(conds, c)
	}
	terminal := st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed
	set(corev1.PodReadyToStartContainers, (podIP != "" || pod.Spec.HostNetwork) && in.failures.sandbox == "" && !terminal && !terminating, "", "")
	initReason, initMsg := "", ""
	if !initDone {
		initReason, initMsg = "ContainersNotInitialized", fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(incomplete, " "))
	}
	set(corev1.PodInitialized, initDone || (terminal && !initFailed), initReason, initMsg)
	readyReason, readyMsg := "ContainersNotReady", fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	if st.Phase == corev1.PodSucceeded {
		readyReason, readyMsg = "PodCompleted", ""
	}
	containersReady := len(unready) == 0 && !terminal
	set(corev1.ContainersReady, containersReady, readyReason, readyMsg)
	ready := containersReady
	if ready {
		var missing []string
		for _, g := range pod.Spec.ReadinessGates {
			found := false
			for _, o := range old.Conditions {
				if o.Type == g.ConditionType && o.Status == corev1.ConditionTrue {
					found = true
				}
			}
			if !found {
				missing = append(missing, string(g.ConditionType))
			}
		}
		if len(missing) > 0 {
			ready, readyReason, readyMsg = false, "ReadinessGatesNotReady", fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", strings.Join(missing, ", "))
		}
	}
	set(corev1.PodReady, ready, readyReason, readyMsg)
	owned := map[corev1.PodConditionType]bool{}
	for _, c := range conds {
		owned[c.Type] = true
	}
	hasScheduled := false
	for _, o := range old.Conditions {
		if o.Type == corev1.PodScheduled {
			hasScheduled = true
		}
		if !owned[o.Type] {
			conds = append(conds, o)
		}
	}
	if !hasScheduled {
		conds = append(conds, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	order := map[corev1.PodConditionType]int{
		corev1.PodReadyToStartContainers: 0, corev1.PodInitialized: 1, corev1.PodReady: 2, corev1.ContainersReady: 3, corev1.PodScheduled: 4,
	}
	sort.SliceStable(conds, func(i, j int) bool {
		oi, iok := order[conds[i].Type]
		oj, jok := order[conds[j].Type]
		if !iok {
			oi = 10
		}
		if !jok {
			oj = 10
		}
		return oi < oj
	})
	st.Conditions = conds
	return st
}
