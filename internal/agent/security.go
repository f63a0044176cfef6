package agent

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"petset/internal/agent/runtime"
)

// containerSecurity merges the pod's and the container's securityContext
// as kubelet does (the container's fields win; runAsUser and runAsGroup
// default to the image's user, which for petset's images is root; fsGroup
// joins the supplementary groups) and refuses what kubelet refuses before
// creating the container: runAsNonRoot with a root user. The error is a
// CreateContainerConfigError.
func containerSecurity(pod *corev1.Pod, c *corev1.Container) (runtime.Security, error) {
	var out runtime.Security
	var runAsUser, runAsGroup *int64
	var runAsNonRoot *bool
	if psc := pod.Spec.SecurityContext; psc != nil {
		runAsUser, runAsGroup, runAsNonRoot = psc.RunAsUser, psc.RunAsGroup, psc.RunAsNonRoot
		out.SupplementalGroups = append(out.SupplementalGroups, psc.SupplementalGroups...)
		if psc.FSGroup != nil {
			out.SupplementalGroups = append(out.SupplementalGroups, *psc.FSGroup)
		}
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			runAsUser = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			runAsGroup = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			runAsNonRoot = sc.RunAsNonRoot
		}
		out.Privileged = sc.Privileged != nil && *sc.Privileged
		out.AllowPrivilegeEscalation = sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation
		out.ReadOnlyRootFilesystem = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
		if caps := sc.Capabilities; caps != nil {
			for _, a := range caps.Add {
				out.CapAdd = append(out.CapAdd, string(a))
			}
			for _, d := range caps.Drop {
				out.CapDrop = append(out.CapDrop, string(d))
			}
		}
	}
	if runAsNonRoot != nil && *runAsNonRoot {
		podName := fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
		if runAsUser != nil && *runAsUser == 0 {
			return out, fmt.Errorf("container's runAsUser breaks non-root policy (pod: %q, container: %s)", podName, c.Name)
		}
		if runAsUser == nil {
			// petset's images have no USER: they run as root.
			return out, fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", podName, c.Name)
		}
	}
	if runAsUser != nil {
		out.RunAsUser = *runAsUser
	}
	if runAsGroup != nil {
		out.RunAsGroup = *runAsGroup
	}
	return out, nil
}
