package agent

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/tools/reference"

	"petset/internal/agent/probe"
	"petset/internal/logging"
)

// Event reasons the agent records: kubelet's (pkg/kubelet/events), so
// `kubectl describe pod` and `kubectl get events` read as on Kubernetes.
const (
	reasonFailedMount = "FailedMount"
	reasonPulling     = "Pulling"
	reasonPulled      = "Pulled"
	reasonFailed      = "Failed" // failed pull, failed create or start
	reasonBackOff     = "BackOff"
	reasonCreated     = "Created"
	reasonStarted     = "Started"
	reasonKilling     = "Killing"
	reasonUnhealthy   = "Unhealthy"
)

// Waiting reasons of container status (kubelet's images and kuberuntime
// packages) that also appear in "Error: <reason>" events.
const (
	errImagePull     = "ErrImagePull"
	imagePullBackOff = "ImagePullBackOff"
)

// newEventBroadcaster returns the broadcaster and the recorder the agent
// records its events with: events of source kubelet on this node, written
// through client-go's correlator, which aggregates repeats into one event
// with a count (as kubelet's recorder does) and rate-limits each object's
// events.
func newEventBroadcaster(nodeName string) (record.EventBroadcaster, record.EventRecorder) {
	b := record.NewBroadcaster()
	return b, b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: nodeName})
}

// podEvent records an event about the pod.
func (a *Agent) podEvent(pod *corev1.Pod, eventType, reason, msg string) {
	if !a.records(eventType) {
		return
	}
	a.recorder.Event(pod, eventType, reason, msg)
}

// records reports whether events of eventType about pods are recorded
// (Config.WarningEventsOnly).
func (a *Agent) records(eventType string) bool {
	return !a.cfg.WarningEventsOnly || eventType == corev1.EventTypeWarning
}

// containerEvent records an event about one of the pod's containers: the
// involved object is the pod with kubelet's fieldPath
// spec.containers{name} or spec.initContainers{name}.
func (a *Agent) containerEvent(pod *corev1.Pod, c *corev1.Container, eventType, reason, msg string) {
	if !a.records(eventType) {
		return
	}
	ref, err := reference.GetPartialReference(scheme.Scheme, pod, containerFieldPath(pod, c.Name))
	if err != nil {
		a.log.Debug("no reference for container event", "pod", pod.Namespace+"/"+pod.Name, "container", c.Name, logging.ErrKey, err)
		return
	}
	a.recorder.Event(ref, eventType, reason, msg)
}

// containerFieldPath locates a container within its pod as kubelet's
// GenerateContainerRef does.
func containerFieldPath(pod *corev1.Pod, name string) string {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return fmt.Sprintf("spec.containers{%s}", name)
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return fmt.Sprintf("spec.initContainers{%s}", name)
		}
	}
	return "implicitly required container " + name
}

// formatPod is kubelet's format.Pod: name_namespace(uid).
func formatPod(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

// probeFailed records kubelet's Unhealthy event for a failed probe run
// ("Readiness probe failed: <output>"); repeats aggregate into a count.
func (a *Agent) probeFailed(f probe.Failure) {
	pod := a.podByUID(types.UID(f.PodUID))
	if pod == nil {
		return
	}
	c := containerSpec(pod, f.Container)
	if c == nil {
		return
	}
	a.containerEvent(pod, c, corev1.EventTypeWarning, reasonUnhealthy, fmt.Sprintf("%s probe failed: %s", f.Kind, f.Output))
}
