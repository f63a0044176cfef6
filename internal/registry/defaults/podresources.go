package defaults

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// isOvercommitAllowed: requests may be below limits only for native
// resources other than huge pages.
func isOvercommitAllowed(name corev1.ResourceName) bool {
	s := string(name)
	native := !strings.Contains(s, "/") || strings.Contains(s, corev1.ResourceDefaultNamespacePrefix)
	return native && !strings.HasPrefix(s, corev1.ResourceHugePagesPrefix)
}

// podLevelResources applies the PodLevelResources defaults, in kube's
// order: huge-page limits, then requests, then limits, each only when the
// pod already sets some pod-level resources.
func podLevelResources(p *corev1.Pod) {
	hugePagePodLimits(p)
	podRequests(p)
	podLimits(p)
}

// hugePagePodLimits defaults pod-level huge-page limits to the aggregate of
// the containers' limits when pod-level resources are partly set.
func hugePagePodLimits(p *corev1.Pod) {
	r := p.Spec.Resources
	if r == nil || (len(r.Limits) == 0 && len(r.Requests) == 0) {
		return
	}
	lims := r.Limits
	if lims == nil {
		lims = make(corev1.ResourceList)
	}
	for name, q := range resourcehelper.AggregateContainerLimits(p, resourcehelper.PodResourcesOptions{}) {
		if !resourcehelper.IsSupportedPodLevelResource(name) || !strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) {
			continue
		}
		if _, ok := r.Requests[name]; ok {
			continue
		}
		if _, ok := lims[name]; !ok {
			lims[name] = q.DeepCopy()
		}
	}
	if len(lims) > 0 {
		r.Limits = lims
	}
}

// podRequests defaults pod-level requests, when pod-level limits are set, to
// the containers' effective requests or else to the pod-level limits.
func podRequests(p *corev1.Pod) {
	r := p.Spec.Resources
	if r == nil || len(r.Limits) == 0 {
		return
	}
	reqs := r.Requests
	if reqs == nil {
		reqs = make(corev1.ResourceList)
	}
	for name, q := range resourcehelper.AggregateContainerRequests(p, resourcehelper.PodResourcesOptions{}) {
		if _, ok := reqs[name]; !ok && resourcehelper.IsSupportedPodLevelResource(name) && isOvercommitAllowed(name) {
			reqs[name] = q.DeepCopy()
		}
	}
	for name, q := range r.Limits {
		if _, ok := reqs[name]; !ok && resourcehelper.IsSupportedPodLevelResource(name) {
			reqs[name] = q.DeepCopy()
		}
	}
	if len(reqs) > 0 {
		r.Requests = reqs
	}
}

// podLimits defaults pod-level limits, when only pod-level requests are set,
// to the aggregate of the containers' limits for resources every container
// limits.
func podLimits(p *corev1.Pod) {
	if resourcehelper.IsPodLevelLimitsSet(p) || !resourcehelper.IsPodLevelRequestsSet(p) {
		return
	}
	lims := p.Spec.Resources.Limits
	if lims == nil {
		lims = make(corev1.ResourceList)
	}
	for name, q := range resourcehelper.AggregateContainerLimits(p, resourcehelper.PodResourcesOptions{}) {
		if _, ok := lims[name]; ok || !resourcehelper.IsSupportedPodLevelResource(name) || !isOvercommitAllowed(name) {
			continue
		}
		if !allContainersLimit(p, name) {
			continue
		}
		lims[name] = q.DeepCopy()
	}
	if len(lims) > 0 {
		p.Spec.Resources.Limits = lims
	}
}

func allContainersLimit(p *corev1.Pod, name corev1.ResourceName) bool {
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range cs {
			if _, ok := c.Resources.Limits[name]; !ok {
				return false
			}
		}
	}
	return true
}
