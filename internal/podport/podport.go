package podport

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ForService resolves a Service port's targetPort on pod as upstream's
// FindPort does: a number is used as is; a name is looked up among the
// ports of the app containers, then of the sidecars (init containers with
// restartPolicy Always), in order, and must match the Service port's
// protocol. An unset targetPort is the Service port, as defaulting makes
// it; an unset protocol is TCP on both sides, as defaulting makes it.
func ForService(pod *corev1.Pod, sp *corev1.ServicePort) (int32, error) {
	tp := sp.TargetPort
	switch {
	case tp.Type == intstr.Int && tp.IntVal == 0, tp.Type == intstr.String && tp.StrVal == "":
		return sp.Port, nil
	case tp.Type == intstr.Int:
		return tp.IntVal, nil
	}
	if port, ok := Named(pod, tp.StrVal, sp.Protocol); ok {
		return port, nil
	}
	return 0, fmt.Errorf("no %s container port named %q on pod %s", protocol(sp.Protocol), tp.StrVal, pod.Name)
}

// Named is the port of pod's container port called name with protocol
// proto (unset: TCP): the app containers' ports first, then the sidecars'
// (init containers with restartPolicy Always), each in order.
func Named(pod *corev1.Pod, name string, proto corev1.Protocol) (int32, bool) {
	match := func(c *corev1.Container) (int32, bool) {
		for _, p := range c.Ports {
			if p.Name == name && protocol(p.Protocol) == protocol(proto) {
				return p.ContainerPort, true
			}
		}
		return 0, false
	}
	for i := range pod.Spec.Containers {
		if port, ok := match(&pod.Spec.Containers[i]); ok {
			return port, true
		}
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			continue
		}
		if port, ok := match(c); ok {
			return port, true
		}
	}
	return 0, false
}

// ForContainer resolves a probe's or a lifecycle hook's port among one
// container's ports as kubelet does: a number is used as is; a name is
// looked up among the ports, and failing that read as a number ("8080");
// the result must be in 1..65535.
func ForContainer(ref intstr.IntOrString, ports []corev1.ContainerPort) (int, error) {
	port := ref.IntValue()
	if ref.Type == intstr.String {
		found := false
		for _, p := range ports {
			if p.Name == ref.StrVal {
				port, found = int(p.ContainerPort), true
				break
			}
		}
		if !found {
			n, err := strconv.Atoi(ref.StrVal)
			if err != nil {
				return 0, fmt.Errorf("port %q not found among the container's ports", ref.StrVal)
			}
			port = n
		}
	}
	if port <= 0 || port > 65535 {
		return 0, fmt.Errorf("invalid port number %d", port)
	}
	return port, nil
}

// protocol is p, or TCP when unset.
func protocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}
